import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsClientConfig } from '#harness/aws-clients.ts';
import { kafkaClient } from '#harness/kafka-clients.ts';
import { createMirror, deleteMirror, reverseOf } from '#harness/mirror-connectors.ts';
import { uniqueName } from '#harness/unique-name.ts';
import { waitFor } from '#harness/wait-for.ts';
import { FollowingProducer } from '#shared/client/index.ts';
import { deploymentPaths } from '#shared/config/paths.ts';
import { topicMapping } from '#shared/config/topic-mapping.ts';
import { failbackDependencies } from '#shared/failback/dependencies.ts';
import { runSwitch } from '#shared/failback/switch.ts';
import { ClientCache, KafkaClientCache } from '#shared/kafka/client-factory.ts';
import type { ClusterClient } from '#shared/kafka/cluster-client.ts';
import { readActiveOnce } from '#shared/store/active-config.ts';
import { SecretsManagerStore } from '#shared/store/secrets-manager-store.ts';
import { SsmParameterStore } from '#shared/store/ssm-parameter-store.ts';
import { type Application, startApplication } from './client-app.ts';
import {
  mtlsDeployment,
  switchPhaseContext,
  writeFailedOver,
  writeOperatorClusters,
} from './failback-switch-fixture.ts';
import { harness } from './shared-harness.ts';

// Failback's switch with the default order (consumers first), against an application built with the client
// library: real Kafka over mTLS, MirrorMaker 2 both ways, moto. The shared harness runs MM2 with the default
// policy, so the deployment is active-active (the mode failback supports with that policy): on the primary the
// consumer reads `orders` and `secondary.orders`, the copy the reverse mirror makes of what producers still write
// to the secondary. The switch runs through failback's own phase (runSwitch), from a failover's state on the
// secondary; the pause between its stages is where the test looks at stage 1.

const MIRROR_DEADLINE_MS = 60_000;
const PHASE_DEADLINE_MS = 60_000;
/** Records acknowledged in each epoch before the test moves on. */
const PER_PHASE = 60;
const quiet = { info: () => {}, warn: () => {} };

