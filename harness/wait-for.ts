export interface WaitForOptions {
  /** Give up after this long; the error names `what` and the last failure seen. */
  timeoutMs: number;
  /** Pause between attempts. */
  intervalMs?: number;
  /** What is being waited for, for the timeout message: `record on primary.orders-x`. */
  what: string;
  /** Errors that make further waiting pointless (the process died): rethrown at once. */
  giveUpOn?: (error: unknown) => boolean;
}

/** Thrown by {@link waitFor} when its deadline passes. */
export class WaitTimeoutError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'WaitTimeoutError';
  }
}

/**
 * Calls `fn` until it returns something other than `undefined`, `null` or `false`, and returns that.
 * A throw counts as "not yet" and is remembered for the timeout message. Each attempt runs to completion,
 * so `fn` must bound its own I/O (short client timeouts).
 *
 * @example
 * const offsets = await waitFor(() => admin.fetchTopicOffsets(topic).then((o) => o[0]?.high !== '0' && o),
 *   { timeoutMs: 30_000, what: `records in ${topic}` });
 */
export async function waitFor<T>(
  fn: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  options: WaitForOptions,
): Promise<T> {
  const { timeoutMs, intervalMs = 250, what, giveUpOn } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  let attempts = 0;
  for (;;) {
    attempts += 1;
    try {
      const value = await fn();
      if (value !== undefined && value !== null && value !== false) return value;
      lastError = undefined;
    } catch (e: unknown) {
      if (giveUpOn?.(e)) throw e;
      lastError = e;
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      const last = lastError === undefined ? '' : `; last error: ${describeError(lastError)}`;
      throw new WaitTimeoutError(
        `timed out after ${timeoutMs} ms (${attempts} attempts) waiting for ${what}${last}`,
        {
          cause: lastError,
        },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, left)));
  }
}

function describeError(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}
