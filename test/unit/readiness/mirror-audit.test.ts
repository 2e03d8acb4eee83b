import { afterEach, describe, expect, it } from 'vitest';
import { replicationPolicy } from '#shared/kafka/replication-policy.ts';
import { readAivenMirror } from '#shared/readiness/aiven-mirror.ts';
import { applyFixes } from '#shared/readiness/apply-fixes.ts';
import type { Finding } from '#shared/readiness/finding.ts';
import { planFixes } from '#shared/readiness/fix-plan.ts';
import { readKafkaConnectMirror } from '#shared/readiness/kafka-connect-mirror.ts';
import { auditHeartbeats, auditMirror, type MirrorExpectations } from '#shared/readiness/mirror-audit.ts';
import { Redacted } from '#shared/store/redacted.ts';
import { type FakeAivenApi, startFakeAivenApi } from '../../fakes/aiven-api.ts';
import { FakeReadinessCluster } from './fakes.ts';

const URL = 'http://connect:8083';
const IDENTITY = 'org.apache.kafka.connect.mirror.IdentityReplicationPolicy';
const HARNESS_LIKE = {
  'replication.policy.class': IDENTITY,
  'offset-syncs.topic.location': 'target',
  'sync.group.offsets.enabled': 'true',
  topics: '.*',
  groups: '.*',
};
type Status = { connector: { state: string }; tasks: Array<{ id: number; state: string; trace?: string }> };
const running: Status = { connector: { state: 'RUNNING' }, tasks: [{ id: 0, state: 'RUNNING' }] };

/** A Kafka Connect worker answering `GET /connectors?expand=info&expand=status` with these connectors. */
function worker(connectors: Record<string, { config: Record<string, string>; status?: Status }>) {
  const requests: string[] = [];
  const fetch = async (url: string, init: RequestInit) => {
    requests.push(`${init.method} ${url}`);
    const body = Object.fromEntries(
      Object.entries(connectors).map(([name, c]) => [
        name,
        {
          info: { name, config: { name, ...c.config }, tasks: [], type: 'source' },
          status: { name, ...(c.status ?? running) },
        },
      ]),
    );
    return new Response(JSON.stringify(body), {
      status: 200,
      headers: { 'content-type': 'application/json' },
    });
  };
  return { fetch, requests };
}

function mm2(
  change: Partial<Record<'source' | 'checkpoint' | 'heartbeat', Record<string, string | undefined>>> = {},
  status: Partial<Record<'source' | 'checkpoint' | 'heartbeat', Status>> = {},
) {
  const out: Record<string, { config: Record<string, string>; status?: Status }> = {};
  for (const kind of ['source', 'checkpoint', 'heartbeat'] as const) {
    const config: Record<string, string> = { ...HARNESS_LIKE };
    for (const [k, v] of Object.entries(change[kind] ?? {})) {
      if (v === undefined) delete config[k];
      else config[k] = v;
    }
    out[`mm2-primary-secondary-${kind}`] = { config, ...(status[kind] ? { status: status[kind] } : {}) };
  }
  return out;
}

const expectations = (over: Partial<MirrorExpectations> = {}): MirrorExpectations => ({
  policy: replicationPolicy({ replicationPolicy: 'identity' }),
  topics: ['orders', 'payments'],
  watchedTopics: ['orders', 'payments'],
  groups: ['billing'],
  allTopics: false,
  offsetSyncsLocation: 'target',
  ...over,
});

async function judge(
  connectors: ReturnType<typeof mm2>,
  expect_: MirrorExpectations = expectations(),
): Promise<Finding[]> {
  const { fetch } = worker(connectors);
  const setup = await readKafkaConnectMirror({
    url: URL,
    connectorPrefix: 'mm2',
    sourceAlias: 'primary',
    targetAlias: 'secondary',
    fetch,
  });
  return auditMirror(setup, expect_);
}

