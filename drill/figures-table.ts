import path from 'node:path';
import { type FigureRow, figureRows } from './figure-rows.ts';
import { type DrillSummary, reportFigures } from './summary.ts';

/**
 * The table the console prints at the end of a run, under its `drill <scenario>: OK|FAILED` line: every figure
 * as a row (nested ones as rows of their own) in two columns, then each check and target with its verdict as the
 * run said them, then where the report and the logs are.
 */
export function figuresTable(summary: DrillSummary): string[] {
  const {
    ok: _ok,
    scenario: _scenario,
    targets: _targets,
    reportFile: _report,
    logFile: _log,
    ...figures
  } = reportFigures(summary);
  const rows: FigureRow[] = [
    ...figureRows(figures),
    { label: 'report', value: relative(summary.reportFile) },
    { label: 'functions log', value: relative(summary.logFile) },
    { label: 'client log', value: relative(path.join(path.dirname(summary.logFile), 'client.log')) },
  ];
  const width = Math.max(...rows.map((r) => r.label.length));
  return [
    ...rows.map((r) => `${r.label.padEnd(width)}  ${r.value}`),
    ...summary.checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`),
    ...summary.targets.map((t) => `${t.met ? 'met ' : 'MISS'} ${t.name}: ${t.detail}`),
  ];
}

const relative = (file: string): string => path.relative(process.cwd(), file) || file;
