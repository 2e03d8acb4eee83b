import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { figuresTable } from '#drill/figures-table.ts';
import { initialSummary } from '#drill/summary.ts';

describe('drill figures table', () => {
  it('prints the failback as rows, each verdict, and where the report and both logs are', () => {
    const outDir = path.join(process.cwd(), '.out', 'drill', 'run-kill');
    const summary = {
      ...initialSummary(
        { scenario: 'kill', mode: 'active-passive', policy: 'identity', mirrorTiming: 'best' },
        {
          checks: [{ name: 'no acknowledged record lost', ok: true, detail: '0 lost of 2153' }],
          targets: [],
        },
        { reportFile: path.join(outDir, 'report.html'), logFile: path.join(outDir, 'functions.log') },
      ),
      failback: { ok: true, salvaged: 0, lost: 0, duplicates: 11 },
    };

    const table = figuresTable(summary);

    const row = (label: string) => table.find((line) => line.startsWith(`${label} `));
    expect(row('failback › lost')).toMatch(/^failback › lost +0$/);
    expect(row('mirror timing')).toMatch(/^mirror timing +best$/);
    expect(table).toContain('ok   no acknowledged record lost: 0 lost of 2153');
    expect(row('client log')).toMatch(/^client log +\.out\/drill\/run-kill\/client\.log$/);
    // One column for the values: every value starts where the longest label ends, plus two spaces.
    const figures = table.filter((line) => !/^(ok {2}|FAIL|met |MISS) /.test(line));
    const valueColumns = new Set(figures.map((line) => /^.*?\S {2,}(?=\S)/.exec(line)?.[0].length));
    expect(valueColumns.size).toBe(1);
    expect(table.join('\n')).not.toMatch(/[{}"]/);
  });
});
