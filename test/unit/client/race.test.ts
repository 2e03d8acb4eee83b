import { describe, expect, it } from 'vitest';
import { race } from '#shared/client/race.ts';
import { systemClock } from '#shared/clock.ts';

const never = () => new Promise<never>(() => {});

describe('race', () => {
  it('returns the value when the promise settles first', async () => {
    await expect(race(Promise.resolve(3), { clock: systemClock, timeoutMs: 1_000 })).resolves.toEqual({
      kind: 'value',
      value: 3,
    });
  });

  it('returns the error instead of throwing it', async () => {
    const error = new Error('x');
    await expect(race(Promise.reject(error), { clock: systemClock })).resolves.toEqual({
      kind: 'error',
      error,
    });
  });

  it('says timeout when the promise outlives the deadline', async () => {
    await expect(race(never(), { clock: systemClock, timeoutMs: 5 })).resolves.toEqual({ kind: 'timeout' });
  });

  it('says aborted when the signal fires first, with or without a deadline', async () => {
    const a = new AbortController();
    const b = new AbortController();
    const withDeadline = race(never(), { clock: systemClock, timeoutMs: 60_000, signal: a.signal });
    const without = race(never(), { clock: systemClock, signal: b.signal });
    a.abort();
    b.abort();

    await expect(withDeadline).resolves.toEqual({ kind: 'aborted' });
    await expect(without).resolves.toEqual({ kind: 'aborted' });
    await expect(race(never(), { clock: systemClock, signal: a.signal })).resolves.toEqual({
      kind: 'aborted',
    });
  });
});
