import { describe, expect, it } from 'vitest';
import { ValidationError } from '#shared/errors.ts';
import { progressOf } from '#shared/failback/catch-up.ts';
import { chunksOf } from '#shared/failback/kafkajs-cluster.ts';
import { parseFailbackRequest } from '#shared/failback/payload.ts';
import { judgePhaseRequest, phasesFor } from '#shared/failback/phases.ts';

const base = { action: 'failback', requestedBy: 'alice', reason: 'primary repaired' };

function problems(input: unknown): string[] {
  try {
    parseFailbackRequest(input);
  } catch (e: unknown) {
    if (e instanceof ValidationError) return e.problems.map((p) => `${p.path}: ${p.message}`);
    throw e;
  }
  return [];
}

describe('parseFailbackRequest', () => {
  it('accepts a minimal request and defaults confirm and abandon to false', () => {
    // Act
    const r = parseFailbackRequest(base);

    // Assert
    expect(r).toEqual({ ...base, confirm: false, abandon: false });
  });

  it.each([
    [null, ['', "expected an object { action: 'failback'"]],
    [[], ['', 'got an array']],
    [{ ...base, action: 'failover' }, ['action', 'expected \'failback\', got "failover"']],
    [{ ...base, phase: 'cleanup' }, ['phase', "expected one of 'plan', 'prepare'"]],
    [{ ...base, confirm: 'true' }, ['confirm', 'expected boolean']],
    [{ ...base, reason: 'x' }, ['reason', 'at least 3 characters']],
    [{ ...base, requestedBy: 'a\u0007' }, ['requestedBy', 'no control characters']],
    [{ ...base, force: true }, ['', 'Unrecognized key']],
    [{ ...base, mirrorConfirmed: 'everything' }, ['mirrorConfirmed', "expected one of 'stop-forward'"]],
    [{ ...base, phase: 'plan', confirm: true }, ['confirm', "'plan' is a dry run"]],
    [{ ...base, phase: 'purge', acceptLoss: ['orders:0'] }, ['acceptLoss', 'only goes with confirm: true']],
    [
      { ...base, phase: 'purge', confirm: true, acceptLoss: ['orders'] },
      ['acceptLoss[0]', "'topic:partition'"],
    ],
  ])('refuses %j, naming the path and what was expected', (input, [path, message]) => {
    // Act
    const found = problems(input);

    // Assert
    expect(found.some((p) => p.startsWith(`${path}: `) && p.includes(message as string))).toBe(true);
  });

  it('lists every problem at once', () => {
    // Act
    const found = problems({ action: 'x', phase: 'y', confirm: 1, reason: '', requestedBy: 7 });

    // Assert
    expect(found.map((p) => p.split(':')[0]).sort()).toEqual([
      'action',
      'confirm',
      'phase',
      'reason',
      'requestedBy',
    ]);
  });
});

describe('phases', () => {
  const ap = phasesFor({ mode: 'active-passive', replicationPolicy: 'identity' });

  it('orders active-passive and active-active phases', () => {
    expect(ap).toEqual(['prepare', 'salvage', 'reverse', 'purge', 'catch-up', 'switch', 'restore']);
    expect(phasesFor({ mode: 'active-active', replicationPolicy: 'default' })).toEqual([
      'prepare',
      'catch-up',
      'switch',
    ]);
  });

  it('runs the phase that is due, reports one already done, refuses one ahead naming what must finish first', () => {
    expect(judgePhaseRequest(ap, ['prepare'], 'salvage', 'active-passive')).toEqual({
      kind: 'run',
      phase: 'salvage',
    });
    expect(judgePhaseRequest(ap, ['prepare'], 'prepare', 'active-passive')).toEqual({
      kind: 'already-done',
      phase: 'prepare',
    });
    expect(judgePhaseRequest(ap, ['prepare'], 'switch', 'active-passive')).toEqual({
      kind: 'refused',
      reasons: [
        {
          code: 'phase-out-of-order',
          message:
            "phase 'switch' is out of order: 'salvage' is due next, and 'salvage', 'reverse', 'purge', 'catch-up' must finish first",
        },
      ],
    });
  });

  it('copies back instead of salvaging and purging for active-passive under the default policy', () => {
    expect(phasesFor({ mode: 'active-passive', replicationPolicy: 'default' })).toEqual([
      'prepare',
      'reverse',
      'catch-up',
      'switch',
      'restore',
    ]);
  });
});

describe('catch-up progress', () => {
  it('reports remaining, percent and an ETA from the rate since catch-up began', () => {
    // Act
    const p = progressOf(
      { at: '2026-01-01T00:00:00Z', remaining: 1000 },
      { at: '2026-01-01T00:00:10Z', remaining: 600 },
      { 'secondary->primary': 600 },
      100,
    );

    // Assert
    expect(p).toEqual({
      remaining: 600,
      directions: { 'secondary->primary': 600 },
      thresholdRecords: 100,
      percent: 44.4,
      etaSeconds: 13,
    });
  });

  it('has no ETA while nothing moves, and 100 % once within the threshold', () => {
    expect(
      progressOf(
        { at: '2026-01-01T00:00:00Z', remaining: 5 },
        { at: '2026-01-01T00:00:00Z', remaining: 5 },
        {},
        0,
      ).etaSeconds,
    ).toBeNull();
    expect(
      progressOf(
        { at: '2026-01-01T00:00:00Z', remaining: 5 },
        { at: '2026-01-01T00:00:09Z', remaining: 0 },
        {},
        0,
      ),
    ).toMatchObject({ percent: 100, etaSeconds: 0 });
  });
});

describe('chunksOf (salvage writes)', () => {
  it('splits records into requests below the byte limit, keeping their order, never leaving one empty', () => {
    // Arrange
    const record = (n: number) => ({
      key: Buffer.from(`k${n}`),
      value: Buffer.alloc(300, n),
      headers: { h: Buffer.from('x') },
      timestamp: '1',
    });
    const records = Array.from({ length: 10 }, (_, i) => record(i));

    // Act
    const chunks = chunksOf(records, 1_000);

    // Assert
    expect(chunks.map((c) => c.length)).toEqual([2, 2, 2, 2, 2]);
    expect(chunks.flat()).toEqual(records);
    expect(chunksOf([record(0)], 10)).toEqual([[record(0)]]);
  });
});