describe('auditMirror on Kafka Connect', () => {
  it('finds nothing when the connectors match the deployment and run', async () => {
    expect(await judge(mm2())).toEqual([]);
  });

  it('reads every connector in one call', async () => {
    const w = worker(mm2());
    await readKafkaConnectMirror({
      url: URL,
      connectorPrefix: 'mm2',
      sourceAlias: 'primary',
      targetAlias: 'secondary',
      fetch: w.fetch,
    });
    expect(w.requests).toEqual([`GET ${URL}/connectors?expand=info&expand=status`]);
  });

  it('finds the identity policy missing on the checkpoint connector, and sets it there', async () => {
    const findings = await judge(mm2({ checkpoint: { 'replication.policy.class': undefined } }));
    expect(findings).toEqual([
      expect.objectContaining({
        code: 'mirror-policy',
        severity: 'error',
        found: 'replication.policy.class=org.apache.kafka.connect.mirror.DefaultReplicationPolicy',
        action: {
          kind: 'patch-connector',
          url: URL,
          connector: 'mm2-primary-secondary-checkpoint',
          set: { 'replication.policy.class': IDENTITY },
        },
      }),
    ]);
  });

  it('accepts an unset policy class under the default policy (it is MM2 default) but not another separator', async () => {
    const policy = replicationPolicy({ replicationPolicy: 'default', separator: '_' });
    const findings = await judge(
      mm2({
        source: { 'replication.policy.class': undefined },
        checkpoint: { 'replication.policy.class': undefined },
      }),
      expectations({ policy }),
    );
    expect(findings.map((f) => [f.code, f.found])).toEqual([
      ['mirror-policy', 'replication.policy.separator=.'],
      ['mirror-policy', 'replication.policy.separator=.'],
    ]);
  });

  it('covers every watched topic with one change per connector: names added to the allow list, excludes dropped', async () => {
    const findings = await judge(
      mm2({ source: { topics: 'orders|refunds', 'topics.exclude': '__.*, pay.*' } }),
      expectations({ topics: ['orders', 'payments', 'shipments'] }),
    );
    const set = { topics: 'orders|refunds, payments, shipments', 'topics.exclude': '__.*' };
    expect(findings.map((f) => [f.code, f.topic, f.found, f.action])).toEqual([
      [
        'mirror-topics-not-covered',
        'payments',
        "not matched by 'orders|refunds'",
        expect.objectContaining({ set }),
      ],
      [
        'mirror-topics-not-covered',
        'shipments',
        "not matched by 'orders|refunds'",
        expect.objectContaining({ set }),
      ],
    ]);
  });

  it('names the exclude entry that stops a topic (MM2 excludes *.replica by default)', async () => {
    const findings = await judge(mm2(), expectations({ topics: ['orders.replica'], watchedTopics: [] }));
    expect(findings).toEqual([
      expect.objectContaining({
        code: 'mirror-topics-not-covered',
        found: "excluded by '.*[\\-\\.]internal, .*\\.replica, __.*'",
        action: expect.objectContaining({ set: { 'topics.exclude': '.*[\\-\\.]internal, __.*' } }),
      }),
    ]);
  });

  it('cannot fix a watched topic MM2 counts as internal, and says why', async () => {
    const [f] = await judge(mm2(), expectations({ topics: ['audit.internal'], watchedTopics: [] }));
    expect(f).toMatchObject({
      code: 'mirror-topics-not-covered',
      found: 'MM2 never mirrors a topic it counts as internal',
    });
    expect(f?.action).toBeUndefined();
  });

  it('wants topics=.* on both connectors when the deployment mirrors everything', async () => {
    const findings = await judge(
      mm2({ source: { topics: 'orders, payments' }, checkpoint: { topics: 'orders, payments' } }),
      expectations({ allTopics: true }),
    );
    expect(findings.map((f) => [f.code, f.action])).toEqual([
      [
        'mirror-topics-not-covered',
        expect.objectContaining({ connector: 'mm2-primary-secondary-source', set: { topics: '.*' } }),
      ],
      [
        'mirror-topics-not-covered',
        expect.objectContaining({ connector: 'mm2-primary-secondary-checkpoint', set: { topics: '.*' } }),
      ],
    ]);
  });

  it('wants checkpoints and group offset sync on, and the consumer groups covered', async () => {
    const findings = await judge(
      mm2({
        checkpoint: {
          'emit.checkpoints.enabled': 'false',
          'sync.group.offsets.enabled': undefined,
          'groups.exclude': 'bill.*',
        },
      }),
    );
    expect(findings.map((f) => [f.code, f.found])).toEqual([
      ['mirror-checkpoints-disabled', 'emit.checkpoints.enabled=false'],
      ['mirror-group-offset-sync-disabled', 'sync.group.offsets.enabled=false'],
      ['mirror-groups-not-covered', "excluded by 'bill.*'"],
    ]);
  });

  it('wants the offset syncs where the deployment reads them, on the source and checkpoint connectors alike', async () => {
    const findings = await judge(mm2({ source: { 'offset-syncs.topic.location': undefined } }));
    expect(findings).toEqual([
      expect.objectContaining({
        code: 'mirror-offset-syncs-location',
        expected: expect.stringContaining('connector mm2-primary-secondary-source'),
        found: 'offset-syncs.topic.location=source',
        action: expect.objectContaining({ set: { 'offset-syncs.topic.location': 'target' } }),
      }),
    ]);
  });

  it('restarts a failed connector, resumes a paused one, and leaves a stopped one to a person (failback stops it)', async () => {
    const findings = await judge(
      mm2(
        {},
        {
          source: { connector: { state: 'RUNNING' }, tasks: [{ id: 0, state: 'FAILED', trace: 'boom' }] },
          checkpoint: { connector: { state: 'PAUSED' }, tasks: [{ id: 0, state: 'PAUSED' }] },
          heartbeat: { connector: { state: 'STOPPED' }, tasks: [] },
        },
      ),
    );
    expect(findings.map((f) => [f.code, f.found, f.action?.kind])).toEqual([
      ['mirror-not-running', 'connector RUNNING, tasks [0: FAILED]', 'restart-connector'],
      ['mirror-not-running', 'connector PAUSED, tasks [0: PAUSED]', 'resume-connector'],
      ['mirror-not-running', 'connector STOPPED, tasks []', undefined],
    ]);
    expect(findings[2]?.fix).toContain('failback stops the forward mirror');
  });

  it('names the connectors it found when one the deployment expects is missing', async () => {
    const connectors = mm2();
    delete connectors['mm2-primary-secondary-heartbeat'];
    expect(await judge(connectors)).toEqual([
      expect.objectContaining({
        code: 'mirror-connector-missing',
        expected: `connector mm2-primary-secondary-heartbeat on ${URL}`,
        found: 'connectors mm2-primary-secondary-checkpoint, mm2-primary-secondary-source',
      }),
    ]);
  });

  it('warns, without judging, when the worker cannot be read', async () => {
    const setup = await readKafkaConnectMirror({
      url: URL,
      connectorPrefix: 'mm2',
      sourceAlias: 'primary',
      targetAlias: 'secondary',
      fetch: async () => {
        throw new TypeError('fetch failed');
      },
    });
    expect(auditMirror(setup, expectations())).toEqual([
      expect.objectContaining({
        code: 'mirror-unreadable',
        severity: 'warning',
        found: expect.stringContaining('failed'),
      }),
    ]);
  });
});