describe('staged failback switch with a library producer and consumer (real Kafka, MM2, moto)', () => {
  const h = harness();
  const { info } = h;
  const reverse = reverseOf(info.mirror.direction);
  const awsConfig = awsClientConfig(info);
  const ssm = new SSMClient(awsConfig);
  const secretsManager = new SecretsManagerClient(awsConfig);
  const stores = { parameters: new SsmParameterStore(ssm), secrets: new SecretsManagerStore(secretsManager) };
  const kafkaCache = new KafkaClientCache();
  const clusterClients = new ClientCache<ClusterClient>((c) => c.close());
  let reverseUrl: string;
  let primaryAdmin: Admin;
  let secondaryAdmin: Admin;

  beforeAll(async () => {
    reverseUrl = (await h.startReverseWorker()).connectUrl;
    await createMirror(reverseUrl, reverse);
    primaryAdmin = kafkaClient(info, 'primary').admin();
    secondaryAdmin = kafkaClient(info, 'secondary').admin();
    await Promise.all([primaryAdmin.connect(), secondaryAdmin.connect()]);
  }, 300_000);

  afterAll(async () => {
    await Promise.all([primaryAdmin?.disconnect(), secondaryAdmin?.disconnect()]);
    await kafkaCache.closeAll();
    await clusterClients.closeAll();
    await deleteMirror(reverseUrl, reverse).catch(() => undefined);
    await h.stopReverseWorker();
  }, 120_000);

  it('moves the consumer to the primary at stage 1 while the producer stays on the secondary, both at stage 2, losing nothing', async () => {
    // Arrange: a deployment whose cluster parameters and secrets the operator wrote (mTLS on both clusters),
    // its topic local on both clusters and mirrored each way, and failover's epoch 1 on the secondary.
    const topic = uniqueName('orders');
    const group = uniqueName('billing');
    const config = mtlsDeployment(info, 'holdback', {
      topics: [topic],
      consumerGroups: [group],
      mirror: {
        kind: 'kafka-connect',
        forwardUrl: info.mirror.connectUrl,
        reverseUrl,
        connectorPrefix: 'mm2',
      },
      // Consumers first is the default; the stage pause is where the test observes stage 1 (see pause below).
      failback: { switchStageSeconds: 30 },
    });
    const paths = deploymentPaths(config.name);
    await writeOperatorClusters(stores, paths, info);
    await Promise.all(
      [primaryAdmin, secondaryAdmin].map((a) =>
        a.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true }),
      ),
    );
    const remote = (on: Admin, name: string) =>
      waitFor(async () => (await on.listTopics()).includes(name), {
        timeoutMs: MIRROR_DEADLINE_MS,
        what: `MM2 to create ${name}`,
      });
    await Promise.all([
      remote(secondaryAdmin, topicMapping(config, 'secondary')[topic]?.remote?.[0] ?? ''),
      remote(primaryAdmin, topicMapping(config, 'primary')[topic]?.remote?.[0] ?? ''),
    ]);
    await writeFailedOver(stores, stores, paths, config);
    // The global view: the consumer moved to the primary at stage 1 reads what the held-back producer still writes
    // to the secondary (mirrored in as `secondary.<topic>`); in the documented `local` model that is for the
    // secondary's own consumers (drill --mode active-active covers that).
    const app = await startApplication({
      name: config.name,
      topic,
      stores,
      groupId: group,
      subscription: 'aggregate',
    });
    const table = uniqueName('failback');
    const dynamodb = new DynamoDBClient(awsConfig);
    const wiring = failbackDependencies(
      { config, table },
      {
        ssm,
        secretsManager,
        dynamodb,
        regional: () => ({ ssm, secretsManager }),
        kafka: kafkaCache,
        clusterClients,
      },
      { logger: quiet },
    );
    const late: string[] = [];
    let stage1: Stage1 | undefined;

    try {
      await waitFor(() => app.ackedIn(1) >= PER_PHASE && app.seen.size >= PER_PHASE / 2, {
        timeoutMs: PHASE_DEADLINE_MS,
        what: 'records acknowledged and consumed on the secondary',
      });

      // Act: failback's switch phase, as runFailback would call it once catch-up is done.
      const ctx = await switchPhaseContext(wiring, {
        runId: '0000000001-holdback',
        table,
        dynamodb,
        // Between the stages: wait until the application has settled into stage 1 and look at it.
        pause: async () => {
          stage1 = await observeStage1(app, late);
        },
      });
      const outcome = await runSwitch(ctx);
      await waitFor(
        () =>
          app.producer.active?.epoch === 3 && app.consumer.active?.epoch === 3 && app.ackedIn(3) >= PER_PHASE,
        { timeoutMs: PHASE_DEADLINE_MS, what: 'producer and consumer on the primary at epoch 3' },
      );
      await app.stopHandingOver();
      await app.waitUntilAllSeen();

      // Assert: stage 1 (observed during the pause) ...
      app.report('staged failback switch, consumers first');
      expect(outcome.kind).toBe('done');
      expect(stage1?.producer).toEqual({ cluster: 'secondary', epoch: 2 });
      expect(stage1?.consumer).toEqual({ cluster: 'primary', epoch: 2 });
      expect(stage1?.secretHoldback).toEqual({ cluster: 'secondary', fields: ['ca', 'cert', 'key'] });
      expect(stage1?.producerSwitches).toEqual([]);
      expect(stage1?.lateStarter).toMatchObject({ cluster: 'secondary', epoch: 2, topic });
      // Records the producer wrote to the secondary at stage 1 reached the consumer on the primary.
      expect(stage1?.secondaryRecordsSeenOnPrimary).toBeGreaterThanOrEqual(10);
      // ... stage 2, and the whole run: no acknowledged record lost, nothing rejected.
      expect(app.missing()).toEqual([]);
      expect(late.filter((id) => !app.seen.has(id))).toEqual([]);
      expect(app.rejected).toEqual([]);
      expect(app.acked.size).toBe(app.handed());
      expect(new Set(app.ackedOn('secondary').map((r) => r.epoch))).toEqual(new Set([1, 2]));
      expect(new Set(app.ackedOn('primary').map((r) => r.epoch))).toEqual(new Set([3]));
      expect(app.producerSwitches.map(moved)).toEqual(['secondary@2->primary@3']);
      expect(app.consumerSwitches.map(moved)).toEqual(['secondary@1->primary@2']);
      expect(app.watcherErrors).toEqual([]);
      const after = await readActiveOnce(stores, paths);
      expect(after.kind === 'consistent' && [after.config.epoch, after.config.holdback]).toEqual([
        3,
        undefined,
      ]);
      expect(after.kind === 'consistent' && Object.keys(after.credentials.reveal())).not.toContain(
        'holdback',
      );
    } finally {
      await app.close();
      await wiring.close();
    }
  }, 300_000);
});

