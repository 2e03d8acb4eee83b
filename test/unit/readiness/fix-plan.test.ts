import { describe, expect, it } from 'vitest';
import { applyFixes } from '#shared/readiness/apply-fixes.ts';
import { type Finding, finding } from '#shared/readiness/finding.ts';
import { planFixes } from '#shared/readiness/fix-plan.ts';
import { FakeReadinessCluster } from './fakes.ts';

const URL = 'http://connect:8083';
const f = (over: Omit<Finding, 'severity' | 'expected' | 'found' | 'fix'>): Finding =>
  finding({ expected: 'x', found: 'y', fix: 'z', ...over });

const findings: Finding[] = [
  f({
    code: 'mirror-policy',
    action: { kind: 'patch-connector', url: URL, connector: 'c', set: { 'replication.policy.class': 'P' } },
  }),
  f({
    code: 'mirror-offset-syncs-location',
    action: {
      kind: 'patch-connector',
      url: URL,
      connector: 'c',
      set: { 'offset-syncs.topic.location': 'target' },
    },
  }),
  f({ code: 'mirror-not-running', action: { kind: 'restart-connector', url: URL, connector: 'c' } }),
  f({
    code: 'topic-missing',
    topic: 'a',
    action: {
      kind: 'create-topic',
      cluster: 'secondary',
      topic: 'a',
      partitions: 3,
      replicationFactor: 3,
      configs: { 'cleanup.policy': 'compact' },
    },
  }),
  f({
    code: 'topic-missing',
    topic: 'b',
    action: {
      kind: 'create-topic',
      cluster: 'secondary',
      topic: 'b',
      partitions: 1,
      replicationFactor: 3,
      configs: {},
    },
  }),
  f({
    code: 'config-mismatch',
    topic: 'c',
    action: { kind: 'alter-topic-configs', cluster: 'secondary', topic: 'c', set: { 'retention.ms': '1' } },
  }),
  f({
    code: 'config-mismatch',
    topic: 'c',
    action: {
      kind: 'alter-topic-configs',
      cluster: 'secondary',
      topic: 'c',
      set: { 'cleanup.policy': 'delete' },
    },
  }),
  f({
    code: 'partition-count',
    topic: 'd',
    action: { kind: 'create-partitions', cluster: 'secondary', topic: 'd', count: 6 },
  }),
  f({ code: 'replication-factor', topic: 'e' }),
  f({ code: 'acls-not-describable' }),
];

describe('planFixes', () => {
  it('merges the actions into one call per kind and place, topics before MM2 before restarts', () => {
    const plan = planFixes(findings);
    expect(plan.calls.map((c) => [c.request, c.fixes])).toEqual([
      ['CreatePartitions on the secondary: d to 6', ['partition-count d']],
      [
        "AlterConfigs on the secondary: c retention.ms=1, cleanup.policy=delete (each topic's other overrides are read and sent unchanged: AlterConfigs replaces the whole set)",
        ['config-mismatch c'],
      ],
      [
        'CreateTopics on the secondary: a (3 partitions, replication factor 3, cleanup.policy=compact); b (1 partitions, replication factor 3)',
        ['topic-missing a', 'topic-missing b'],
      ],
      [
        `PUT ${URL}/connectors/c/config: its current config (GET ${URL}/connectors/c/config) with replication.policy.class=P, offset-syncs.topic.location=target`,
        ['mirror-policy', 'mirror-offset-syncs-location'],
      ],
      [`POST ${URL}/connectors/c/restart?includeTasks=true&onlyFailed=true`, ['mirror-not-running']],
    ]);
  });

  it('leaves what no call fixes to a person, notes left out', () => {
    expect(planFixes(findings).manual.map((m) => m.code)).toEqual(['replication-factor']);
  });
});

describe('applyFixes', () => {
  it('makes each call, reads a connector config afresh and keeps its other keys, and goes on after a failure', async () => {
    const secondary = new FakeReadinessCluster()
      .addTopic('c', 1, { configs: { 'retention.ms': '5' } })
      .addTopic('d', 2);
    const primary = new FakeReadinessCluster();
    const requests: Array<{ method: string; url: string; body: unknown }> = [];
    const fetch = async (url: string, init: RequestInit) => {
      requests.push({
        method: String(init.method),
        url,
        body: init.body ? JSON.parse(String(init.body)) : undefined,
      });
      if (url.endsWith('/restart?includeTasks=true&onlyFailed=true')) {
        return new Response(JSON.stringify({ message: 'worker rebalancing' }), { status: 409 });
      }
      const body =
        init.method === 'GET' ? { name: 'c', 'connector.class': 'X', 'source.cluster.alias': 'primary' } : {};
      return new Response(JSON.stringify(body), { status: 200 });
    };

    const results = await applyFixes(planFixes(findings), { admins: { primary, secondary }, fetch });

    expect(results.map((r) => r.outcome)).toEqual(['applied', 'applied', 'applied', 'applied', 'failed']);
    expect(results[4]?.error).toContain('answered 409');
    expect(secondary.topics.get('d')?.partitions).toBe(6);
    expect(secondary.topics.get('c')?.configs).toEqual({ 'retention.ms': '1', 'cleanup.policy': 'delete' });
    expect([...secondary.topics.keys()]).toEqual(['c', 'd', 'a', 'b']);
    expect(requests.find((r) => r.method === 'PUT')).toEqual({
      method: 'PUT',
      url: `${URL}/connectors/c/config`,
      body: {
        'connector.class': 'X',
        'source.cluster.alias': 'primary',
        'replication.policy.class': 'P',
        'offset-syncs.topic.location': 'target',
      },
    });
    expect(primary.calls).toEqual([]);
  });
});
