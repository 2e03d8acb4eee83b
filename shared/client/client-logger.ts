import type { Logger } from '../logger.ts';

/**
 * What the client library logs through, under the name applications know it by: the product's {@link Logger}
 * without `debug`, so Powertools' `Logger`, `console` and any logger with `info`, `warn` and `error` fit. The
 * library never passes a secret here: messages and attributes carry names, epochs and error names only.
 */
export type ClientLogger = Pick<Logger, 'info' | 'warn' | 'error'>;

/** Default: quiet on `info`, warnings and errors to stderr, so a broken watcher is never silent. */
export const defaultClientLogger: ClientLogger = {
  info: () => {},
  warn: (message, ...attributes) => console.warn(`[mm2-failover] ${message}`, ...attributes),
  error: (message, ...attributes) => console.error(`[mm2-failover] ${message}`, ...attributes),
};
