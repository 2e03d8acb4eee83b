import { describe, expect, it } from 'vitest';
import { parseDeploymentConfig } from '#shared/config/load.ts';
import type { DeploymentConfigInput } from '#shared/config/schema.ts';
import { topicMapping } from '#shared/config/topic-mapping.ts';

function config(overrides: Partial<DeploymentConfigInput>) {
  return parseDeploymentConfig({
    name: 'd',
    mode: 'active-passive',
    replicationPolicy: 'default',
    clusters: { primary: { alias: 'K1', auth: 'none' }, secondary: { alias: 'K2', auth: 'none' } },
    topics: ['orders'],
    mirror: { kind: 'manual' },
    ...overrides,
  });
}

describe('topicMapping', () => {
  it('maps to the topic itself when the primary is active', () => {
    expect(topicMapping(config({}), 'primary')).toEqual({
      orders: { produce: 'orders', subscribe: ['orders'] },
    });
  });

  it('maps to the mirrored topic on the secondary with the default policy', () => {
    expect(topicMapping(config({}), 'secondary')).toEqual({
      orders: { produce: 'K1.orders', subscribe: ['K1.orders'] },
    });
  });

  it('uses the configured separator', () => {
    expect(topicMapping(config({ separator: '_' }), 'secondary').orders?.produce).toBe('K1_orders');
  });

  it('keeps names with the identity policy', () => {
    expect(topicMapping(config({ replicationPolicy: 'identity' }), 'secondary')).toEqual({
      orders: { produce: 'orders', subscribe: ['orders'] },
    });
  });

  it('in active-active reads the local topic and names the remote copy apart, on either side', () => {
    const c = config({ mode: 'active-active' });

    expect(topicMapping(c, 'primary').orders).toEqual({
      produce: 'orders',
      subscribe: ['orders'],
      remote: ['K2.orders'],
    });
    expect(topicMapping(c, 'secondary').orders).toEqual({
      produce: 'orders',
      subscribe: ['orders'],
      remote: ['K1.orders'],
      drain: ['K1.orders'],
    });
  });

  it("drains the mirrored topic before the local one on the secondary with failoverTopics 'local'", () => {
    const c = config({ failoverTopics: 'local' });

    expect(topicMapping(c, 'secondary').orders).toEqual({
      produce: 'orders',
      subscribe: ['orders'],
      drain: ['K1.orders'],
    });
    expect(topicMapping(c, 'primary').orders).toEqual({ produce: 'orders', subscribe: ['orders'] });
    expect(topicMapping({ ...c, replicationPolicy: 'identity' }, 'secondary').orders).toEqual({
      produce: 'orders',
      subscribe: ['orders'],
    });
  });
});
