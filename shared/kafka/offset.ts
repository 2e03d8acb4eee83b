import { OffsetRangeError } from '../errors.ts';

/**
 * A Kafka offset as the product's logic holds it: a plain number. Kafka's offsets are int64, but journals are
 * JSON, schemas are zod integers and the arithmetic (lags, backlogs, tails) is ordinary, and a number is exact up
 * to 2^53 - 1: a partition written at a million records a second gets there after 285 years. Offsets arrive as
 * strings (kafkajs' protocol decoders and admin) or bigints (MM2's record codec) and become an {@link Offset}
 * through {@link toOffset} only, which refuses one a number cannot hold exactly instead of rounding it.
 *
 * Negative values pass: Kafka and MM2 use -1 for "none" and "no translation", and callers decide what it means.
 */
export type Offset = number;

/** The one conversion into {@link Offset}; `what` names the value in the error (`offset of orders-3`, ...). */
export function toOffset(raw: string | bigint | number, what: string): Offset {
  const n = typeof raw === 'string' && !/^-?\d+$/.test(raw) ? Number.NaN : Number(raw);
  if (!Number.isSafeInteger(n))
    throw new OffsetRangeError(what, typeof raw === 'string' ? `'${raw}'` : String(raw));
  return n;
}
