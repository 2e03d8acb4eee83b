import { afterEach, describe, expect, it } from 'vitest';
import { type ClusterClient, createClusterClient } from '#shared/kafka/cluster-client.ts';
import { type FakeBrokers, startFakeBrokers } from './fake-brokers.ts';

const topic = 'canary';

describe('ClusterClient.produce with one of three leaders dead', () => {
  let brokers: FakeBrokers | undefined;
  let client: ClusterClient | undefined;
  afterEach(async () => {
    await client?.close();
    await brokers?.close();
  });

  /** Three brokers, partition p led by broker p + 1; the client has learnt the leaders before `dead` dies. */
  async function clusterWithDeadLeader(dead: number[]) {
    brokers = await startFakeBrokers({ brokers: 3, topic, leaders: [1, 2, 3] });
    client = createClusterClient(
      {
        brokers: brokers.bootstrap,
        clientId: 'unit',
        connectionTimeout: 1_000,
        requestTimeout: 2_000,
        retry: { retries: 0 },
        logLevel: 0,
      },
      { metadataMaxAgeMs: 60_000 },
    );
    await client.metadata([topic]);
    for (const nodeId of dead) await brokers.kill(nodeId);
    return client;
  }

  const records = [0, 1, 2].map((partition) => ({ partition, value: 'canary' }));

  it("returns the live leaders' acknowledgements and marks only the dead leader's partition unwritable", async () => {
    // Arrange
    const cluster = await clusterWithDeadLeader([2]);

    // Act
    const results = await cluster.produce(topic, records, { timeoutMs: 1_000 });

    // Assert
    const byPartition = [...results].sort((a, b) => a.partition - b.partition);
    expect(byPartition).toEqual([
      { topic, partition: 0, baseOffset: 0 },
      {
        topic,
        partition: 1,
        error: 'BROKER_NOT_AVAILABLE',
        leader: 2,
        reason: 'connect-refused',
        detail: expect.stringContaining('ECONNREFUSED'),
      },
      { topic, partition: 2, baseOffset: 0 },
    ]);
    expect(brokers?.produced.sort()).toEqual([1, 3]);
  });

  it('throws when every leader is unreachable: the cluster is down, not degraded', async () => {
    // Arrange
    const cluster = await clusterWithDeadLeader([1, 2, 3]);

    // Act
    const produced = cluster.produce(topic, records, { timeoutMs: 1_000 });

    // Assert
    await expect(produced).rejects.toThrow(/ECONNREFUSED|[Cc]onnection/);
  });

  it('answers REQUEST_TIMED_OUT from live leaders whose acks=all waits for the dead broker, after the timeout given', async () => {
    // Arrange
    const cluster = await clusterWithDeadLeader([2]);
    brokers?.stallReplication();
    const started = Date.now();

    // Act
    const results = await cluster.produce(topic, records, { timeoutMs: 300 });

    // Assert
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect([...results].sort((a, b) => a.partition - b.partition).map((r) => r.error)).toEqual([
      'REQUEST_TIMED_OUT',
      'BROKER_NOT_AVAILABLE',
      'REQUEST_TIMED_OUT',
    ]);
  });
});
