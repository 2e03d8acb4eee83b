import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsClientConfig } from '#harness/aws-clients.ts';
import { consumeUntil } from '#harness/consume.ts';
import { type Harness, startHarness } from '#harness/harness.ts';
import { kafkaClient } from '#harness/kafka-clients.ts';
import { produceNumbered } from '#harness/produce.ts';
import { uniqueName } from '#harness/unique-name.ts';
import { waitFor } from '#harness/wait-for.ts';
import { deploymentPaths } from '#shared/config/paths.ts';
import { type DeploymentConfig, deploymentConfigSchema } from '#shared/config/schema.ts';
import { LockHeldError, RefusedError, ValidationError } from '#shared/errors.ts';
import { type FailbackWiring, failbackDependencies } from '#shared/failback/dependencies.ts';
import { type FailbackResult, runFailback } from '#shared/failback/failback.ts';
import { PROVENANCE } from '#shared/failback/partition-copy.ts';
import { parseFailbackRequest } from '#shared/failback/payload.ts';
import { failoverDependencies } from '#shared/failover/dependencies.ts';
import { runFailover } from '#shared/failover/failover.ts';
import { initialiseActiveConfig } from '#shared/failover/initialise-active.ts';
import { lastMeasuredLag } from '#shared/failover/last-lag.ts';
import { ClientCache, KafkaClientCache } from '#shared/kafka/client-factory.ts';
import type { ClusterClient } from '#shared/kafka/cluster-client.ts';
import { readActiveOnce } from '#shared/store/active-config.ts';
import { Redacted } from '#shared/store/redacted.ts';
import { SecretsManagerStore } from '#shared/store/secrets-manager-store.ts';
import { SsmParameterStore } from '#shared/store/ssm-parameter-store.ts';

// The whole active-passive story on an own harness (identity policy), so that killing the primary disturbs no
// other test file: producers on the primary, an un-replicated tail, the primary killed, failover, producers on
// the secondary, the primary back, failback through every phase.

const quiet = { info: () => {}, warn: () => {}, error: () => {} };

async function highs(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

/** A record's id: its value up to the padding that makes some batches large. */
const id = (value: unknown): string => String(value).split(':')[0] ?? '';

/**
 * Read as the application's consumer group would and commit what was read. (The harness's `consumeUntil`
 * declares a `commit` option but does not commit, so the commit is done here, once the group is empty.)
 */
async function readAsGroup(
  kafka: Kafka,
  topic: string,
  group: string,
  done: (values: string[]) => boolean,
  what: string,
): Promise<string[]> {
  const records = await consumeUntil(kafka, topic, (r) => done(r.map((x) => id(x.value))), {
    timeoutMs: 90_000,
    what,
    groupId: group,
  });
  const next = new Map<number, number>();
  for (const r of records) next.set(r.partition, Math.max(next.get(r.partition) ?? 0, Number(r.offset) + 1));
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.setOffsets({
      groupId: group,
      topic,
      partitions: [...next].map(([partition, offset]) => ({ partition, offset: String(offset) })),
    });
  } finally {
    await admin.disconnect();
  }
  return records.map((r) => id(r.value));
}

async function readAll(kafka: Kafka, topic: string, what: string) {
  const total = await highs(kafka, topic);
  const admin = kafka.admin();
  await admin.connect();
  const low = await admin
    .fetchTopicOffsets(topic)
    .then((ps) => ps.reduce((n, p) => n + Number(p.low), 0))
    .finally(() => admin.disconnect());
  const expected = total - low;
  if (expected === 0) return [];
  return consumeUntil(kafka, topic, (r) => r.length >= expected, { timeoutMs: 90_000, what });
}