describe('auditMirror on Aiven', () => {
  let api: FakeAivenApi | undefined;
  afterEach(async () => {
    await api?.close();
    api = undefined;
  });

  const read = (a: FakeAivenApi) =>
    readAivenMirror({
      apiUrl: a.url,
      project: 'acme',
      service: 'mm2',
      token: async () => new Redacted('tok'),
      sourceAlias: 'primary',
      targetAlias: 'secondary',
    });

  it('judges the flow, and the plan fixes it through the API in one partial update', async () => {
    api = await startFakeAivenApi({
      project: 'acme',
      service: 'mm2',
      token: 'tok',
      flows: [{ source_cluster: 'primary', target_cluster: 'secondary', enabled: true, topics: ['orders'] }],
    });
    const findings = auditMirror(await read(api), expectations());
    expect(findings.map((f) => f.code)).toEqual([
      'mirror-policy',
      'mirror-offset-syncs-location',
      'mirror-topics-not-covered',
      'mirror-group-offset-sync-disabled',
    ]);
    const applied = await applyFixes(planFixes(findings), {
      admins: { primary: new FakeReadinessCluster(), secondary: new FakeReadinessCluster() },
      aivenToken: async () => new Redacted('tok'),
    });
    expect(applied).toEqual([expect.objectContaining({ outcome: 'applied' })]);
    // The fake refuses unknown fields and wrong types as Aiven does, so the update's shape is checked too.
    expect(api.flows.get('primary/secondary')).toMatchObject({
      replication_policy_class: IDENTITY,
      offset_syncs_topic_location: 'target',
      topics: ['orders', 'payments'],
      sync_group_offsets_enabled: true,
    });
    expect(auditMirror(await read(api), expectations())).toEqual([]);
  });

  it('leaves a disabled flow to a person and reports a missing one', async () => {
    api = await startFakeAivenApi({
      project: 'acme',
      service: 'mm2',
      token: 'tok',
      flows: [{ source_cluster: 'primary', target_cluster: 'secondary', enabled: false }],
    });
    const [disabled] = auditMirror(await read(api), expectations());
    expect(disabled).toMatchObject({ code: 'mirror-not-running', found: 'enabled: false' });
    expect(disabled?.action).toBeUndefined();
    api.flows.clear();
    expect(auditMirror(await read(api), expectations())).toEqual([
      expect.objectContaining({ code: 'mirror-connector-missing', found: 'no such flow' }),
    ]);
  });
});

