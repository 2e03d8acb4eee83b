// `npm run bench:model`: the switch protocol's model-based test (test/unit/switch/model) at 10,000 schedules.
//
// The model lives with the unit tests (it drives the real failover, repair, refresh, probe and client code over the
// unit fakes, which product code may not import), so this runs that test file through vitest with MODEL_RUNS and
// reads back what it measured: schedules, schedules per second (the property's own time, without vitest's start),
// violations (0 or 1: fast-check stops at the first and shrinks it), how many schedules reached failback's two
// stages, and the shrunk counterexample with its seed.
// Written to bench/results/model.json.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const SCHEDULES = Number(process.env.BENCH_MODEL_SCHEDULES ?? 10_000);
const root = path.join(import.meta.dirname, '..');
const resultFile = path.join(import.meta.dirname, 'results', 'model.json');

interface Report {
  schedules: number;
  elapsedMs: number;
  schedulesPerSecond: number;
  violations: number;
  /** Schedules in which failback's held-back first stage, and its second stage, were claimed. */
  failbackStages: { holdback: number; final: number };
  counterexample?: { seed: number; path?: string; counterexample: unknown; error: string };
}

function main(): void {
  const dir = mkdtempSync(path.join(tmpdir(), 'model-bench-'));
  const reportFile = path.join(dir, 'report.json');
  try {
    const run = spawnSync(
      process.execPath,
      [
        path.join(root, 'node_modules', 'vitest', 'vitest.mjs'),
        'run',
        '--project',
        'unit',
        'test/unit/switch/model/model.test.ts',
      ],
      {
        cwd: root,
        env: { ...process.env, MODEL_RUNS: String(SCHEDULES), MODEL_REPORT: reportFile },
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    let report: Report;
    try {
      report = JSON.parse(readFileSync(reportFile, 'utf8')) as Report;
    } catch (e: unknown) {
      console.error(run.stdout, run.stderr);
      throw new Error(`the model test wrote no report (exit ${run.status})`, { cause: e });
    }
    const result = {
      schedules: report.schedules,
      schedulesPerSecond: report.schedulesPerSecond,
      violations: report.violations,
      elapsedMs: report.elapsedMs,
      failbackStages: report.failbackStages,
      ...(report.counterexample ? { counterexample: report.counterexample } : {}),
    };
    console.table([
      {
        schedules: result.schedules,
        'schedules/s': result.schedulesPerSecond,
        'elapsed s': (result.elapsedMs / 1000).toFixed(1),
        violations: result.violations,
        'failback stage 1': result.failbackStages.holdback,
        'failback stage 2': result.failbackStages.final,
      },
    ]);
    if (report.counterexample) {
      console.log(
        `counterexample (seed ${report.counterexample.seed}, path ${report.counterexample.path}):\n` +
          `${JSON.stringify(report.counterexample.counterexample)}\n${report.counterexample.error}`,
      );
    }
    writeFileSync(resultFile, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`written to ${path.relative(root, resultFile)}`);
    if (result.violations > 0) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
