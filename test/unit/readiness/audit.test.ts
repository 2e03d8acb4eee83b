import { describe, expect, it } from 'vitest';
import type { ClusterRole } from '#shared/config/schema.ts';
import { type AuditDeps, auditReadiness } from '#shared/readiness/audit.ts';
import type { MirrorSetup } from '#shared/readiness/mirror-setup.ts';
import { FakeReadinessCluster, readinessConfig } from './fakes.ts';

const NOW = Date.parse('2026-12-01T12:00:00.000Z');
const notChecked: MirrorSetup = { kind: 'not-checked', why: 'manual' };

function setup(topics: string[] = ['orders'], overrides: Parameters<typeof readinessConfig>[0] = {}) {
  const config = readinessConfig({ topics, ...overrides });
  const clusters: Record<ClusterRole, FakeReadinessCluster> = {
    primary: new FakeReadinessCluster(),
    secondary: new FakeReadinessCluster(),
  };
  const remote = (t: string) => (config.replicationPolicy === 'identity' ? t : `primary.${t}`);
  for (const t of topics) {
    clusters.primary.addTopic(t, 6);
    clusters.secondary.addTopic(remote(t), 6);
  }
  clusters.secondary.addTopic('heartbeats', 1).heartbeat('heartbeats', 'primary', 'secondary', NOW - 1_000);
  const deps: AuditDeps = { clusters, mirror: async () => notChecked, clock: { now: () => NOW } };
  const codes = async () =>
    (await auditReadiness(config, deps)).findings
      .filter((f) => f.code !== 'mirror-not-checked')
      .map((f) => `${f.code}${f.topic ? ` ${f.topic}` : ''}`);
  return { config, clusters, deps, codes };
}

