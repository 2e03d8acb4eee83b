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
import { createMirror, mirrorStatus, restartFailedMirror, reverseOf } from '#harness/mirror-connectors.ts';
import { produceNumbered } from '#harness/produce.ts';
import { uniqueName } from '#harness/unique-name.ts';
import { waitFor } from '#harness/wait-for.ts';
import { routeOf } from '#shared/client/topic-routes.ts';
import { deploymentPaths } from '#shared/config/paths.ts';
import { type DeploymentConfig, deploymentConfigSchema } from '#shared/config/schema.ts';
import { type FailbackWiring, failbackDependencies } from '#shared/failback/dependencies.ts';
import { type FailbackResult, runFailback } from '#shared/failback/failback.ts';
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

// Active-active on an own harness (default policy, MM2 both ways): the primary dies with a tail its forward mirror
// has not copied, clients fail over, the primary comes back, and failback is prepare → catch-up both ways → switch.

const quiet = { info: () => {}, warn: () => {}, error: () => {} };

async function offsets(kafka: Kafka, topic: string): Promise<{ low: number; high: number }> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ps = await admin.fetchTopicOffsets(topic);
    return {
      low: ps.reduce((n, p) => n + Number(p.low), 0),
      high: ps.reduce((n, p) => n + Number(p.high), 0),
    };
  } finally {
    await admin.disconnect();
  }
}

/**
 * The distinct values of `topic`, read until every one of `expected` has arrived. MirrorMaker 2 delivers at least
 * once: a mirror whose target died mid-batch copies that batch again after a restart, so a record may appear twice.
 * The assertion is on the set: every expected record there, nothing else.
 */
async function distinctValues(
  kafka: Kafka,
  topic: string,
  expected: readonly string[],
  what: string,
): Promise<string[]> {
  const want = new Set(expected);
  const read = await consumeUntil(
    kafka,
    topic,
    (r) => {
      const seen = new Set(r.map((x) => String(x.value)));
      return [...want].every((v) => seen.has(v));
    },
    { timeoutMs: 90_000, what },
  );
  return [...new Set(read.map((r) => String(r.value)))].sort();
}

