import type { Clock } from '../clock.ts';

/** How a raced promise ended, without throwing: the caller decides what each case means. */
export type Raced<T> =
  | { kind: 'value'; value: T }
  | { kind: 'error'; error: unknown }
  | { kind: 'timeout' }
  | { kind: 'aborted' };

/**
 * Wait for `promise`, at most `timeoutMs` (if given), and no longer than `signal` stays unaborted.
 * The promise keeps running when the race is lost; its late outcome is ignored (and never unhandled).
 */
export async function race<T>(
  promise: Promise<T>,
  options: { clock: Clock; timeoutMs?: number | undefined; signal?: AbortSignal | undefined },
): Promise<Raced<T>> {
  const { clock, timeoutMs, signal } = options;
  if (signal?.aborted) {
    promise.catch(() => {});
    return { kind: 'aborted' };
  }
  const settled = new AbortController();
  const stop = signal ? AbortSignal.any([settled.signal, signal]) : settled.signal;
  const contenders: Promise<Raced<T>>[] = [
    promise.then(
      (value) => ({ kind: 'value', value }),
      (error: unknown) => ({ kind: 'error', error }),
    ),
  ];
  if (timeoutMs !== undefined) {
    contenders.push(
      clock
        .sleep(Math.max(0, timeoutMs), stop)
        .then((): Raced<T> => (signal?.aborted ? { kind: 'aborted' } : { kind: 'timeout' })),
    );
  } else if (signal) {
    contenders.push(
      new Promise<Raced<T>>((resolve) => {
        stop.addEventListener('abort', () => resolve({ kind: 'aborted' }), { once: true });
      }),
    );
  }
  try {
    return await Promise.race(contenders);
  } finally {
    settled.abort();
  }
}
