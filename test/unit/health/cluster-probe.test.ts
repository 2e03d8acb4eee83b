import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { systemClock } from '#shared/clock.ts';
import { probeCluster } from '#shared/health/cluster-probe.ts';
import { Deadline } from '#shared/health/deadline.ts';
import { createClusterClient } from '#shared/kafka/cluster-client.ts';
import { startFakeBrokers } from '../kafka/fake-brokers.ts';
import { FakeCluster } from '../kafka/fake-cluster.ts';

const input = {
  role: 'primary' as const,
  alias: 'primary',
  deployment: 'orders-dr',
  expectedBrokers: 3,
  watchedTopics: ['orders'],
  canaryTopic: 'canary',
  requestTimeoutMs: 4_000,
};

function refused(): Error {
  const e = new Error('Connection error: connect ECONNREFUSED 127.0.0.1:9092');
  e.name = 'KafkaJSConnectionError';
  Object.assign(e, { code: 'ECONNREFUSED' });
  return e;
}

describe('probeCluster', () => {
  let cluster: FakeCluster;
  beforeEach(() => {
    cluster = new FakeCluster().addTopic('orders', 6, { rf: 3 }).addTopic('canary', 3, { rf: 3 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('says up and writes one canary per partition with acks=all when the cluster is healthy', async () => {
    // Act
    const { health, clientFailed } = await probeCluster(input, {
      client: cluster,
      deadline: Deadline.in(7_000),
      clock: systemClock,
    });
    // Assert
    expect(health).toMatchObject({
      role: 'primary',
      verdict: 'up',
      reasons: [],
      brokersAlive: 3,
      partitions: { watched: 6, leaderless: 0, underReplicated: 0 },
      canary: { topic: 'canary', partitions: 3, written: 3, writableRatio: 1, created: false },
    });
    expect(clientFailed).toBe(false);
    expect(cluster.calls.find((c) => c.op === 'produce')?.detail).toEqual({
      topic: 'canary',
      partitions: [0, 1, 2],
      acks: -1,
    });
    const record = cluster.partition('canary', 0).log[0];
    expect(JSON.parse(record?.value?.toString() ?? '{}')).toMatchObject({
      deployment: 'orders-dr',
      cluster: 'primary',
    });
  });

  it('counts leaderless and under-replicated partitions that kafkajs would refuse to describe', async () => {
    cluster.partition('orders', 1).leader = -1;
    cluster.partition('orders', 2).isr = [1];
    const { health } = await probeCluster(input, {
      client: cluster,
      deadline: Deadline.in(7_000),
      clock: systemClock,
    });
    expect(health.verdict).toBe('degraded');
    expect(health.partitions).toEqual({ watched: 6, leaderless: 1, underReplicated: 1 });
    expect(health.reasons).toEqual(['no-leader', 'under-replicated']);
  });

  it('creates the canary topic with one partition per broker when it is missing', async () => {
    cluster.topics.delete('canary');
    const { health } = await probeCluster(input, {
      client: cluster,
      deadline: Deadline.in(7_000),
      clock: systemClock,
    });
    expect(cluster.calls.find((c) => c.op === 'createTopic')?.detail).toMatchObject({
      topic: 'canary',
      numPartitions: 3,
      replicationFactor: 3,
    });
    expect(health.canary).toMatchObject({ partitions: 3, written: 3, created: true });
    expect(health.verdict).toBe('up');
  });

  it('says down with not-writable when acks=all fails on every canary partition', async () => {
    for (const p of [0, 1, 2]) cluster.partition('canary', p).produceError = 'NOT_ENOUGH_REPLICAS';
    const { health } = await probeCluster(input, {
      client: cluster,
      deadline: Deadline.in(7_000),
      clock: systemClock,
    });
    expect(health).toMatchObject({
      verdict: 'down',
      reasons: ['not-writable'],
      canary: { written: 0, writableRatio: 0 },
    });
    expect(health.detail).toBe('canary produce: 3 of 3 partitions failed (NOT_ENOUGH_REPLICAS)');
  });

  it('says degraded with a fractional writable ratio when some canary partitions fail', async () => {
    cluster.partition('canary', 2).produceError = 'NOT_ENOUGH_REPLICAS';
    const { health } = await probeCluster(input, {
      client: cluster,
      deadline: Deadline.in(7_000),
      clock: systemClock,
    });
    expect(health.verdict).toBe('degraded');
    expect(health.canary?.writableRatio).toBeCloseTo(2 / 3);
  });

  it('says degraded, not down, when one of three leaders is dead, naming the partition and its leader', async () => {
    // Arrange: the real client, on brokers whose metadata still names broker 2 (it died before being fenced).
    const brokers = await startFakeBrokers({ brokers: 3, topic: 'canary', leaders: [1, 2, 3] });
    const client = createClusterClient(
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
    try {
      await client.metadata(['canary']);
      await brokers.kill(2);

      // Act
      const { health, clientFailed } = await probeCluster(
        { ...input, watchedTopics: [] },
        { client, deadline: Deadline.in(7_000), clock: systemClock },
      );

      // Assert
      expect(health).toMatchObject({
        verdict: 'degraded',
        reasons: ['not-writable'],
        brokersAlive: 3,
        canary: {
          partitions: 3,
          written: 2,
          unwritable: [{ partition: 1, error: 'BROKER_NOT_AVAILABLE', leader: 2 }],
        },
      });
      expect(health.canary?.writableRatio).toBeCloseTo(2 / 3);
      expect(health.detail).toBe(
        'canary produce: 1 of 3 partitions failed (BROKER_NOT_AVAILABLE); leader 2 unreachable (connect-refused)',
      );
      expect(clientFailed).toBe(false);
    } finally {
      await client.close();
      await brokers.close();
    }
  });

  it('says degraded, not down, when a dead broker still in the ISR stalls acks=all and live leaders take acks=1', async () => {
    // Arrange: broker 2 died before the controller fenced it, so the live leaders wait for it on every acks=all.
    const brokers = await startFakeBrokers({ brokers: 3, topic: 'canary', leaders: [1, 2, 3] });
    const client = createClusterClient(
      {
        brokers: brokers.bootstrap,
        clientId: 'unit',
        connectionTimeout: 1_000,
        requestTimeout: 4_000,
        retry: { retries: 0 },
        logLevel: 0,
      },
      { metadataMaxAgeMs: 60_000 },
    );
    try {
      await client.metadata(['canary']);
      await brokers.kill(2);
      brokers.stallReplication();
      // The drill's cycle: 1.9 s, of which 380 ms are kept for storing the result.
      const deadline = Deadline.in(1_520);

      // Act
      const { health, clientFailed } = await probeCluster(
        { ...input, watchedTopics: [] },
        { client, deadline, clock: systemClock },
      );

      // Assert
      expect(health).toMatchObject({
        verdict: 'degraded',
        reasons: ['under-replicated', 'not-writable'],
        canary: {
          partitions: 3,
          written: 2,
          leaderOnly: 2,
          unwritable: [{ partition: 1, error: 'BROKER_NOT_AVAILABLE', leader: 2 }],
        },
      });
      expect(health.detail).toMatch(
        /^canary produce: acks=all stalled on 2 of 3 partitions \(no answer within \d+ ms\); their leaders accepted acks=1; 1 of 3 partitions failed \(BROKER_NOT_AVAILABLE\); leader 2 unreachable \(connect-refused\)$/,
      );
      expect(brokers.acks).toEqual(expect.arrayContaining([-1, 1]));
      expect(deadline.expired()).toBe(false);
      expect(clientFailed).toBe(false);
    } finally {
      await client.close();
      await brokers.close();
    }
  });

  it('waits for acks=all at most half the remaining cycle, keeping the rest for acks=1', async () => {
    // Arrange
    const asked: { acks: number | undefined; timeoutMs: number }[] = [];
    const produce = cluster.produce.bind(cluster);
    cluster.produce = async (topic, records, options) => {
      asked.push({ acks: options.acks, timeoutMs: options.timeoutMs });
      const results = await produce(topic, records, options);
      return options.acks === 1
        ? results
        : results.map((r) => ({ topic, partition: r.partition, error: 'REQUEST_TIMED_OUT' }));
    };

    // Act
    const { health } = await probeCluster(input, {
      client: cluster,
      deadline: Deadline.in(2_000),
      clock: systemClock,
    });

    // Assert
    expect(asked.map((a) => a.acks)).toEqual([-1, 1]);
    expect(asked[0]?.timeoutMs).toBeLessThanOrEqual(1_000);
    expect(asked[0]?.timeoutMs).toBeGreaterThan(800);
    expect(health).toMatchObject({
      verdict: 'degraded',
      reasons: ['under-replicated'],
      canary: { written: 3, leaderOnly: 3 },
    });
    expect(health.canary).not.toHaveProperty('unwritable');
  });

  it('says down when acks=all stalls and no leader takes the canary with acks=1 either', async () => {
    // Arrange
    const produce = cluster.produce.bind(cluster);
    cluster.produce = async (topic, records, options) => {
      if (options.acks === 1) throw refused();
      const results = await produce(topic, records, options);
      return results.map((r) => ({ topic, partition: r.partition, error: 'REQUEST_TIMED_OUT' }));
    };

    // Act
    const { health } = await probeCluster(input, {
      client: cluster,
      deadline: Deadline.in(2_000),
      clock: systemClock,
    });

    // Assert
    expect(health).toMatchObject({
      verdict: 'down',
      reasons: ['not-writable', 'timeout'],
      canary: { written: 0 },
    });
    expect(health.canary).not.toHaveProperty('leaderOnly');
    expect(health.detail).toBe('canary produce: 3 of 3 partitions failed (REQUEST_TIMED_OUT)');
  });

  it('writes the canary again to partitions whose leader moved off a dead broker', async () => {
    // Arrange: broker 2 is unreachable for the first request; the refreshed metadata names a live leader.
    const unreachable = { error: 'BROKER_NOT_AVAILABLE', leader: 2, reason: 'connect-refused' as const };
    const produce = cluster.produce.bind(cluster);
    let first = true;
    cluster.produce = async (topic, records, options) => {
      const results = await produce(topic, records, options);
      if (!first) return results;
      first = false;
      return results.map((r) => (r.partition === 1 ? { topic, partition: 1, ...unreachable } : r));
    };

    // Act
    const { health } = await probeCluster(input, {
      client: cluster,
      deadline: Deadline.in(7_000),
      clock: systemClock,
    });

    // Assert
    expect(health.verdict).toBe('up');
    expect(health.canary).toMatchObject({ written: 3 });
    expect(health.canary).not.toHaveProperty('unwritable');
    expect(cluster.calls.filter((c) => c.op === 'produce').map((c) => c.detail)).toEqual([
      { topic: 'canary', partitions: [0, 1, 2], acks: -1 },
      { topic: 'canary', partitions: [1], acks: -1 },
    ]);
  });

  it('says down with connect-refused and asks for a new client when the cluster refuses connections', async () => {
    cluster.failWith = refused();
    const { health, clientFailed } = await probeCluster(input, {
      client: cluster,
      deadline: Deadline.in(7_000),
      clock: systemClock,
    });
    expect(health).toMatchObject({ verdict: 'down', reasons: ['connect-refused'], brokersAlive: 0 });
    expect(health.detail).toContain('ECONNREFUSED');
    expect(clientFailed).toBe(true);
  });

  it('says down with timeout at the deadline when the cluster never answers (a hung broker)', async () => {
    // Arrange
    vi.useFakeTimers();
    cluster.gate = new Promise(() => {});
    // Act
    const pending = probeCluster(input, {
      client: cluster,
      deadline: Deadline.in(5_000),
      clock: systemClock,
    });
    await vi.advanceTimersByTimeAsync(5_000);
    const { health, clientFailed } = await pending;
    // Assert
    expect(health).toMatchObject({ verdict: 'down', reasons: ['timeout'] });
    expect(health.latencyMs).toBe(5_000);
    expect(clientFailed).toBe(true);
  });

  it('reports missing watched topics as topic-missing', async () => {
    const { health } = await probeCluster(
      { ...input, watchedTopics: ['orders', 'nope'] },
      {
        client: cluster,
        deadline: Deadline.in(7_000),
        clock: systemClock,
      },
    );
    expect(health).toMatchObject({
      verdict: 'degraded',
      reasons: ['topic-missing'],
      missingTopics: ['nope'],
    });
  });

  it('asks metadata for the watched topics, the canary and the extra topics in one request', async () => {
    await probeCluster(
      { ...input, extraTopics: ['primary.checkpoints.internal'] },
      {
        client: cluster,
        deadline: Deadline.in(7_000),
        clock: systemClock,
      },
    );
    expect(cluster.calls[0]).toEqual({
      op: 'metadata',
      detail: ['orders', 'canary', 'primary.checkpoints.internal'],
    });
  });
});
