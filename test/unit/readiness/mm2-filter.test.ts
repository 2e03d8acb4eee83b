import { describe, expect, it } from 'vitest';
import { DEFAULT_TOPICS_EXCLUDE, filterCovers, literalPattern } from '#shared/readiness/mm2-filter.ts';

describe('MM2 topic and group filters', () => {
  it('matches whole names against the comma-separated include list, entries trimmed', () => {
    const filter = { include: 'orders, pay.* ', exclude: '' };
    expect(filterCovers(filter, 'orders')).toEqual({ covered: true });
    expect(filterCovers(filter, 'payments')).toEqual({ covered: true });
    expect(filterCovers(filter, 'orders-eu')).toEqual({
      covered: false,
      why: "not matched by 'orders, pay.* '",
    });
  });

  it("applies MM2's default excludes: internal topics, *.replica and __*", () => {
    const filter = { include: '.*', exclude: DEFAULT_TOPICS_EXCLUDE };
    for (const name of [
      'mm2-offset-syncs.primary.internal',
      'connect-internal',
      'orders.replica',
      '__consumer_offsets',
    ]) {
      expect(filterCovers(filter, name).covered).toBe(false);
    }
    expect(filterCovers(filter, '_schemas').covered).toBe(true);
  });

  it('includes nothing with an empty include list', () => {
    expect(filterCovers({ include: ' ', exclude: '' }, 'orders').covered).toBe(false);
  });

  it('escapes a name into a pattern that matches only it', () => {
    const filter = { include: literalPattern('orders.v1'), exclude: '' };
    expect(filterCovers(filter, 'orders.v1').covered).toBe(true);
    expect(filterCovers(filter, 'ordersXv1').covered).toBe(false);
  });
});
