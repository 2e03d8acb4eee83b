import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { awsEnvironment } from '#harness/aws-clients.ts';
import { kafkaClient } from '#harness/kafka-clients.ts';
import { datapointsFromEmf } from '#shared/alarms/evaluate.ts';
import { deploymentPaths } from '#shared/config/paths.ts';
import { probeResultSchema } from '#shared/health/probe-result.ts';
import { writeConfigFile } from '../fakes/config-file.ts';
import { describeClusters, type MotoStores, motoStores, probeConfig } from './probe-fixture.ts';
import { harness } from './shared-harness.ts';

/** A Lambda context with a fixed end time, as the runtime gives one. */
function lambdaContext(remainingMs: number): Context {
  const end = Date.now() + remainingMs;
  return {
    awsRequestId: 'probe-test',
    functionName: 'probe',
    getRemainingTimeInMillis: () => end - Date.now(),
  } as Partial<Context> as Context;
}

describe('probe function handler', () => {
  const h = harness();
  const config = probeConfig();
  let stores: MotoStores;
  let handlerModule: typeof import('#functions/probe/handler.ts');
  const lines: string[] = [];

  beforeAll(async () => {
    stores = motoStores(h.info);
    await describeClusters(stores, config, h.info);
    const admin = kafkaClient(h.info, 'primary').admin();
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic: config.topics[0] ?? '', numPartitions: 1 }],
      waitForLeaders: true,
    });
    await admin.disconnect();
    for (const [k, v] of Object.entries(awsEnvironment(h.info))) vi.stubEnv(k, v);
    vi.stubEnv('MM2_FAILOVER_CONFIG_FILE', writeConfigFile(config));
    handlerModule = await import('#functions/probe/handler.ts');
  });

  afterAll(async () => {
    await handlerModule?.closeProbeClients();
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
    stores?.destroy();
  });

  it('probes in cycles until its time is used, emits EMF metrics and stores the last result in SSM', async () => {
    // Arrange: capture stdout, where Lambda's EMF and JSON logs go.
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(
        ...String(chunk)
          .split('\n')
          .filter((l) => l.length > 0),
      );
      return true;
    });

    // Act: two cycles fit in 21 s with a 10 s interval, a 7 s cycle deadline and a 2 s margin.
    const summary = await handlerModule.handler(
      { source: 'aws.events', 'detail-type': 'Scheduled Event' },
      lambdaContext(21_000),
    );
    vi.mocked(process.stdout.write).mockRestore();

    // Assert
    expect(summary).toMatchObject({ cycles: 2, verdicts: { primary: ['up', 'up'] } });
    const points = lines.flatMap((l) => datapointsFromEmf(l));
    const up = points.filter((p) => p.metricName === 'ClusterUp');
    expect(up.map((p) => [p.cluster, p.value])).toEqual([
      ['primary', 1],
      ['secondary', 1],
      ['primary', 1],
      ['secondary', 1],
    ]);
    expect(points.filter((p) => p.metricName === 'ProberHeartbeat')).toHaveLength(2);
    const stored = await stores.parameters.get(deploymentPaths(config.name).lastProbeParameter);
    const last = probeResultSchema.parse(JSON.parse(stored?.value ?? 'null'));
    expect(last.cycle).toBe(1);
    expect(lines.some((l) => l.includes('"message":"probe cycle"'))).toBe(true);
  });

  it('answers a manual invocation with a bad maxCycles as invalid, naming the path', async () => {
    await expect(handlerModule.handler({ maxCycles: -1 }, lambdaContext(19_000))).resolves.toMatchObject({
      status: 'invalid',
      subject: 'probe invocation',
      problems: [{ path: 'maxCycles' }],
    });
  });
});
