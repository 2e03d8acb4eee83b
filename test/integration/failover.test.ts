import { ListSecretVersionIdsCommand } from '@aws-sdk/client-secrets-manager';
import { GetParameterHistoryCommand } from '@aws-sdk/client-ssm';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountingAws, createDeployment, type Deployment } from '#harness/fixtures/failover-deployment.ts';
import { kafkaClient } from '#harness/kafka-clients.ts';
import { produceNumbered } from '#harness/produce.ts';
import { uniqueName } from '#harness/unique-name.ts';
import { waitFor } from '#harness/wait-for.ts';
import { routeOf } from '#shared/client/topic-routes.ts';
import { LockHeldError } from '#shared/errors.ts';
import { type FailoverInvocation, type FailoverResult, runFailover } from '#shared/failover/failover.ts';
import { parseFailoverInput } from '#shared/failover/input.ts';
import { buildKafkaConfig } from '#shared/kafka/client-factory.ts';
import { createClusterClient } from '#shared/kafka/cluster-client.ts';
import { readCheckpoints } from '#shared/kafka/mm2-internal-topics.ts';
import { type ActiveRead, readActiveOnce, type Stores } from '#shared/store/active-config.ts';
import { alarmEvent } from '../unit/failover/payloads.ts';
import { harness } from './shared-harness.ts';

// A busy 2-core machine running several JVMs: generous deadlines, never fixed sleeps.
const MIRROR_DEADLINE_MS = 180_000;
const BATCH_A = 60;
const BATCH_B = 40;

class Crash extends Error {}

function alarmTrigger(invocationId: string): FailoverInvocation {
  return { ...parseFailoverInput({ ...alarmEvent, id: invocationId }), invocationId };
}

/** Every epoch the active parameter ever held, from SSM's own history: one switch means [0, 1]. */
async function parameterEpochs(d: Deployment, ssm: CountingAws['ssm']): Promise<number[]> {
  const out = await ssm.send(new GetParameterHistoryCommand({ Name: d.paths.activeParameter }));
  return (out.Parameters ?? []).map((p) => (JSON.parse(p.Value ?? '{}') as { epoch: number }).epoch);
}

async function secretVersions(d: Deployment, aws: CountingAws): Promise<number> {
  const out = await aws.secretsManager.send(
    new ListSecretVersionIdsCommand({ SecretId: d.paths.activeCredentialsSecret, IncludeDeprecated: true }),
  );
  return out.Versions?.length ?? 0;
}

/**
 * Polls the active configuration the way clients do and checks each consistent read *independently* of the
 * epoch check inside readActiveOnce: the URI and the credentials must belong to the same cluster.
 */
function startReader(stores: Stores, d: Deployment, primaryBootstrap: string) {
  const state = { reads: 0, torn: 0, mismatched: [] as string[], epochs: new Set<number>(), stop: false };
  const loop = (async () => {
    while (!state.stop) {
      const read: ActiveRead = await readActiveOnce(stores, d.paths);
      state.reads += 1;
      if (read.kind === 'torn') state.torn += 1;
      if (read.kind === 'consistent') {
        const c = read.config;
        const creds = read.credentials.reveal();
        state.epochs.add(c.epoch);
        const coherent =
          c.cluster === 'primary'
            ? c.bootstrapServers.join(',') === primaryBootstrap &&
              creds.cert === undefined &&
              creds.cluster === 'primary'
            : c.bootstrapServers.join(',') !== primaryBootstrap &&
              creds.cert === d.secondaryCredentials.cert &&
              creds.key === d.secondaryCredentials.key &&
              creds.cluster === 'secondary';
        if (!coherent || creds.epoch !== c.epoch) state.mismatched.push(`epoch ${c.epoch} ${c.cluster}`);
      }
    }
  })();
  return {
    state,
    stop: async () => {
      state.stop = true;
      await loop;
    },
  };
}

