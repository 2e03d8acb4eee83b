import { describe, expect, it } from 'vitest';
import { OffsetRangeError } from '#shared/errors.ts';
import { toOffset } from '#shared/kafka/offset.ts';

describe('toOffset', () => {
  it('takes kafkajs strings, codec bigints and numbers up to 2^53 - 1 exactly', () => {
    expect(toOffset('0', 'o')).toBe(0);
    expect(toOffset('9007199254740991', 'o')).toBe(Number.MAX_SAFE_INTEGER);
    expect(toOffset(9007199254740991n, 'o')).toBe(Number.MAX_SAFE_INTEGER);
    expect(toOffset(42, 'o')).toBe(42);
  });

  it("keeps Kafka's -1 (no offset, no translation) for the caller to judge", () => {
    expect(toOffset('-1', 'o')).toBe(-1);
    expect(toOffset(-1n, 'o')).toBe(-1);
  });

  it('refuses an offset past 2^53 - 1 instead of rounding it, saying what and how far', () => {
    for (const raw of ['9007199254740992', 9007199254740993n, 2n ** 63n - 1n]) {
      expect(() => toOffset(raw, 'log end of orders:3')).toThrow(OffsetRangeError);
    }
    expect(() => toOffset('9007199254740992', 'log end of orders:3')).toThrow(
      "log end of orders:3: expected an integer offset of at most 9007199254740991 (2^53 - 1), found '9007199254740992'",
    );
  });

  it('refuses what is not an integer', () => {
    for (const raw of ['', ' 1', '1.5', 'abc', 1.5, Number.NaN]) {
      expect(() => toOffset(raw, 'o')).toThrow(OffsetRangeError);
    }
  });
});
