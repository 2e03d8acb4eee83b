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
  // The global timer, not node:timers/promises: the Lambda bundles reach built-ins only through the shims
  // infra/bundling.ts lists, and the functions now share this clock.
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) {
        resolve();
        return;
      }
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      signal?.addEventListener('abort', done, { once: true });
    }),
  random: () => Math.random(),
};
