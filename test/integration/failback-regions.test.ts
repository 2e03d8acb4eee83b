import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, describe, expect, it } from 'vitest';
import { awsClientConfig } from '#harness/aws-clients.ts';
import { kafkaClient } from '#harness/kafka-clients.ts';
import { freePorts } from '#harness/ports.ts';
import { uniqueName } from '#harness/unique-name.ts';
import { type ActiveClientConfig, createAwsStores, loadActiveConfig } from '#shared/client/index.ts';
import { deploymentPaths } from '#shared/config/paths.ts';
import { failbackDependencies } from '#shared/failback/dependencies.ts';
import { runSwitch } from '#shared/failback/switch.ts';
import { ClientCache, KafkaClientCache } from '#shared/kafka/client-factory.ts';
import type { ClusterClient } from '#shared/kafka/cluster-client.ts';
import type { Stores } from '#shared/store/active-config.ts';
import { storesOf } from '#shared/store/aws-stores.ts';
import {
  mtlsDeployment,
  switchPhaseContext,
  writeFailedOver,
  writeOperatorClusters,
} from './failback-switch-fixture.ts';
import { harness } from './shared-harness.ts';

// Failback's switch writes each stage to the deployment's extra regions too, so that clients there follow it.
// moto serves every region on one endpoint and keeps each region's parameters and secrets apart (the region is
// part of the SDK client's configuration), so the home region and an extra region are two real stores here; a
// third region whose endpoint refuses connections stands for a region that cannot be reached. The switch runs
// through failback's own phase (runSwitch) against the harness's clusters over mTLS, and what a client in the
// extra region sees is read with the client library's loader after each stage.

const quiet = { info: () => {}, warn: () => {} };

describe('failback switch in the extra regions (moto in two regions, real Kafka)', () => {
  const { info } = harness();
  const awsConfig = awsClientConfig(info);
  const home = awsConfig.region;
  const extra = home === 'eu-central-1' ? 'eu-west-3' : 'eu-central-1';
  const unreachable = 'ap-southeast-2';
  const kafkaCache = new KafkaClientCache();
  const clusterClients = new ClientCache<ClusterClient>((c) => c.close());

  afterAll(async () => {
    await kafkaCache.closeAll();
    await clusterClients.closeAll();
  });

  it('writes both stages to the extra region, where the client library reads them, and reports the region it could not write', async () => {
    // Arrange: a deployment whose function runs in the home region (also listed in `regions`), failed over to the
    // secondary at epoch 1 in the home and the extra region (failover writes both), its topic on the primary.
    const topic = uniqueName('orders');
    const config = mtlsDeployment(info, 'regions', {
      topics: [topic],
      // No mirror calls: the switch only asks where the reverse flow is, which 'manual' cannot say.
      mirror: { kind: 'manual' },
      // Consumers first (the default); the stage pause is where the test reads stage 1.
      failback: { switchStageSeconds: 30 },
      regions: [home, extra, unreachable],
    });
    const paths = deploymentPaths(config.name);
    const [deadPort] = await freePorts(1);
    const clientsIn = (region: string) => {
      const c = {
        ...awsConfig,
        region,
        ...(region === unreachable ? { endpoint: `http://127.0.0.1:${deadPort}`, maxAttempts: 1 } : {}),
      };
      return { ssm: new SSMClient(c), secretsManager: new SecretsManagerClient(c) };
    };
    const homeClients = clientsIn(home);
    const homeStores = storesOf(homeClients);
    const extraStores = storesOf(clientsIn(extra));
    // What a client in the extra region uses: the library's own stores, pointed at that region.
    const clientStores = createAwsStores({
      region: extra,
      endpoint: awsConfig.endpoint,
      credentials: awsConfig.credentials,
      maxAttempts: 2,
    });
    const readInExtraRegion = () =>
      loadActiveConfig({
        deployment: config.name,
        stores: clientStores,
        kafka: { clientId: 'regions-test' },
      });
    await writeOperatorClusters(homeStores, paths, info);
    await writeFailedOver(homeStores, homeStores, paths, config);
    expect(await extraStores.parameters.get(paths.activeParameter)).toBeUndefined();
    await writeFailedOver(homeStores, extraStores, paths, config);
    const admin = kafkaClient(info, 'primary').admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    await admin.disconnect();
    const table = uniqueName('failback');
    const dynamodb = new DynamoDBClient(awsConfig);
    const wiring = failbackDependencies(
      { config, table, homeRegion: home },
      {
        ...homeClients,
        dynamodb,
        regional: clientsIn,
        kafka: kafkaCache,
        clusterClients,
      },
      { logger: quiet },
    );
    const before = await readInExtraRegion();
    const activeParameter = async (stores: Stores) =>
      (await stores.parameters.get(paths.activeParameter))?.value;
    let stage1: ActiveClientConfig | undefined;
    let stage1Parameters: Array<string | undefined> = [];

    try {
      // Act
      const ctx = await switchPhaseContext(wiring, {
        runId: '0000000001-regions',
        table,
        dynamodb,
        pause: async () => {
          stage1 = await readInExtraRegion();
          stage1Parameters = [await activeParameter(homeStores), await activeParameter(extraStores)];
        },
      });
      const outcome = await runSwitch(ctx);
      const stage2 = await readInExtraRegion();

      // Assert: before, at stage 1 (consumers on the primary, producers held on the secondary with the
      // credentials in the same secret), and at stage 2, the extra region holds what the home region holds.
      expect([before.epoch, before.cluster]).toEqual([1, 'secondary']);
      expect(stage1 && [stage1.epoch, stage1.cluster]).toEqual([2, 'primary']);
      expect(stage1?.bootstrapServers).toEqual([info.clusters.primary.tlsBootstrapServers]);
      expect(stage1?.holdback).toMatchObject({
        role: 'producers',
        cluster: 'secondary',
        bootstrapServers: [info.clusters.secondary.tlsBootstrapServers],
      });
      expect(stage1?.holdback?.kafka.reveal().ssl).toMatchObject({
        cert: expect.any(String),
        key: expect.any(String),
      });
      expect(stage1Parameters[0]).toContain('"epoch":2');
      expect(stage1Parameters[1]).toBe(stage1Parameters[0]);
      expect([stage2.epoch, stage2.cluster, stage2.holdback]).toEqual([3, 'primary', undefined]);
      expect(await activeParameter(extraStores)).toBe(await activeParameter(homeStores));
      // The home region is not written twice; the unreachable region is reported per stage and held nothing up.
      expect(outcome.kind).toBe('done');
      const regions = (outcome as { summary: { regions: Array<Record<string, unknown>> } }).summary.regions;
      expect(regions).toEqual([
        { region: extra, stage: 1, epoch: 2, ok: true },
        {
          region: unreachable,
          stage: 1,
          epoch: 2,
          ok: false,
          error: expect.stringContaining('ECONNREFUSED'),
        },
        { region: extra, stage: 2, epoch: 3, ok: true },
        {
          region: unreachable,
          stage: 2,
          epoch: 3,
          ok: false,
          error: expect.stringContaining('ECONNREFUSED'),
        },
      ]);
      expect(ctx.state.switch?.regions).toHaveLength(4);
      expect(JSON.stringify(regions)).not.toContain('PRIVATE KEY');
    } finally {
      await wiring.close();
    }
  }, 180_000);
});