describe('auditReadiness', () => {
  it('finds a standby whose topics match ready, with only the note that a manual mirror was not checked', async () => {
    const { config, deps } = setup();
    const report = await auditReadiness(config, deps);
    expect(report).toMatchObject({ ready: true, complete: true, auditedAt: '2026-12-01T12:00:00.000Z' });
    expect(report.findings.map((f) => [f.code, f.severity])).toEqual([['mirror-not-checked', 'info']]);
  });

  it('reads each cluster with one Metadata and one DescribeConfigs request whatever the number of topics', async () => {
    const topics = Array.from({ length: 500 }, (_, i) => `t${i}`);
    const { config, deps, clusters } = setup(topics);
    const report = await auditReadiness(config, deps);
    expect(report.ready).toBe(true);
    for (const c of [clusters.primary, clusters.secondary]) {
      expect(c.count('describeTopics')).toBe(1);
      expect(c.count('describeTopicConfigs')).toBe(1);
    }
  });

  it('judges the copy under the name the replication policy gives it', async () => {
    const { codes, clusters } = setup(['orders'], { replicationPolicy: 'default' });
    expect(await codes()).toEqual([]);
    clusters.secondary.topics.delete('primary.orders');
    clusters.secondary.addTopic('orders', 6);
    expect(await codes()).toEqual(['topic-missing orders']);
  });

  it('fixes a missing copy by creating it with the source partitions, its settings and enough replicas', async () => {
    const { config, deps, clusters } = setup();
    clusters.secondary.topics.delete('orders');
    clusters.primary.addTopic('orders', 6, { rf: 2, configs: { 'cleanup.policy': 'compact' } });
    clusters.secondary.brokers = 5;
    const [missing] = (await auditReadiness(config, deps)).findings;
    expect(missing).toMatchObject({
      code: 'topic-missing',
      severity: 'error',
      topic: 'orders',
      found: 'absent',
      action: {
        kind: 'create-topic',
        cluster: 'secondary',
        topic: 'orders',
        partitions: 6,
        // The secondary expects 3 brokers: at least 3 replicas, though the source has 2.
        replicationFactor: 3,
        configs: expect.objectContaining({ 'cleanup.policy': 'compact', 'min.insync.replicas': '2' }),
      },
    });
  });

  it('adds partitions to a copy that has fewer, and to the source when the copy has more', async () => {
    const { config, deps, clusters } = setup(['a', 'b']);
    clusters.secondary.addTopic('a', 3);
    clusters.secondary.addTopic('b', 8);
    const actions = (await auditReadiness(config, deps)).findings
      .filter((f) => f.code === 'partition-count')
      .map((f) => [f.found, f.action]);
    expect(actions).toEqual([
      ['3', { kind: 'create-partitions', cluster: 'secondary', topic: 'a', count: 6 }],
      ['8', { kind: 'create-partitions', cluster: 'primary', topic: 'b', count: 8 }],
    ]);
  });

  it('reports each differing behaviour setting with the source value to set on the copy', async () => {
    const { config, deps, clusters } = setup();
    clusters.secondary.addTopic('orders', 6, {
      configs: { 'retention.ms': '3600000', 'message.timestamp.type': 'LogAppendTime' },
    });
    const findings = (await auditReadiness(config, deps)).findings.filter(
      (f) => f.code === 'config-mismatch',
    );
    expect(findings.map((f) => [f.expected, f.found, f.action])).toEqual([
      [
        'retention.ms=604800000 (as orders on the primary)',
        'retention.ms=3600000 on orders',
        {
          kind: 'alter-topic-configs',
          cluster: 'secondary',
          topic: 'orders',
          set: { 'retention.ms': '604800000' },
        },
      ],
      [
        'message.timestamp.type=CreateTime (as orders on the primary)',
        'message.timestamp.type=LogAppendTime on orders',
        {
          kind: 'alter-topic-configs',
          cluster: 'secondary',
          topic: 'orders',
          set: { 'message.timestamp.type': 'CreateTime' },
        },
      ],
    ]);
  });

  it('compares only the configured settings', async () => {
    const { codes, clusters } = setup(['orders'], { readiness: { compareConfigs: ['cleanup.policy'] } });
    clusters.secondary.addTopic('orders', 6, { configs: { 'retention.ms': '1' } });
    expect(await codes()).toEqual([]);
  });

  it('wants at least the configured replication factor on the copy, without a call that could fix it', async () => {
    const { config, deps, clusters } = setup(['orders'], { readiness: { minReplicationFactor: 3 } });
    clusters.secondary.addTopic('orders', 6, { rf: 2 });
    const [f] = (await auditReadiness(config, deps)).findings;
    expect(f).toMatchObject({ code: 'replication-factor', found: '2' });
    expect(f?.action).toBeUndefined();
  });

  it('warns about a watched topic the primary lacks, without making the standby not ready', async () => {
    const { config, deps, clusters } = setup(['orders', 'ghost']);
    clusters.primary.topics.delete('ghost');
    clusters.secondary.topics.delete('ghost');
    const report = await auditReadiness(config, deps);
    expect(report.ready).toBe(true);
    expect(report.findings.filter((f) => f.code === 'source-topic-missing')).toEqual([
      expect.objectContaining({ topic: 'ghost', severity: 'warning' }),
    ]);
  });

  it('is incomplete and not ready when a cluster does not answer, and says nothing about topics it cannot see', async () => {
    const { config, deps, clusters } = setup();
    clusters.secondary.failWith = new Error('KafkaJSConnectionError: Connection timeout');
    const report = await auditReadiness(config, deps);
    expect(report).toMatchObject({ ready: false, complete: false });
    expect(report.findings.map((f) => f.code)).toEqual(['cluster-unreachable', 'mirror-not-checked']);
    expect(report.findings[0]?.found).toContain('Connection timeout');
  });

  it('audits both directions in active-active, each copy under the other cluster alias', async () => {
    const { config, deps, clusters } = setup(['orders'], {
      mode: 'active-active',
      replicationPolicy: 'default',
    });
    clusters.primary.addTopic('secondary.orders', 6);
    clusters.secondary.addTopic('orders', 6);
    clusters.primary.addTopic('heartbeats', 1).heartbeat('heartbeats', 'secondary', 'primary', NOW);
    expect((await auditReadiness(config, deps)).ready).toBe(true);
    clusters.primary.topics.delete('secondary.orders');
    const findings = (await auditReadiness(config, deps)).findings.filter((f) => f.code === 'topic-missing');
    expect(findings.map((f) => f.action)).toEqual([
      expect.objectContaining({ cluster: 'primary', topic: 'secondary.orders' }),
    ]);
  });

  it('judges heartbeats by their age when read, however long the config reads take', async () => {
    const { config, clusters } = setup();
    let now = NOW;
    const slow = clusters.primary.describeTopicConfigs.bind(clusters.primary);
    clusters.primary.describeTopicConfigs = async (topics, names) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      now += 120_000; // a per-topic loop over a thousand topics
      return slow(topics, names);
    };
    const deps: AuditDeps = { clusters, mirror: async () => notChecked, clock: { now: () => now } };
    const report = await auditReadiness(config, deps);
    expect(report.findings.map((f) => f.code)).toEqual(['mirror-not-checked']);
  });
});
