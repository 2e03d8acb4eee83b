/**
 * What the client library logs through: Powertools' `Logger`, `console` and most structured loggers fit.
 * The library never passes a secret here: messages and attributes carry names, epochs and error names only.
 */
export interface ClientLogger {
  // A rest parameter, not an optional one, so that Powertools' overloaded signatures are assignable.
  info(message: string, ...attributes: Array<Record<string, unknown>>): void;
  warn(message: string, ...attributes: Array<Record<string, unknown>>): void;
  error(message: string, ...attributes: Array<Record<string, unknown>>): void;
}

/** Default: quiet on `info`, warnings and errors to stderr, so a broken watcher is never silent. */
export const defaultClientLogger: ClientLogger = {
  info: () => {},
  warn: (message, ...attributes) => console.warn(`[mm2-failover] ${message}`, ...attributes),
  error: (message, ...attributes) => console.error(`[mm2-failover] ${message}`, ...attributes),
};
