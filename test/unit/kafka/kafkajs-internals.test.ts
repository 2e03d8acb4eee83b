import Cluster from 'kafkajs/src/cluster/index.js';
import { errorCodes } from 'kafkajs/src/protocol/error.js';
import apiKeys from 'kafkajs/src/protocol/requests/apiKeys.js';
import { requests } from 'kafkajs/src/protocol/requests/index.js';
import { describe, expect, it } from 'vitest';
import { createClusterClient } from '#shared/kafka/cluster-client.ts';

// shared/kafka/cluster-client.ts builds on kafkajs internals (typed in kafkajs-internals.d.ts). kafkajs is
// pinned and unmaintained, but if an install ever brings another shape, this fails before anything else does.
describe('kafkajs internals used by the cluster client', () => {
  it('exposes the request definitions and API keys the client sends', () => {
    expect(apiKeys).toMatchObject({ Metadata: 3, ListOffsets: 2, Fetch: 1, Produce: 0, CreateTopics: 19 });
    for (const name of ['Metadata', 'ListOffsets', 'Fetch', 'Produce', 'CreateTopics'] as const) {
      expect(requests[name]).toHaveProperty('protocol');
    }
    expect(errorCodes.find((e) => e.code === 5)?.type).toBe('LEADER_NOT_AVAILABLE');
  });

  it('lets the client replace how brokers are created, so metadata can be read leniently', () => {
    const cluster = new Cluster({
      logger: { namespace: () => ({}) },
      brokers: ['127.0.0.1:1'],
      clientId: 'shape-test',
      connectionTimeout: 100,
      requestTimeout: 100,
    } as object);
    expect(typeof cluster.brokerPool.createBroker).toBe('function');
    expect(typeof cluster.brokerPool.refreshMetadata).toBe('function');
    expect(typeof cluster.brokerPool.findBroker).toBe('function');
  });

  it('builds a client without connecting (connections are lazy)', async () => {
    const client = createClusterClient({ brokers: ['127.0.0.1:1'], clientId: 'lazy', logLevel: 0 });
    await expect(client.close()).resolves.toBeUndefined();
  });
});