describe('failback, active-passive with IdentityReplicationPolicy, on the harness', () => {
  let h: Harness;
  let config: DeploymentConfig;
  let wiring: FailbackWiring;
  const aws: { ssm?: SSMClient; sm?: SecretsManagerClient; ddb?: DynamoDBClient; sns?: SNSClient } = {};
  const kafkaCache = new KafkaClientCache();
  const clusterClients = new ClientCache<ClusterClient>((c) => c.close());
  const topic = uniqueName('orders');
  const group = uniqueName('billing');
  const table = uniqueName('mm2-failover');

  beforeAll(async () => {
    // offset.lag.max 5 (not the harness's exact 0): checkpoints lag like in production, so translated offsets
    // are conservative and the consumer may see duplicates, which the test counts.
    h = await startHarness({ policy: 'identity', tls: false, offsetLagMax: 5 });
    const { connectUrl } = await h.startReverseWorker();
    const awsConfig = awsClientConfig(h.info);
    aws.ssm = new SSMClient(awsConfig);
    aws.sm = new SecretsManagerClient(awsConfig);
    aws.ddb = new DynamoDBClient(awsConfig);
    aws.sns = new SNSClient(awsConfig);
    await aws.ddb.send(
      new CreateTableCommand({
        TableName: table,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
      }),
    );
    config = deploymentConfigSchema.parse({
      name: uniqueName('fb').slice(0, 40),
      mode: 'active-passive',
      replicationPolicy: 'identity',
      clusters: {
        primary: { alias: 'primary', auth: 'none', expectedBrokers: 1 },
        secondary: { alias: 'secondary', auth: 'none', expectedBrokers: 1 },
      },
      topics: [topic],
      consumerGroups: [group],
      mirror: {
        kind: 'kafka-connect',
        forwardUrl: h.info.mirror.connectUrl,
        reverseUrl: connectUrl,
        connectorPrefix: 'mm2',
      },
      failback: {
        quarantineTopic: uniqueName('quarantine'),
        stableSeconds: 0,
        switchStageSeconds: 2,
        catchUpMaxLagRecords: 0,
      },
    });
    const stores = { parameters: new SsmParameterStore(aws.ssm), secrets: new SecretsManagerStore(aws.sm) };
    const paths = deploymentPaths(config.name);
    for (const role of ['primary', 'secondary'] as const) {
      await stores.parameters.put(
        paths.clusterParameter(role),
        JSON.stringify({
          alias: role,
          bootstrapServers: h.info.clusters[role].bootstrapServers,
          securityProtocol: 'PLAINTEXT',
        }),
      );
      await stores.secrets.put(paths.clusterSecret(role), new Redacted('{}'));
    }
    await initialiseActiveConfig({ requestedBy: 'test' }, { config, stores, paths });
    wiring = failbackDependencies(
      { config, table },
      {
        ssm: aws.ssm,
        secretsManager: aws.sm,
        dynamodb: aws.ddb,
        regional: () => ({ ssm: aws.ssm as SSMClient, secretsManager: aws.sm as SecretsManagerClient }),
        kafka: kafkaCache,
        clusterClients,
      },
      { logger: quiet },
    );
  }, 600_000);

  afterAll(async () => {
    await wiring?.close();
    await kafkaCache.closeAll();
    await clusterClients.closeAll();
    await h?.stop();
  }, 120_000);

  it('accounts for every acknowledged record, switches clients back and restarts the forward mirror', async () => {
    const primary = kafkaClient(h.info, 'primary');
    const secondary = kafkaClient(h.info, 'secondary');
    const stores = wiring.deps.stores;
    const paths = deploymentPaths(config.name);

    // Arrange: records on the primary, mirrored; the group reads them there; then a tail that never replicates.
    const admin = primary.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    await admin.disconnect();
    const a = await produceNumbered(primary, topic, 'a', 100);
    await waitFor(async () => (await highs(secondary, topic).catch(() => 0)) >= 100, {
      timeoutMs: 120_000,
      what: 'batch a mirrored to the secondary',
    });
    const seen: string[] = [];
    seen.push(
      ...(await readAsGroup(primary, topic, group, (v) => v.length >= 100, 'batch a read by the group')),
    );
    const secondaryAdmin = secondary.admin();
    await secondaryAdmin.connect();
    await waitFor(
      async () => {
        const o = await secondaryAdmin.fetchOffsets({ groupId: group, topics: [topic] });
        return (o[0]?.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0) ?? 0) > 0;
      },
      { timeoutMs: 120_000, what: 'the group offsets synced to the secondary' },
    );
    await secondaryAdmin.disconnect();
    await h.pauseMirror();
    // 30 records of 40 KB: salvage must split its writes below the broker's 1 MiB batch limit.
    const b = await produceNumbered(primary, topic, 'b', 30, { padBytes: 40_000 });
    await h.kill('primary');

    // Failover, through the failover function (forced: the primary is down, the lag figure comes from no probe).
    const failover = failoverDependencies(
      {
        config,
        table,
        topicArn: (await aws.sns?.send(new CreateTopicCommand({ Name: uniqueName('fo') })))?.TopicArn ?? '',
      },
      {
        ssm: aws.ssm as SSMClient,
        secretsManager: aws.sm as SecretsManagerClient,
        dynamodb: aws.ddb as DynamoDBClient,
        sns: aws.sns as SNSClient,
        regional: () => ({ ssm: aws.ssm as SSMClient, secretsManager: aws.sm as SecretsManagerClient }),
        kafka: kafkaCache,
        clusterClients,
      },
      {
        logger: quiet,
        // The failover's preflight re-probes; this test forces the switch, so a plain health check will do.
        reprobe: async (role) =>
          (await wiring.deps[role].health()).healthy
            ? { verdict: 'up', reasons: [] }
            : { verdict: 'down', reasons: ['not answering'] },
        readLag: lastMeasuredLag(stores, deploymentPaths(config.name)),
      },
    );
    const fo = await runFailover(
      {
        trigger: 'manual',
        reason: 'primary killed',
        requestedBy: 'test',
        dryRun: false,
        force: true,
        invocationId: 'fo-1',
      },
      failover,
    );
    expect(fo.status).toBe('switched');

    // Clients on the secondary: producers write, the group reads on.
    const c = await produceNumbered(secondary, topic, 'c', 50);
    seen.push(
      ...(await readAsGroup(
        secondary,
        topic,
        group,
        (v) => v.filter((x) => x.startsWith('c-')).length >= 50,
        'batch c read by the group on the secondary',
      )),
    );
    await h.restart('primary');

    // Act: failback, invoked like an operator would until it completes.
    // Parsed first, as the handler's input middleware does.
    const invoke = async (payload: Record<string, unknown>, n: number): Promise<FailbackResult> =>
      runFailback(
        parseFailbackRequest({
          action: 'failback',
          requestedBy: 'test',
          reason: 'primary repaired',
          ...payload,
        }),
        wiring.deps,
        wiring.invocation(`fb-${n}`, Date.now() + 150_000),
      );
    await expect(invoke({ phase: 'switch' }, 0)).rejects.toBeInstanceOf(RefusedError);
    await expect(invoke({ phase: 'switch' }, 0)).rejects.toMatchObject({
      reasons: [{ code: 'phase-out-of-order' }],
    });
    await expect(invoke({ phase: 'salvage', confirm: 'yes' }, 0)).rejects.toBeInstanceOf(ValidationError);
    const unchanged = await readActiveOnce(stores, paths);
    expect(unchanged.kind === 'consistent' && unchanged.config.epoch).toBe(1);
    expect((await wiring.invocation('probe', 0).journal.load()).kind).toBe('none');
    const plan = await invoke({ phase: 'plan' }, 0);
    expect((await wiring.invocation('probe', 0).journal.load()).kind).toBe('none');
    const planned = plan.plan as { salvage: { totalRemaining: number } };
    expect(planned.salvage.totalRemaining).toBe(30);
    // Two operators at once: the DynamoDB lock lets one run and refuses the other, naming the holder.
    const [one, other] = await Promise.allSettled([invoke({}, 1), invoke({}, 2)]);
    const refusedOne = [one, other].filter((x) => x.status === 'rejected');
    expect(refusedOne).toHaveLength(1);
    expect((refusedOne[0] as PromiseRejectedResult).reason).toBeInstanceOf(LockHeldError);
    const results: FailbackResult[] = [one, other]
      .filter((x): x is PromiseFulfilledResult<FailbackResult> => x.status === 'fulfilled')
      .map((x) => x.value);
    for (let n = 3; n <= 15; n += 1) {
      const last = results[results.length - 1];
      const confirm = last?.waiting?.waitingFor === 'confirm';
      const r = await invoke(confirm ? { phase: 'purge', confirm: true } : {}, n);
      results.push(r);
      if (r.status === 'completed') break;
    }
    const final = results[results.length - 1];
    expect(final?.status, JSON.stringify(results.map((r) => [r.status, r.nextStep]))).toBe('completed');
    const ran = results.flatMap((r) => r.ran);
    expect(ran.map((r) => r.phase)).toEqual([
      'prepare',
      'salvage',
      'reverse',
      'purge',
      'catch-up',
      'switch',
      'restore',
    ]);

    // Assert: the tail is in quarantine, exactly once, with key, headers and timestamp.
    const quarantine = await readAll(secondary, config.failback.quarantineTopic, 'quarantine');
    expect(quarantine.map((r) => id(r.value)).sort()).toEqual([...b].sort());
    for (const r of quarantine) {
      expect(String(r.key)).toBe(id(r.value));
      expect(r.value?.length).toBe(String(r.key).length + 40_001);
      expect(String(r.headers?.origin)).toBe('b');
      expect(String(r.headers?.[PROVENANCE.cluster])).toBe('primary');
    }
    const salvage = ran.find((r) => r.phase === 'salvage')?.summary as { totalSalvaged: number };
    expect(salvage.totalSalvaged).toBe(30);

    // Every record acknowledged on either cluster is on the primary or in quarantine.
    const onPrimary = new Set(
      (await readAll(primary, topic, 'the primary after failback')).map((r) => id(r.value)),
    );
    const inQuarantine = new Set(quarantine.map((r) => id(r.value)));
    const missing = [...a, ...b, ...c].filter((v) => !onPrimary.has(v) && !inQuarantine.has(v));
    expect(missing).toEqual([]);
    // The stale copies were purged: nothing of batch a appears twice on the primary.
    const primaryValues = (await readAll(primary, topic, 'the primary, again')).map((r) => id(r.value));
    expect(primaryValues.length).toBe(new Set(primaryValues).size);

    // Clients read and write on the primary.
    const active = await readActiveOnce(stores, paths);
    expect(active.kind === 'consistent' && active.config.cluster).toBe('primary');
    expect(active.kind === 'consistent' && active.config.epoch).toBe(3);
    expect(active.kind === 'consistent' && active.config.holdback).toBeUndefined();
    const d = await produceNumbered(primary, topic, 'd', 20);
    seen.push(
      ...(await readAsGroup(
        primary,
        topic,
        group,
        (v) => d.every((x) => v.includes(x)),
        'batch d read by the group on the primary',
      )),
    );
    const counts = new Map<string, number>();
    for (const v of seen) counts.set(v, (counts.get(v) ?? 0) + 1);
    const duplicates = [...counts.values()].filter((n) => n > 1).length;
    console.info(
      `failback round trip: the group saw ${seen.length} records, ${duplicates} of them more than once`,
    );
    expect(new Set(seen)).toEqual(new Set([...a, ...c, ...d]));

    // The forward mirror runs again, from the producer cut: d reaches the secondary, nothing else is re-copied
    // beyond what restore reported.
    const restore = ran.find((r) => r.phase === 'restore')?.summary as {
      duplicatesOnSecondary: number | null;
    };
    console.info(
      `failback round trip: restore reported ${restore.duplicatesOnSecondary} duplicate(s) on the secondary`,
    );
    await waitFor(async () => (await highs(secondary, topic)) >= 170 + (restore.duplicatesOnSecondary ?? 0), {
      timeoutMs: 120_000,
      what: 'batch d mirrored to the secondary',
    });
    const onSecondary = (await readAll(secondary, topic, 'the secondary after restore')).map((r) =>
      id(r.value),
    );
    expect(d.every((v) => onSecondary.includes(v))).toBe(true);
    expect(onSecondary.length).toBe(170 + (restore.duplicatesOnSecondary ?? 0));
  }, 900_000);

  it('salvages nothing that the forward mirror copied by itself once the primary was back, on a second failback reusing the connectors', async () => {
    // Arrange: a second deployment on the same clusters and connectors (the reverse ones keep offsets from the
    // first failback, which the controller must reset), whose tail the forward mirror delivers after the restart.
    const primary = kafkaClient(h.info, 'primary');
    const secondary = kafkaClient(h.info, 'secondary');
    const topic2 = uniqueName('payments');
    const config2 = deploymentConfigSchema.parse({
      ...config,
      name: uniqueName('fb2').slice(0, 40),
      topics: [topic2],
      consumerGroups: [],
      failback: { ...config.failback, quarantineTopic: uniqueName('quarantine2') },
    });
    const stores = wiring.deps.stores;
    const paths2 = deploymentPaths(config2.name);
    for (const role of ['primary', 'secondary'] as const) {
      await stores.parameters.put(
        paths2.clusterParameter(role),
        JSON.stringify({
          alias: role,
          bootstrapServers: h.info.clusters[role].bootstrapServers,
          securityProtocol: 'PLAINTEXT',
        }),
      );
      await stores.secrets.put(paths2.clusterSecret(role), new Redacted('{}'));
    }
    await initialiseActiveConfig({ requestedBy: 'test' }, { config: config2, stores, paths: paths2 });
    const wiring2 = failbackDependencies(
      { config: config2, table },
      {
        ssm: aws.ssm as SSMClient,
        secretsManager: aws.sm as SecretsManagerClient,
        dynamodb: aws.ddb as DynamoDBClient,
        regional: () => ({ ssm: aws.ssm as SSMClient, secretsManager: aws.sm as SecretsManagerClient }),
        kafka: kafkaCache,
        clusterClients,
      },
      { logger: quiet },
    );
    const admin = primary.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: topic2, numPartitions: 2 }], waitForLeaders: true });
    await admin.disconnect();
    const a = await produceNumbered(primary, topic2, 'a2', 50);
    await waitFor(async () => (await highs(secondary, topic2).catch(() => 0)) >= 50, {
      timeoutMs: 120_000,
      what: 'batch a2 mirrored to the secondary',
    });
    await h.pauseMirror();
    const b = await produceNumbered(primary, topic2, 'b2', 20);
    await h.kill('primary');
    const fo = await runFailover(
      {
        trigger: 'manual',
        reason: 'primary killed again',
        requestedBy: 'test',
        dryRun: false,
        force: true,
        invocationId: 'fo-2',
      },
      failoverDependencies(
        {
          config: config2,
          table,
          topicArn:
            (await aws.sns?.send(new CreateTopicCommand({ Name: uniqueName('fo2') })))?.TopicArn ?? '',
        },
        {
          ssm: aws.ssm as SSMClient,
          secretsManager: aws.sm as SecretsManagerClient,
          dynamodb: aws.ddb as DynamoDBClient,
          sns: aws.sns as SNSClient,
          regional: () => ({ ssm: aws.ssm as SSMClient, secretsManager: aws.sm as SecretsManagerClient }),
          kafka: kafkaCache,
          clusterClients,
        },
        {
          logger: quiet,
          reprobe: async (role) =>
            (await wiring2.deps[role].health()).healthy
              ? { verdict: 'up', reasons: [] }
              : { verdict: 'down', reasons: ['not answering'] },
          readLag: lastMeasuredLag(stores, paths2),
        },
      ),
    );
    expect(fo.status).toBe('switched');
    const c = await produceNumbered(secondary, topic2, 'c2', 30);
    await h.restart('primary');
    // The forward mirror, still configured, resumes and copies the tail to the secondary by itself.
    await h.resumeMirror();
    await waitFor(async () => (await highs(secondary, topic2)) >= 100, {
      timeoutMs: 120_000,
      what: 'the tail b2 copied to the secondary by the resumed forward mirror',
    });

    // Act
    const results: FailbackResult[] = [];
    for (let n = 1; n <= 10; n += 1) {
      const confirm = results[results.length - 1]?.waiting?.waitingFor === 'confirm';
      const r = await runFailback(
        parseFailbackRequest({
          action: 'failback',
          requestedBy: 'test',
          reason: 'primary repaired again',
          ...(confirm ? { phase: 'purge', confirm: true } : {}),
        }),
        wiring2.deps,
        wiring2.invocation(`fb2-${n}`, Date.now() + 150_000),
      );
      results.push(r);
      if (r.status === 'completed') break;
    }

    // Assert
    try {
      expect(results[results.length - 1]?.status).toBe('completed');
      const salvage = results.flatMap((r) => r.ran).find((r) => r.phase === 'salvage')?.summary as {
        totalSalvaged: number;
        partitions: Array<{ measuredBy: string }>;
      };
      expect(salvage.totalSalvaged).toBe(0);
      expect(salvage.partitions.every((p) => p.measuredBy === 'connect-offsets')).toBe(true);
      expect(await highs(secondary, config2.failback.quarantineTopic)).toBe(0);
      const onPrimary = (await readAll(primary, topic2, 'the primary after the second failback')).map((r) =>
        id(r.value),
      );
      expect(onPrimary.sort()).toEqual([...a, ...b, ...c].sort());
    } finally {
      await wiring2.close();
    }
  }, 900_000);

  it('proves every purge for real: salvage steps over transaction markers and aborted records, and copies replicated records the secondary deleted', async () => {
    // Arrange: a third deployment on the same clusters and connectors. The primary stays up: the forced failover's
    // re-probe reports it down, which is all a failover needs to switch.
    const started = Date.now();
    const primary = kafkaClient(h.info, 'primary');
    const secondary = kafkaClient(h.info, 'secondary');
    const topic3 = uniqueName('ledger');
    const config3 = deploymentConfigSchema.parse({
      ...config,
      name: uniqueName('fb3').slice(0, 40),
      topics: [topic3],
      consumerGroups: [],
      failback: { ...config.failback, quarantineTopic: uniqueName('quarantine3') },
    });
    const stores = wiring.deps.stores;
    const paths3 = deploymentPaths(config3.name);
    for (const role of ['primary', 'secondary'] as const) {
      await stores.parameters.put(
        paths3.clusterParameter(role),
        JSON.stringify({
          alias: role,
          bootstrapServers: h.info.clusters[role].bootstrapServers,
          securityProtocol: 'PLAINTEXT',
        }),
      );
      await stores.secrets.put(paths3.clusterSecret(role), new Redacted('{}'));
    }
    await initialiseActiveConfig({ requestedBy: 'test' }, { config: config3, stores, paths: paths3 });
    const clients = {
      ssm: aws.ssm as SSMClient,
      secretsManager: aws.sm as SecretsManagerClient,
      dynamodb: aws.ddb as DynamoDBClient,
      regional: () => ({ ssm: aws.ssm as SSMClient, secretsManager: aws.sm as SecretsManagerClient }),
      kafka: kafkaCache,
      clusterClients,
    };
    const wiring3 = failbackDependencies({ config: config3, table }, clients, { logger: quiet });
    const admin = primary.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: topic3, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    const a = await produceNumbered(primary, topic3, 'a3', 20);
    await waitFor(async () => (await highs(secondary, topic3).catch(() => 0)) >= 20, {
      timeoutMs: 120_000,
      what: 'batch a3 mirrored to the secondary',
    });
    await h.pauseMirror();
    // The tail: a committed transaction, an aborted one, another committed one (markers take offsets).
    const tx = primary.producer({
      transactionalId: uniqueName('tx'),
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await tx.connect();
    const b = ['b3-0', 'b3-1', 'b3-2', 'b3-3'];
    const aborted = ['x3-0', 'x3-1'];
    const inTransaction = async (values: string[], commit: boolean) => {
      const t = await tx.transaction();
      await t.send({
        topic: topic3,
        acks: -1,
        messages: values.map((v) => ({ key: v, value: v, partition: 0 })),
      });
      await (commit ? t.commit() : t.abort());
    };
    await inTransaction(b.slice(0, 2), true);
    await inTransaction(aborted, false);
    await inTransaction(b.slice(2), true);
    await tx.disconnect();
    const fo = await runFailover(
      {
        trigger: 'manual',
        reason: 'primary declared down',
        requestedBy: 'test',
        dryRun: false,
        force: true,
        invocationId: 'fo-3',
      },
      failoverDependencies(
        {
          config: config3,
          table,
          topicArn:
            (await aws.sns?.send(new CreateTopicCommand({ Name: uniqueName('fo3') })))?.TopicArn ?? '',
        },
        { ...clients, sns: aws.sns as SNSClient },
        {
          logger: quiet,
          reprobe: async (role) =>
            role === 'primary'
              ? { verdict: 'down', reasons: ['declared down by the test'] }
              : { verdict: 'up', reasons: [] },
          readLag: lastMeasuredLag(stores, paths3),
        },
      ),
    );
    expect(fo.status).toBe('switched');
    const c = await produceNumbered(secondary, topic3, 'c3', 10);
    // Retention on the secondary (for real: DeleteRecords) removes its copies of the first four records of a3.
    const copies = await readAll(secondary, topic3, 'the secondary before its retention');
    const deleted = copies.filter((r) => Number(r.offset) < 4).map((r) => id(r.value));
    const secondaryAdmin = secondary.admin();
    await secondaryAdmin.connect();
    await secondaryAdmin.fetchTopicMetadata({ topics: [topic3] }); // kafkajs routes DeleteRecords by it
    await secondaryAdmin.deleteTopicRecords({ topic: topic3, partitions: [{ partition: 0, offset: '4' }] });
    await secondaryAdmin.disconnect();

    // Act
    const results: FailbackResult[] = [];
    try {
      for (let n = 1; n <= 10; n += 1) {
        const last = results.at(-1);
        const confirm = last?.waiting?.waitingFor === 'confirm';
        const r = await runFailback(
          parseFailbackRequest({
            action: 'failback',
            requestedBy: 'test',
            reason: 'primary repaired, third time',
            ...(confirm ? { phase: last?.currentPhase, confirm: true } : {}),
          }),
          wiring3.deps,
          wiring3.invocation(`fb3-${n}`, Date.now() + 150_000),
        );
        results.push(r);
        if (r.status === 'completed') break;
      }

      // Assert
      expect(results.at(-1)?.status, JSON.stringify(results.map((r) => [r.status, r.nextStep]))).toBe(
        'completed',
      );
      const salvage = results.flatMap((r) => r.ran).find((r) => r.phase === 'salvage')?.summary as {
        partitions: Array<{
          unprovenReplicated: number;
          salvaged: number;
          provenAbsent: number;
          lostToRetention: number;
        }>;
      };
      const [p0] = salvage.partitions;
      // Two commit markers, the aborted records and their abort marker: proven absent by the broker's offsets.
      expect(p0?.provenAbsent).toBe(2 + aborted.length + 1);
      expect(p0?.unprovenReplicated).toBeGreaterThanOrEqual(deleted.length);
      expect(p0?.lostToRetention).toBe(0);
      const quarantined = (await readAll(secondary, config3.failback.quarantineTopic, 'quarantine 3')).map(
        (r) => id(r.value),
      );
      expect(quarantined).toEqual(expect.arrayContaining([...deleted, ...b]));
      expect(quarantined.filter((v) => aborted.includes(v))).toEqual([]);
      expect(quarantined.length).toBe(p0?.salvaged);
      const onPrimary = new Set(
        (await readAll(primary, topic3, 'the primary after the third failback')).map((r) => id(r.value)),
      );
      const kept = new Set([...onPrimary, ...quarantined]);
      expect([...a, ...b, ...c].filter((v) => !kept.has(v))).toEqual([]);
      expect(deleted.filter((v) => onPrimary.has(v))).toEqual([]);
      console.info(`failback proof case took ${Math.round((Date.now() - started) / 1000)} s`);
    } finally {
      await wiring3.close();
    }
  }, 600_000);
});