describe('auditHeartbeats', () => {
  const NOW = 1_000_000_000;
  const beats = (topic: string, source: string, target: string, at: number) =>
    new FakeReadinessCluster()
      .addTopic(topic, 1)
      .heartbeat(topic, source, target, at)
      .topics.get(topic)
      ?.records.get(0) ?? [];
  const input = (local: ReturnType<typeof beats>, remote: ReturnType<typeof beats> = []) => ({
    sourceAlias: 'primary',
    targetAlias: 'secondary',
    targetRole: 'secondary' as const,
    local: { topic: 'heartbeats', records: [{ partition: 0, records: local }] },
    remote: { topic: 'primary.heartbeats', records: [{ partition: 0, records: remote }] },
    now: NOW,
    maxAgeMs: 60_000,
  });

  it("passes on the flow's own recent heartbeat, or a recent copied one", () => {
    expect(auditHeartbeats(input(beats('heartbeats', 'primary', 'secondary', NOW - 5_000)))).toEqual([]);
    expect(auditHeartbeats(input([], beats('primary.heartbeats', 'x', 'y', NOW - 5_000)))).toEqual([]);
  });

  it("does not count another flow's heartbeat, and names the newest when it is too old", () => {
    expect(auditHeartbeats(input(beats('heartbeats', 'other', 'secondary', NOW)))).toEqual([
      expect.objectContaining({ code: 'mirror-heartbeats-stale', found: 'none' }),
    ]);
    expect(auditHeartbeats(input(beats('heartbeats', 'primary', 'secondary', NOW - 61_000)))).toEqual([
      expect.objectContaining({ found: `the newest from ${new Date(NOW - 61_000).toISOString()}` }),
    ]);
  });
});
