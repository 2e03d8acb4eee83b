import { describe, expect, it } from 'vitest';
import { ValidationError } from '#shared/errors.ts';
import { parseTpKey, tpKey } from '#shared/kafka/topic-partition.ts';

describe('tpKey', () => {
  it("writes 'topic:partition', the format the failback journal persists", () => {
    expect(tpKey('orders', 3)).toBe('orders:3');
    expect(tpKey('primary.orders', 0)).toBe('primary.orders:0');
  });

  it('parses back to the same topic and partition, whatever dots, dashes and underscores the topic holds', () => {
    for (const [topic, partition] of [
      ['orders', 0],
      ['primary.orders', 12],
      ['a-b_c.d', 7],
      ['mm2-offset-syncs.secondary.internal', 0],
    ] as const) {
      expect(parseTpKey(tpKey(topic, partition))).toEqual({ topic, partition });
    }
  });

  it('refuses a string that is not a topic-partition key, naming it', () => {
    for (const bad of ['orders', 'orders:', ':3', 'orders:x', 'orders:-1', 'orders:1.5']) {
      expect(() => parseTpKey(bad)).toThrow(ValidationError);
      expect(() => parseTpKey(bad)).toThrow(`found '${bad}'`);
    }
  });
});
