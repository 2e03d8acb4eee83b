import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { HarnessInfo } from '#harness/info.ts';
import { uniqueName } from '#harness/unique-name.ts';
import type { DeploymentPaths } from '#shared/config/paths.ts';
import { type ClusterRole, type DeploymentConfig, deploymentConfigSchema } from '#shared/config/schema.ts';
import { topicMapping } from '#shared/config/topic-mapping.ts';
import type { FailbackWiring } from '#shared/failback/dependencies.ts';
import type { PhaseContext } from '#shared/failback/phase-context.ts';
import { phasesFor } from '#shared/failback/phases.ts';
import { failbackStateSchema } from '#shared/failback/state.ts';
import { readClusterDefinition, type Stores, writeActive } from '#shared/store/active-config.ts';
import { ensureFailoverTable } from '#shared/store/dynamo-table.ts';
import { Redacted } from '#shared/store/redacted.ts';
import { harnessMtlsCredentials } from './client-app.ts';

// Failback's switch phase driven directly (runSwitch), shared by the integration tests that look at what a stage
// writes: client-holdback (a library producer and consumer across the stages) and failback-regions (the extra
// regions). The deployment reaches both harness clusters over mTLS with the harness's client certificate.

/**
 * A deployment of the two harness clusters, both reached over mTLS: active-active with the default policy (what
 * the shared harness's MM2 runs; failback supports that pair), under a fresh name with `prefix`.
 */
export function mtlsDeployment(
  info: HarnessInfo,
  prefix: string,
  /** The rest of the config (topics, mirror, failback, regions...), validated with the rest by the schema. */
  rest: Record<string, unknown>,
): DeploymentConfig {
  const cluster = (role: ClusterRole) => ({
    alias: info.clusters[role].alias,
    auth: 'mtls' as const,
    expectedBrokers: 1,
  });
  return deploymentConfigSchema.parse({
    ...rest,
    name: uniqueName(prefix).slice(0, 40),
    mode: 'active-active',
    replicationPolicy: 'default',
    clusters: { primary: cluster('primary'), secondary: cluster('secondary') },
  });
}

/** The operator's cluster parameters and secrets: both clusters on their mTLS listeners, one client certificate. */
export async function writeOperatorClusters(
  stores: Stores,
  paths: DeploymentPaths,
  info: HarnessInfo,
): Promise<void> {
  const creds = harnessMtlsCredentials(info);
  for (const role of ['primary', 'secondary'] as const) {
    await stores.parameters.put(
      paths.clusterParameter(role),
      JSON.stringify({
        alias: info.clusters[role].alias,
        bootstrapServers: info.clusters[role].tlsBootstrapServers,
        securityProtocol: 'SSL',
      }),
    );
    await stores.secrets.put(paths.clusterSecret(role), new Redacted(JSON.stringify(creds.reveal())));
  }
}

/**
 * What failover leaves behind: the active configuration at epoch 1 on the secondary, written to `to` (the home
 * region's stores, or an extra region's) from the operator's definitions in `from`.
 */
export async function writeFailedOver(
  from: Stores,
  to: Stores,
  paths: DeploymentPaths,
  config: DeploymentConfig,
): Promise<void> {
  const secondary = await readClusterDefinition(from, paths, 'secondary');
  await writeActive(
    to,
    paths,
    {
      epoch: 1,
      cluster: 'secondary',
      alias: config.clusters.secondary.alias,
      bootstrapServers: secondary.parameter.bootstrapServers,
      securityProtocol: secondary.parameter.securityProtocol,
      credentialsSecret: paths.activeCredentialsSecret,
      topics: topicMapping(config, 'secondary'),
      switchedAt: new Date().toISOString(),
      reason: 'integration test: failover to the secondary',
    },
    secondary.credentials,
  );
}

/**
 * The context runFailback gives the switch phase once catch-up is done, from a failover's epoch 1: journaling is a
 * no-op, time is plenty, and `pause` (the wait between the stages) is where a test looks at stage 1. The
 * deployment's lock is taken for the context's holder (in a table of its own, created here), as runFailback takes
 * it: the switch claims each stage's epoch from the epoch authority under that lock.
 */
export async function switchPhaseContext(
  wiring: FailbackWiring,
  o: { runId: string; table: string; dynamodb: DynamoDBClient; pause: PhaseContext['pause'] },
): Promise<PhaseContext> {
  const deps = wiring.deps;
  const holder = `switch-phase-${o.runId}`;
  await ensureFailoverTable(o.dynamodb, o.table);
  await wiring
    .invocation(holder, Date.now() + 600_000)
    .lock.acquire(holder, 'integration test: switch phase');
  const phases = phasesFor(deps.config);
  const state = failbackStateSchema.parse({
    runId: o.runId,
    mode: deps.config.mode,
    startedAt: new Date().toISOString(),
    requestedBy: 'test',
    reason: 'integration test: failback',
    startEpoch: 1,
    completed: phases.slice(0, phases.indexOf('switch')),
  });
  return {
    deps,
    holder,
    request: { action: 'failback', confirm: false, abandon: false, requestedBy: 'test', reason: 'failback' },
    state,
    mirror: deps.mirror(new Set()),
    save: async () => {},
    remainingMs: () => 600_000,
    pause: o.pause,
  };
}