describe('failover with the primary killed (real Kafka, MirrorMaker 2, moto)', () => {
  const h = harness();
  const { info } = h;
  const aws = new CountingAws(info);
  const topic = uniqueName('orders');
  const mirrored = `${info.clusters.primary.alias}${info.mirror.direction.separator}${topic}`;
  /** MM2 synced this group's offsets to the secondary. */
  const syncedGroup = uniqueName('billing');
  /** This group's offsets are gone from the secondary (as with MM2's default, sync off): failover commits them. */
  const unsyncedGroup = uniqueName('shipping');
  const deployments: Deployment[] = [];
  let main: Deployment;
  let concurrent: Deployment;
  let interrupted: Deployment;
  let primaryAdmin: Admin;
  let secondaryAdmin: Admin;
  /** Batch a: read by both groups on the primary; batch b: not read yet when the primary died. */
  const read = new Map<'a' | 'b', Set<string>>();
  let mirrorStopped = false;
  let primaryKilled = false;

  beforeAll(async () => {
    primaryAdmin = kafkaClient(info, 'primary').admin();
    secondaryAdmin = kafkaClient(info, 'secondary').admin();
    await Promise.all([primaryAdmin.connect(), secondaryAdmin.connect()]);

    // Batch A on the primary, mirrored; both groups read all of it and commit at its end. Committing at the log
    // end makes MM2's translation exact (the last offset sync is right behind it); offsets far behind the end are
    // translated conservatively or not at all (KAFKA-14666), which a test cannot wait for.
    await primaryAdmin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    const batchA = await produceNumbered(kafkaClient(info, 'primary'), topic, 'a', BATCH_A);
    await waitForMirrored(secondaryAdmin, mirrored, BATCH_A);
    const highs = await primaryAdmin.fetchTopicOffsets(topic);
    const committed = highs.map((p) => ({ partition: p.partition, offset: p.high }));
    for (const group of [syncedGroup, unsyncedGroup]) {
      await primaryAdmin.setOffsets({ groupId: group, topic, partitions: committed });
    }

    // MM2 checkpoints both groups at their committed offsets, and syncs them into the secondary (KIP-545).
    const plainSecondary = createClusterClient({
      clientId: 'failover-test',
      brokers: [info.clusters.secondary.bootstrapServers],
      connectionTimeout: 3_000,
      requestTimeout: 10_000,
      logLevel: logLevel.NOTHING,
    });
    try {
      const checkpointsTopic = `${info.clusters.primary.alias}${info.mirror.direction.separator}checkpoints.internal`;
      let seen = '';
      await waitFor(
        async () => {
          const cps = await readCheckpoints(plainSecondary, checkpointsTopic, {
            groups: [syncedGroup, unsyncedGroup],
          });
          seen = JSON.stringify([...cps.byGroup], (_k, v) => (typeof v === 'bigint' ? Number(v) : v));
          return [syncedGroup, unsyncedGroup].every((g) =>
            committed.every((c) =>
              (cps.byGroup.get(g) ?? []).some(
                (cp) => cp.partition === c.partition && Number(cp.upstreamOffset) === Number(c.offset),
              ),
            ),
          );
        },
        { timeoutMs: MIRROR_DEADLINE_MS, what: 'MM2 checkpoints of both groups at their committed offsets' },
      ).catch((e: unknown) => {
        throw new Error(`${(e as Error).message}; committed ${JSON.stringify(committed)}, last seen ${seen}`);
      });
    } finally {
      await plainSecondary.close();
    }
    for (const group of [syncedGroup, unsyncedGroup]) {
      await waitFor(
        async () => {
          const [o] = await secondaryAdmin.fetchOffsets({ groupId: group, topics: [mirrored] });
          return o?.partitions.length === highs.length && o.partitions.every((p) => Number(p.offset) >= 0);
        },
        { timeoutMs: MIRROR_DEADLINE_MS, what: `MM2 syncing the offsets of ${group} to the secondary` },
      );
    }

    // Batch B: what the groups have not read yet when the primary dies (mirrored before it does).
    const batchB = await produceNumbered(kafkaClient(info, 'primary'), topic, 'b', BATCH_B);
    await waitForMirrored(secondaryAdmin, mirrored, BATCH_A + BATCH_B);
    read.set('a', new Set(batchA));
    read.set('b', new Set(batchB));

    for (const overrides of [{ consumerGroups: [syncedGroup, unsyncedGroup] }, {}, {}]) {
      deployments.push(await createDeployment(info, aws, { topics: [topic], ...overrides }));
    }
    [main, concurrent, interrupted] = deployments as [Deployment, Deployment, Deployment];
    // The scheduled probe measured a healthy replication before the disaster.
    for (const d of deployments) {
      await waitFor(
        async () => {
          const r = await d.probe();
          return r.replication[0]?.backlogRecords !== undefined && r.replication[0]?.lagSeconds !== undefined;
        },
        { timeoutMs: 60_000, what: `a complete replication measurement for ${d.config.name}` },
      );
    }

    // MM2 stops, the shipping group's synced offsets are lost, the primary dies, the probe sees it.
    await h.stopMirror();
    mirrorStopped = true;
    await secondaryAdmin.deleteGroups([unsyncedGroup]);
    await h.kill('primary');
    primaryKilled = true;
    for (const d of deployments) {
      const r = await d.probe();
      expect(r.clusters.primary.verdict).toBe('down');
    }
  }, 600_000);

  afterAll(async () => {
    // Leave a healthy harness for the files after this one, whatever happened here.
    try {
      if (primaryKilled) await h.restart('primary');
    } finally {
      if (mirrorStopped) await h.startMirror();
      await Promise.all([primaryAdmin?.disconnect(), secondaryAdmin?.disconnect()]);
      await Promise.all(deployments.map((d) => d.close()));
      aws.destroy();
    }
  }, 300_000);

  it('moves clients to the secondary with its credentials, never showing a reader a mismatched pair, and the groups resume there without skipping a record', async () => {
    // Arrange
    const reader = startReader(main.stores, main, info.clusters.primary.bootstrapServers);
    aws.reset();

    // Act: the composite alarm's event, as EventBridge delivers it.
    let result: FailoverResult;
    try {
      result = await runFailover(alarmTrigger('ev-main'), main.deps());
    } finally {
      await reader.stop();
    }

    // Assert: the switch.
    expect(result).toMatchObject({ status: 'switched', epoch: 1, from: { cluster: 'primary', epoch: 0 } });
    const active = await readActiveOnce(main.stores, main.paths);
    expect(active.kind).toBe('consistent');
    if (active.kind !== 'consistent') return;
    expect(active.config).toMatchObject({
      epoch: 1,
      cluster: 'secondary',
      alias: info.clusters.secondary.alias,
      bootstrapServers: [info.clusters.secondary.tlsBootstrapServers],
      securityProtocol: 'SSL',
    });
    // The parameter routes by rule (format 2): the topic's route is the mirrored copy.
    expect(routeOf(active.config, topic)).toEqual({ produce: mirrored, subscribe: [mirrored] });
    expect(active.credentials.reveal()).toEqual({
      epoch: 1,
      cluster: 'secondary',
      ...main.secondaryCredentials,
    });
    expect((await main.stores.parameters.get(main.paths.activeBootstrapParameter))?.value).toBe(
      info.clusters.secondary.tlsBootstrapServers,
    );
    // Assert: the reader.
    expect(reader.state.mismatched).toEqual([]);
    expect([...reader.state.epochs].sort()).toEqual([0, 1]);
    expect(reader.state.reads).toBeGreaterThan(10);
    // Assert: the report and the notification.
    if (result.status !== 'switched') return;
    // MM2 synced one group already (or synced an older, more conservative checkpoint: then it is moved on);
    // the other's offsets were lost on the secondary, so the failover committed them.
    const outcome = new Map(result.groups.map((g) => [g.group, g]));
    expect(['up-to-date', 'committed']).toContain(outcome.get(syncedGroup)?.outcome);
    expect(outcome.get(unsyncedGroup)).toMatchObject({ outcome: 'committed' });
    expect(outcome.get(unsyncedGroup)?.committed.map((c) => c.previous)).toEqual([null, null]);
    // The primary is down: the probe kept the totals of its last complete measurement, not the per-topic figures.
    expect(result.rpo[0]).toMatchObject({ topic, backlogRecords: null });
    expect(result.rpoTotal.backlogRecords).toEqual(expect.any(Number));
    expect(aws.published).toHaveLength(1);
    const message = aws.published[0]?.Message ?? '';
    expect(message).toContain(`all topics: ${result.rpoTotal.backlogRecords} records`);
    expect(message).toContain(`from primary (${info.clusters.primary.alias}) to secondary`);
    expect(message).toContain(`${unsyncedGroup}: offsets translated and committed`);
    for (const secret of [main.secondaryCredentials.key, main.secondaryCredentials.cert]) {
      expect(message).not.toContain(secret.split('\n')[1]);
      expect(JSON.stringify(result)).not.toContain(secret.split('\n')[1]);
    }

    // Assert: each group, connecting with nothing but the active configuration, resumes where it stopped.
    const activeKafka = new Kafka({
      ...buildKafkaConfig(active.config, active.credentials, {
        clientId: 'failover-test-app',
        connectTimeoutMs: 3_000,
        requestTimeoutMs: 10_000,
        retries: 3,
      }),
      logLevel: logLevel.NOTHING,
    });
    const [a, b] = [read.get('a') ?? new Set<string>(), read.get('b') ?? new Set<string>()];
    for (const group of [syncedGroup, unsyncedGroup]) {
      const seen = await consumeFromCommitted(activeKafka, mirrored, group, b);
      expect(
        [...b].filter((v) => !seen.has(v)),
        `${group}: records skipped`,
      ).toEqual([]);
      // It did not start over: translation may re-deliver (MM2 is at least once), never the whole history.
      expect(
        [...a].filter((v) => seen.has(v)).length,
        `${group}: records of batch a read again`,
      ).toBeLessThan(a.size);
    }
  }, 300_000);

  it('makes exactly one switch out of ten concurrent invocations (nine alarm events and a manual call)', async () => {
    // Arrange: each invocation with its own clients, as ten Lambda containers would have.
    const invocations = Array.from({ length: 10 }, (_, i) =>
      i === 9
        ? {
            trigger: {
              ...parseFailoverInput({ action: 'failover', reason: 'primary is gone', requestedBy: 'oncall' }),
              invocationId: `manual-${i}`,
            },
            deps: concurrent.deps(),
          }
        : { trigger: alarmTrigger(`ev-${i}`), deps: concurrent.deps() },
    );
    aws.reset();

    // Act
    const settled = await Promise.allSettled(invocations.map((x) => runFailover(x.trigger, x.deps)));

    // Assert
    const outcomes = settled.map((s) =>
      s.status === 'fulfilled'
        ? s.value.status
        : s.reason instanceof LockHeldError
          ? 'lock-held'
          : String(s.reason),
    );
    expect(outcomes.filter((o) => o === 'switched')).toHaveLength(1);
    expect(outcomes.every((o) => ['switched', 'lock-held', 'already-active'].includes(o))).toBe(true);
    expect(await parameterEpochs(concurrent, aws.ssm)).toEqual([0, 1]);
    expect(await secretVersions(concurrent, aws)).toBe(2);
    expect(aws.published.filter((p) => p.Subject?.includes('switched'))).toHaveLength(1);
  }, 300_000);

  it('completes a switch interrupted between the secret and the parameter, without a second switch', async () => {
    // Arrange: the first invocation dies right after writing the secret and never releases its lock.
    const base = interrupted.deps({ leaseMs: 3_000 });
    const crashing: Stores = {
      secrets: base.stores.secrets,
      parameters: {
        get: (name) => base.stores.parameters.get(name),
        put: async (name, value, options) => {
          if (name === interrupted.paths.activeParameter) throw new Crash('the process died');
          return base.stores.parameters.put(name, value, options);
        },
      },
    };
    const dying = {
      ...base,
      stores: crashing,
      lock: { acquire: base.lock.acquire.bind(base.lock), release: async () => {} },
    };
    await expect(runFailover(alarmTrigger('ev-crash'), dying)).rejects.toBeInstanceOf(Crash);
    const torn = await readActiveOnce(interrupted.stores, interrupted.paths);

    // Act: the next trigger, after the dead holder's lease ran out.
    const next = interrupted.deps();
    await expect(runFailover(alarmTrigger('ev-next-0'), next)).rejects.toBeInstanceOf(LockHeldError);
    let attempt = 0;
    const result = await waitFor(
      async () => {
        attempt += 1;
        return await runFailover(alarmTrigger(`ev-next-${attempt}`), next).catch((e: unknown) => {
          if (e instanceof LockHeldError) return undefined;
          throw e;
        });
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'the lease of the crashed invocation to run out' },
    );

    // Assert
    expect(torn).toEqual({ kind: 'torn', parameterEpoch: 0, secretEpoch: 1 });
    expect(result).toMatchObject({ status: 'switched', resumed: true, epoch: 1 });
    const active = await readActiveOnce(interrupted.stores, interrupted.paths);
    expect(active.kind === 'consistent' && active.config.cluster).toBe('secondary');
    expect(await parameterEpochs(interrupted, aws.ssm)).toEqual([0, 1]);
    // The first activation, the crashed run's secret, and the resumed run's: a resumed run writes every store of
    // its claim again (the same epoch and value), since a stalled writer's late write may have changed one since.
    expect(await secretVersions(interrupted, aws)).toBe(3);
  }, 300_000);
});

