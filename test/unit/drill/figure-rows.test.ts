import { describe, expect, it } from 'vitest';
import { figureRows } from '#drill/figure-rows.ts';

describe('drill figure rows', () => {
  it('shows nested figures as rows of their own under their parent, never as JSON', () => {
    const rows = figureRows({
      failback: { ok: true, salvaged: 0, lost: 0, duplicates: 11 },
      duplicatesByEpoch: { '1': 1, '2': 10 },
    });

    expect(rows).toEqual([
      { label: 'failback › ok', value: 'yes' },
      { label: 'failback › salvaged', value: '0' },
      { label: 'failback › lost', value: '0' },
      { label: 'failback › duplicates', value: '11' },
      { label: 'duplicates by epoch › 1', value: '1' },
      { label: 'duplicates by epoch › 2', value: '10' },
    ]);
    expect(rows.map((r) => r.value).join(' ')).not.toMatch(/[{}"]/);
  });

  it('names figures in words with their unit, and shows what is missing as a dash or none', () => {
    const rows = figureRows({
      detectionWindowSeconds: 20,
      rtoSeconds: 32.5,
      missingAfterFailover: 0,
      switchSeconds: null,
      failback: null,
      duplicatesByEpoch: {},
      alarmsFired: [],
      epochs: [1, 3],
      tornAtRest: false,
    });

    expect(rows).toEqual([
      { label: 'detection window (s)', value: '20' },
      { label: 'RTO (s)', value: '32.5' },
      { label: 'missing after failover', value: '0' },
      { label: 'switch (s)', value: '-' },
      { label: 'failback', value: '-' },
      { label: 'duplicates by epoch', value: 'none' },
      { label: 'alarms fired', value: 'none' },
      { label: 'epochs', value: '1, 3' },
      { label: 'torn at rest', value: 'no' },
    ]);
  });

  it('writes an object inside a list as words too', () => {
    expect(figureRows({ faults: [{ injectedSeconds: 3 }] })).toEqual([
      { label: 'faults', value: 'injected (s) 3' },
    ]);
  });
});
