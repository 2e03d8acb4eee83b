import { setTimeout as delay } from 'node:timers/promises';

/**
 * Time as the product sees it: the functions, the probe, the stores and the client library. Passed in, so tests
 * drive leases, deadlines, retries and jitter without waiting. Code takes the part it uses (`Pick<Clock, 'now'>`,
 * `Pick<Clock, 'now' | 'sleep'>`), so a fake need only provide that.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`, or early (never rejecting) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** A number in [0, 1), for jitter. */
  random(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: async (ms, signal) => {
    if (signal?.aborted) return;
    try {
      await delay(Math.max(0, ms), undefined, signal ? { signal } : undefined);
    } catch (e: unknown) {
      if ((e as { name?: string }).name !== 'AbortError') throw e;
    }
  },
  random: () => Math.random(),
};
