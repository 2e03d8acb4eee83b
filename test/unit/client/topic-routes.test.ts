import { describe, expect, it } from 'vitest';
import { logicalTopicOf, routeOf, subscriptionOf } from '#shared/client/topic-routes.ts';

const activeActive = {
  topics: {
    orders: { produce: 'orders', subscribe: ['orders', 'K1.orders'] },
    payments: { produce: 'payments', subscribe: ['payments', 'K1.payments'] },
  },
};

describe('topic routes', () => {
  it('expands logical topics to every subscribed topic, in order, once each', () => {
    expect(subscriptionOf(activeActive, ['payments', 'orders', 'payments'])).toEqual({
      topics: ['payments', 'K1.payments', 'orders', 'K1.orders'],
      unmapped: [],
    });
  });

  it('lists logical topics the mapping lacks instead of inventing a route', () => {
    expect(subscriptionOf(activeActive, ['orders', 'refunds'])).toEqual({
      topics: ['orders', 'K1.orders'],
      unmapped: ['refunds'],
    });
  });

  it('maps a mirrored topic back to its logical topic', () => {
    expect(logicalTopicOf(activeActive, 'K1.payments')).toBe('payments');
    expect(logicalTopicOf(activeActive, 'unrelated')).toBe('unrelated');
  });

  it('does not treat inherited object keys as topics', () => {
    expect(routeOf(activeActive, 'toString')).toBeUndefined();
    expect(routeOf(activeActive, 'orders')?.produce).toBe('orders');
  });
});
