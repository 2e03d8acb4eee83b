import { inspect } from 'node:util';

const MASK = '[redacted]';

/**
 * A value that never prints: JSON, string conversion and `util.inspect` (what loggers and `console.log` use)
 * all show `[redacted]`. Code that needs the value calls `reveal()`, which is easy to find in review.
 */
export class Redacted<T = string> {
  readonly #value: T;
  constructor(value: T) {
    this.#value = value;
  }
  reveal(): T {
    return this.#value;
  }
  toJSON(): string {
    return MASK;
  }
  toString(): string {
    return MASK;
  }
  [inspect.custom](): string {
    return MASK;
  }
}