async function waitForMirrored(admin: Admin, topic: string, atLeast: number): Promise<void> {
  await waitFor(
    async () => {
      const offsets = await admin.fetchTopicOffsets(topic);
      // At least: MM2 delivers at least once, a task restart may copy a record twice.
      return offsets.reduce((n, p) => n + Number(p.high), 0) >= atLeast;
    },
    { timeoutMs: MIRROR_DEADLINE_MS, what: `${atLeast} records mirrored to ${topic}` },
  );
}

/**
 * A consumer of `group` that starts from the group's committed offsets, or from the *end* when there are none
 * (auto.offset.reset=latest): a group whose offsets were not translated sees nothing and the test fails.
 */
async function consumeFromCommitted(
  kafka: Kafka,
  topic: string,
  groupId: string,
  expected: ReadonlySet<string>,
): Promise<Set<string>> {
  const seen = new Set<string>();
  const consumer = kafka.consumer({
    groupId,
    sessionTimeout: 10_000,
    heartbeatInterval: 1_000,
    maxWaitTimeInMs: 500,
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: false });
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.add(String(message.value));
      },
    });
    await waitFor(() => [...expected].every((v) => seen.has(v)), {
      timeoutMs: 60_000,
      what: `group ${groupId} reading its ${expected.size} unread records on ${topic}`,
    }).catch(() => undefined);
    return seen;
  } finally {
    await consumer.disconnect();
  }
}
