/**
 * What the product logs through: Powertools' `Logger` in the functions, and whatever an application hands the
 * client library (`console` and most structured loggers fit). Code that logs at fewer levels takes only those
 * (`Pick<Logger, 'info' | 'warn'>`), so a caller's logger need have no more. Messages and attributes carry names,
 * epochs, offsets and one-line error descriptions, never a secret and never an error object.
 */
export interface Logger {
  // Rest parameters, not optional ones, so that Powertools' overloaded signatures are assignable.
  debug(message: string, ...attributes: Array<Record<string, unknown>>): void;
  info(message: string, ...attributes: Array<Record<string, unknown>>): void;
  warn(message: string, ...attributes: Array<Record<string, unknown>>): void;
  error(message: string, ...attributes: Array<Record<string, unknown>>): void;
}