interface Stage1 {
  producer: { cluster: string; epoch: number } | undefined;
  consumer: { cluster: string; epoch: number } | undefined;
  producerSwitches: unknown[];
  /** The active-credentials secret's holdback: its cluster and which credential fields it has (no values). */
  secretHoldback: { cluster: string; fields: string[] } | undefined;
  lateStarter: { cluster: string; epoch: number; topic: string };
  secondaryRecordsSeenOnPrimary: number;
}

const moved = (s: { from: { cluster: string; epoch: number }; to: { cluster: string; epoch: number } }) =>
  `${s.from.cluster}@${s.from.epoch}->${s.to.cluster}@${s.to.epoch}`;

/**
 * Wait until the consumer runs on the primary at epoch 2 and sees records the held-back producer keeps writing to
 * the secondary (through the reverse mirror); start a second producer then, which must connect to the secondary
 * with the credentials from the active-credentials secret's holdback.
 */
async function observeStage1(app: Application, late: string[]): Promise<Stage1> {
  const secondaryAtStage1 = () =>
    [...app.acked]
      .filter(([, r]) => r.cluster === 'secondary' && r.epoch === 2)
      .filter(([id]) => app.seenWhere.get(id)?.has('primary@2'));
  const leftEarly = new Error('the held-back producer switched clusters at stage 1');
  await waitFor(
    () => {
      if (app.producerSwitches.length > 0) throw leftEarly;
      return (
        app.consumer.active?.cluster === 'primary' &&
        app.ackedIn(2) >= PER_PHASE &&
        secondaryAtStage1().length >= 10
      );
    },
    {
      timeoutMs: 120_000,
      what: 'the consumer on the primary reading what the held-back producer writes to the secondary',
      giveUpOn: (e) => e === leftEarly,
    },
  );
  const lateStarter = new FollowingProducer({ source: app.watcher });
  await lateStarter.connect();
  const sent = await lateStarter.send({
    topic: app.topic,
    messages: [{ key: 'late-1', value: 'late-1' }],
  });
  late.push('late-1');
  await lateStarter.disconnect();
  const raw = await app.stores.secrets.get(deploymentPaths(app.name).activeCredentialsSecret);
  const secret = JSON.parse(raw?.reveal() ?? '{}') as { holdback?: Record<string, unknown> };
  const where = (a: { cluster: string; epoch: number } | undefined) =>
    a ? { cluster: a.cluster, epoch: a.epoch } : undefined;
  return {
    producer: where(app.producer.active),
    consumer: where(app.consumer.active),
    producerSwitches: [...app.producerSwitches],
    secretHoldback: secret.holdback
      ? {
          cluster: String(secret.holdback.cluster),
          fields: Object.keys(secret.holdback)
            .filter((k) => k !== 'cluster')
            .sort(),
        }
      : undefined,
    lateStarter: { cluster: sent.cluster, epoch: sent.epoch, topic: sent.topic },
    secondaryRecordsSeenOnPrimary: secondaryAtStage1().length,
  };
}