describe('failback, active-active with the default policy, on the harness', () => {
  let h: Harness;
  let config: DeploymentConfig;
  let wiring: FailbackWiring;
  const kafkaCache = new KafkaClientCache();
  const clusterClients = new ClientCache<ClusterClient>((c) => c.close());
  const topic = uniqueName('orders');
  const table = uniqueName('mm2-failover');

  beforeAll(async () => {
    h = await startHarness({ policy: 'default', tls: false });
    const { connectUrl } = await h.startReverseWorker();
    await createMirror(connectUrl, reverseOf(h.info.mirror.direction));
    const awsConfig = awsClientConfig(h.info);
    const ssm = new SSMClient(awsConfig);
    const sm = new SecretsManagerClient(awsConfig);
    const ddb = new DynamoDBClient(awsConfig);
    await ddb.send(
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
      name: uniqueName('aa').slice(0, 40),
      mode: 'active-active',
      replicationPolicy: 'default',
      clusters: {
        primary: { alias: 'primary', auth: 'none', expectedBrokers: 1 },
        secondary: { alias: 'secondary', auth: 'none', expectedBrokers: 1 },
      },
      topics: [topic],
      mirror: {
        kind: 'kafka-connect',
        forwardUrl: h.info.mirror.connectUrl,
        reverseUrl: connectUrl,
        connectorPrefix: 'mm2',
      },
      failback: { stableSeconds: 0, switchStageSeconds: 2, catchUpMaxLagRecords: 0 },
    });
    const stores = { parameters: new SsmParameterStore(ssm), secrets: new SecretsManagerStore(sm) };
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
        ssm,
        secretsManager: sm,
        dynamodb: ddb,
        regional: () => ({ ssm, secretsManager: sm }),
        kafka: kafkaCache,
        clusterClients,
      },
      { logger: quiet },
    );
    const sns = new SNSClient(awsConfig);
    const topicArn = (await sns.send(new CreateTopicCommand({ Name: uniqueName('fo') }))).TopicArn ?? '';
    Object.assign(failoverClients, { ssm, sm, ddb, sns, topicArn, stores });
  }, 600_000);
  const failoverClients: Record<string, unknown> = {};

  afterAll(async () => {
    await wiring?.close();
    await kafkaCache.closeAll();
    await clusterClients.closeAll();
    await h?.stop();
  }, 120_000);

  it('catches up both directions, switches clients back and leaves both mirrors running, purging nothing', async () => {
    const primary = kafkaClient(h.info, 'primary');
    const secondary = kafkaClient(h.info, 'secondary');
    const reverse = reverseOf(h.info.mirror.direction);

    // Arrange: local topics on both clusters, each mirrored to the other under its remote name.
    for (const k of [primary, secondary]) {
      const admin = k.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
      await admin.disconnect();
    }
    const p1 = await produceNumbered(primary, topic, 'p1', 50);
    const s1 = await produceNumbered(secondary, topic, 's1', 40);
    await waitFor(
      async () => (await offsets(secondary, `primary.${topic}`).catch(() => ({ high: 0 }))).high >= 50,
      {
        timeoutMs: 120_000,
        what: `primary.${topic} on the secondary`,
      },
    );
    await waitFor(
      async () => (await offsets(primary, `secondary.${topic}`).catch(() => ({ high: 0 }))).high >= 40,
      {
        timeoutMs: 120_000,
        what: `secondary.${topic} on the primary`,
      },
    );
    // A tail the forward mirror has not copied when the primary dies.
    await h.pauseMirror();
    const p2 = await produceNumbered(primary, topic, 'p2', 20);
    await h.kill('primary');

    const stores = failoverClients.stores as FailbackWiring['deps']['stores'];
    const failover = failoverDependencies(
      { config, table, topicArn: failoverClients.topicArn as string },
      {
        ssm: failoverClients.ssm as SSMClient,
        secretsManager: failoverClients.sm as SecretsManagerClient,
        dynamodb: failoverClients.ddb as DynamoDBClient,
        sns: failoverClients.sns as SNSClient,
        regional: () => ({
          ssm: failoverClients.ssm as SSMClient,
          secretsManager: failoverClients.sm as SecretsManagerClient,
        }),
        kafka: kafkaCache,
        clusterClients,
      },
      {
        logger: quiet,
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
        invocationId: 'fo-aa',
      },
      failover,
    );
    expect(fo.status).toBe('switched');
    const s2 = await produceNumbered(secondary, topic, 's2', 30);
    await h.restart('primary');
    // Both mirrors run on through a failback in active-active; after the outage they are simply restarted.
    await restartFailedMirror(h.info.reverseWorker.connectUrl, reverse).catch(() => undefined);
    await h.resumeMirror();

    // Act
    const results: FailbackResult[] = [];
    for (let n = 1; n <= 6; n += 1) {
      const r = await runFailback(
        parseFailbackRequest({ action: 'failback', requestedBy: 'test', reason: 'primary repaired' }),
        wiring.deps,
        wiring.invocation(`aa-${n}`, Date.now() + 150_000),
      );
      results.push(r);
      if (r.status === 'completed') break;
    }

    // Assert
    const final = results[results.length - 1];
    expect(final?.status, JSON.stringify(results.map((r) => [r.status, r.nextStep, r.progress]))).toBe(
      'completed',
    );
    expect(results.flatMap((r) => r.ran.map((x) => x.phase))).toEqual(['prepare', 'catch-up', 'switch']);
    const active = await readActiveOnce(stores, deploymentPaths(config.name));
    expect(active.kind === 'consistent' && active.config.cluster).toBe('primary');
    expect(active.kind === 'consistent' && active.config.epoch).toBe(3);
    // Active-active back home: the group reads the local topic; the secondary's copy is the global view's.
    expect(active.kind === 'consistent' && routeOf(active.config, topic)).toEqual({
      produce: topic,
      subscribe: [topic],
      remote: [`secondary.${topic}`],
    });
    // Caught up both ways: the primary's tail is on the secondary, the outage's records are on the primary.
    const forward = [...p1, ...p2];
    expect(
      await distinctValues(secondary, `primary.${topic}`, forward, 'primary tail on the secondary'),
    ).toEqual(forward.sort());
    const backward = [...s1, ...s2];
    expect(
      await distinctValues(primary, `secondary.${topic}`, backward, 'outage records on the primary'),
    ).toEqual(backward.sort());
    // Nothing purged, nothing changed on the mirrors.
    expect((await offsets(primary, topic)).low).toBe(0);
    expect((await offsets(secondary, topic)).low).toBe(0);
    const statuses = [
      ...(await mirrorStatus(h.info.mirror.connectUrl ?? '', h.info.mirror.direction)),
      ...(await mirrorStatus(h.info.reverseWorker.connectUrl, reverse)),
    ];
    expect(statuses.map((s) => s.connector.state)).toEqual(Array(6).fill('RUNNING'));
  }, 900_000);
});
