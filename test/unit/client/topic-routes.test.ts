import { describe, expect, it } from 'vitest';
import { drainTopicsOf, logicalTopicOf, routeOf, subscriptionOf } from '#shared/client/topic-routes.ts';

/** The primary's clients moved to K2: local `orders` there, K1's copy to drain first. */
const activeActive = {
  topics: {
    orders: { produce: 'orders', subscribe: ['orders'], remote: ['K1.orders'], drain: ['K1.orders'] },
    payments: {
      produce: 'payments',
      subscribe: ['payments'],
      remote: ['K1.payments'],
      drain: ['K1.payments'],
    },
  },
};

describe('topic routes', () => {
  it('reads only the local topics by default, in order, once each', () => {
    expect(subscriptionOf(activeActive, ['payments', 'orders', 'payments'])).toEqual({
      topics: ['payments', 'orders'],
      unmapped: [],
    });
  });

  it('adds the remote copies for the global view (aggregate)', () => {
    expect(subscriptionOf(activeActive, ['payments', 'orders', 'payments'], 'aggregate')).toEqual({
      topics: ['payments', 'K1.payments', 'orders', 'K1.orders'],
      unmapped: [],
    });
  });

  it('names the topics to drain first for a local consumer, none for an aggregate one', () => {
    expect(drainTopicsOf(activeActive, ['orders', 'payments'], 'local')).toEqual([
      'K1.orders',
      'K1.payments',
    ]);
    expect(drainTopicsOf(activeActive, ['orders'], 'aggregate')).toEqual([]);
    expect(
      drainTopicsOf(
        { topics: { orders: { produce: 'orders', subscribe: ['orders'] } } },
        ['orders'],
        'local',
      ),
    ).toEqual([]);
  });

  it('lists logical topics the mapping lacks instead of inventing a route', () => {
    expect(subscriptionOf(activeActive, ['orders', 'refunds'], 'aggregate')).toEqual({
      topics: ['orders', 'K1.orders'],
      unmapped: ['refunds'],
    });
  });

  it('maps a mirrored or drained topic back to its logical topic', () => {
    expect(logicalTopicOf(activeActive, 'K1.payments')).toBe('payments');
    expect(
      logicalTopicOf({ topics: { orders: { produce: 'o', subscribe: ['o'], drain: ['K1.o'] } } }, 'K1.o'),
    ).toBe('orders');
    expect(logicalTopicOf(activeActive, 'unrelated')).toBe('unrelated');
  });

  it('does not treat inherited object keys as topics', () => {
    expect(routeOf(activeActive, 'toString')).toBeUndefined();
    expect(routeOf(activeActive, 'orders')?.produce).toBe('orders');
  });
});
