// Shared set-up for the probe's integration tests: a deployment config pointing at the harness, cluster
// definitions written to moto (SSM + Secrets Manager) exactly as an operator would, and a probe rig that runs
// cycles with the real cluster clients and collects the metrics and logs.
import { readFileSync } from 'node:fs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { awsClientConfig } from '#harness/aws-clients.ts';
import type { ClusterName, HarnessInfo } from '#harness/info.ts';
import { uniqueName } from '#harness/unique-name.ts';
import { deploymentPaths } from '#shared/config/paths.ts';
import {
  type DeploymentConfig,
  type DeploymentConfigInput,
  deploymentConfigSchema,
} from '#shared/config/schema.ts';
import { ClusterConnections } from '#shared/health/cluster-connections.ts';
import { ProbeContext, runProbeCycle } from '#shared/health/probe-cycle.ts';
import type { MetricBatch } from '#shared/health/probe-metrics.ts';
import type { ProbeResult } from '#shared/health/probe-result.ts';
import type { Stores } from '#shared/store/active-config.ts';
import { Redacted } from '#shared/store/redacted.ts';
import { SecretsManagerStore } from '#shared/store/secrets-manager-store.ts';
import { SsmParameterStore } from '#shared/store/ssm-parameter-store.ts';

export interface MotoStores extends Stores {
  ssm: SSMClient;
  secretsManager: SecretsManagerClient;
  destroy(): void;
}

export function motoStores(info: HarnessInfo): MotoStores {
  const ssm = new SSMClient(awsClientConfig(info));
  const secretsManager = new SecretsManagerClient(awsClientConfig(info));
  return {
    ssm,
    secretsManager,
    parameters: new SsmParameterStore(ssm),
    secrets: new SecretsManagerStore(secretsManager),
    destroy: () => {
      ssm.destroy();
      secretsManager.destroy();
    },
  };
}

/** A deployment on the harness: aliases `primary`/`secondary`, one broker each, unique names throughout. */
export function probeConfig(overrides: Partial<DeploymentConfigInput> = {}): DeploymentConfig {
  return deploymentConfigSchema.parse({
    name: uniqueName('probe').toLowerCase().slice(0, 40),
    mode: 'active-passive',
    replicationPolicy: 'default',
    clusters: {
      primary: { alias: 'primary', auth: 'none', expectedBrokers: 1 },
      secondary: { alias: 'secondary', auth: 'none', expectedBrokers: 1 },
    },
    topics: [uniqueName('orders')],
    consumerGroups: [uniqueName('billing')],
    mirror: { kind: 'manual' },
    // The schema's defaults (2 s connect, 4 s request, 7 s cycle deadline) are what production runs with.
    detection: { canaryTopic: uniqueName('canary') },
    ...overrides,
  });
}

/** Write each cluster's parameter and secret to moto, PLAINTEXT or mTLS (Aiven-style PEM files). */
export async function describeClusters(
  stores: Stores,
  config: DeploymentConfig,
  info: HarnessInfo,
  options: { tls?: boolean; withoutClientCert?: ClusterName[] } = {},
): Promise<void> {
  const paths = deploymentPaths(config.name);
  for (const role of ['primary', 'secondary'] as const) {
    const cluster = info.clusters[role];
    const tls = options.tls === true;
    if (tls && (info.tls === undefined || cluster.tlsBootstrapServers === undefined)) {
      throw new Error('the harness runs without its mTLS listener');
    }
    await stores.parameters.put(
      paths.clusterParameter(role),
      JSON.stringify({
        alias: config.clusters[role].alias,
        bootstrapServers: tls ? cluster.tlsBootstrapServers : cluster.bootstrapServers,
        securityProtocol: tls ? 'SSL' : 'PLAINTEXT',
      }),
    );
    const secret =
      tls && info.tls
        ? {
            ca: readFileSync(info.tls.caPath, 'utf8'),
            ...(options.withoutClientCert?.includes(role)
              ? {}
              : {
                  cert: readFileSync(info.tls.certPath, 'utf8'),
                  key: readFileSync(info.tls.keyPath, 'utf8'),
                }),
          }
        : {};
    await stores.secrets.put(paths.clusterSecret(role), new Redacted(JSON.stringify(secret)));
  }
}

/** Runs probe cycles as the probe function does (same connections, context and stores), collecting output. */
export class ProbeRig {
  readonly config: DeploymentConfig;
  readonly stores: Stores;
  readonly connections: ClusterConnections;
  readonly context: ProbeContext;
  readonly batches: MetricBatch[] = [];
  readonly logs: { level: string; message: string; extra: unknown[] }[] = [];

  constructor(config: DeploymentConfig, stores: Stores) {
    this.config = config;
    this.stores = stores;
    this.context = new ProbeContext(deploymentPaths(config.name));
    this.connections = new ClusterConnections({ config, stores });
  }

  async cycle(): Promise<ProbeResult> {
    const log =
      (level: string) =>
      (message: string, ...extra: unknown[]) => {
        this.logs.push({ level, message, extra });
      };
    return runProbeCycle(
      { config: this.config },
      {
        clients: this.connections,
        metrics: { emit: (b) => this.batches.push(b) },
        parameters: this.stores.parameters,
        logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
        context: this.context,
      },
    );
  }

  /** The values of one metric over all cycles so far, for one cluster. */
  metric(name: string, cluster?: string): number[] {
    return this.batches
      .filter((b) => b.dimensions.Cluster === cluster)
      .flatMap((b) => b.metrics.filter((m) => m.name === name).map((m) => m.value));
  }

  close(): Promise<void> {
    return this.connections.closeAll();
  }
}
