import { readFileSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateTopicCommand, type PublishCommandInput, SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import { awsClientConfig } from '#harness/aws-clients.ts';
import type { HarnessInfo } from '#harness/info.ts';
import { uniqueName } from '#harness/unique-name.ts';
import { type DeploymentPaths, deploymentPaths } from '#shared/config/paths.ts';
import {
  type DeploymentConfig,
  type DeploymentConfigInput,
  deploymentConfigSchema,
} from '#shared/config/schema.ts';
import { failoverDependencies, healthReprobe } from '#shared/failover/dependencies.ts';
import type { FailoverDeps } from '#shared/failover/failover.ts';
import { initialiseActiveConfig } from '#shared/failover/initialise-active.ts';
import { lastMeasuredLag } from '#shared/failover/last-lag.ts';
import { ClusterConnections } from '#shared/health/cluster-connections.ts';
import { ProbeContext, runProbeCycle } from '#shared/health/probe-cycle.ts';
import type { ProbeResult } from '#shared/health/probe-result.ts';
import { ClientCache, KafkaClientCache } from '#shared/kafka/client-factory.ts';
import type { ClusterClient } from '#shared/kafka/cluster-client.ts';
import type { Stores } from '#shared/store/active-config.ts';
import { ensureFailoverTable } from '#shared/store/dynamo-table.ts';
import { Redacted } from '#shared/store/redacted.ts';
import { SecretsManagerStore } from '#shared/store/secrets-manager-store.ts';
import { SsmParameterStore } from '#shared/store/ssm-parameter-store.ts';

/**
 * A failover deployment on the harness, shared by the failover integration tests and `npm run bench:failover`:
 * its own name (so its parameters, secrets, lock and journal are its own), the primary reached over PLAINTEXT
 * with no credentials and the secondary over the mTLS listener with the harness's client certificate, so that
 * "the credentials are the secondary's" is something a test can see.
 */

const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** AWS clients on moto that count every API call they make (by command name). */
export class CountingAws {
  readonly ssm: SSMClient;
  readonly secretsManager: SecretsManagerClient;
  readonly dynamodb: DynamoDBClient;
  readonly sns: SNSClient;
  readonly calls: string[] = [];
  readonly published: PublishCommandInput[] = [];

  constructor(info: HarnessInfo) {
    const config = awsClientConfig(info);
    this.ssm = this.#count(new SSMClient(config));
    this.secretsManager = this.#count(new SecretsManagerClient(config));
    this.dynamodb = this.#count(new DynamoDBClient(config));
    this.sns = this.#count(new SNSClient(config));
  }

  #count<C extends SSMClient | SecretsManagerClient | DynamoDBClient | SNSClient>(client: C): C {
    // The SDK's own middleware stack sees every command, retries included once each.
    (client.middlewareStack as SSMClient['middlewareStack']).add(
      (next, context) => async (args) => {
        this.calls.push(`${context.clientName ?? 'client'}.${context.commandName ?? 'command'}`);
        if (context.commandName === 'PublishCommand') this.published.push(args.input as PublishCommandInput);
        return next(args);
      },
      { step: 'initialize', name: 'countCalls' },
    );
    return client;
  }

  reset(): void {
    this.calls.length = 0;
    this.published.length = 0;
  }

  destroy(): void {
    for (const c of [this.ssm, this.secretsManager, this.dynamodb, this.sns]) c.destroy();
  }
}

export interface TlsMaterial {
  ca: string;
  cert: string;
  key: string;
}

export function tlsMaterial(info: HarnessInfo): TlsMaterial {
  const tls = info.tls;
  if (!tls) throw new Error('the failover tests need the harness mTLS listener');
  return {
    ca: readFileSync(tls.caPath, 'utf8'),
    cert: readFileSync(tls.certPath, 'utf8'),
    key: readFileSync(tls.keyPath, 'utf8'),
  };
}

export interface Deployment {
  config: DeploymentConfig;
  paths: DeploymentPaths;
  stores: Stores;
  table: string;
  topicArn: string;
  /** What the secondary's operator-written secret holds. */
  secondaryCredentials: TlsMaterial;
  /** Fresh dependencies, as one Lambda container would build them (own Kafka clients). */
  deps(options?: { leaseMs?: number; stores?: Stores; logger?: FailoverDeps['logger'] }): FailoverDeps;
  /** Run one probe cycle (the scheduled probe's), which stores the last probe result the preflight reads. */
  probe(): Promise<ProbeResult>;
  close(): Promise<void>;
}

export async function createDeployment(
  info: HarnessInfo,
  aws: CountingAws,
  overrides: Partial<DeploymentConfigInput> & { topics: string[] },
): Promise<Deployment> {
  const table = uniqueName('mm2-failover');
  await ensureFailoverTable(aws.dynamodb, table);
  const topicArn = (await aws.sns.send(new CreateTopicCommand({ Name: uniqueName('mm2-failover') })))
    .TopicArn;
  if (!topicArn) throw new Error('moto created an SNS topic without an ARN');
  const config = deploymentConfigSchema.parse({
    name: uniqueName('fo'),
    mode: 'active-passive',
    replicationPolicy: info.mirror.direction.policy,
    separator: info.mirror.direction.separator,
    clusters: {
      primary: { alias: info.clusters.primary.alias, auth: 'none', expectedBrokers: 1 },
      secondary: { alias: info.clusters.secondary.alias, auth: 'mtls', expectedBrokers: 1 },
    },
    consumerGroups: [],
    // Quick to judge a dead broker on loopback, yet patient enough for a busy 2-core machine.
    detection: {
      confirmProbes: 3,
      confirmIntervalMs: 300,
      connectTimeoutMs: 1_500,
      requestTimeoutMs: 4_000,
      cycleDeadlineMs: 8_000,
    },
    mirror: {
      kind: 'kafka-connect',
      forwardUrl: info.mirror.connectUrl ?? 'http://127.0.0.1:1',
      reverseUrl: info.reverseWorker.connectUrl,
    },
    ...overrides,
  });
  const paths = deploymentPaths(config.name);
  const stores: Stores = {
    parameters: new SsmParameterStore(aws.ssm),
    secrets: new SecretsManagerStore(aws.secretsManager),
  };
  const secondaryTls = info.clusters.secondary.tlsBootstrapServers;
  if (!secondaryTls) throw new Error('the failover tests need the harness mTLS listener');
  const secondaryCredentials = tlsMaterial(info);
  await stores.parameters.put(
    paths.clusterParameter('primary'),
    JSON.stringify({
      alias: config.clusters.primary.alias,
      bootstrapServers: info.clusters.primary.bootstrapServers,
      securityProtocol: 'PLAINTEXT',
    }),
  );
  await stores.secrets.put(paths.clusterSecret('primary'), new Redacted('{}'));
  await stores.parameters.put(
    paths.clusterParameter('secondary'),
    JSON.stringify({
      alias: config.clusters.secondary.alias,
      bootstrapServers: secondaryTls,
      securityProtocol: 'SSL',
    }),
  );
  await stores.secrets.put(
    paths.clusterSecret('secondary'),
    new Redacted(JSON.stringify(secondaryCredentials)),
  );
  await stores.parameters.put(paths.automationParameter, 'enabled');
  await initialiseActiveConfig({ requestedBy: 'integration test' }, { config, stores });

  const kafkaCaches: Array<{ closeAll(): Promise<void> }> = [];
  const probeConnections = new ClusterConnections({ config, stores });
  const probeContext = new ProbeContext();
  return {
    config,
    paths,
    stores,
    table,
    topicArn,
    secondaryCredentials,
    deps: (options = {}) => {
      const kafka = new KafkaClientCache();
      const clusterClients = new ClientCache<ClusterClient>((c) => c.close());
      const connections = new ClusterConnections({ config, stores });
      kafkaCaches.push(kafka, clusterClients, connections);
      const depStores = options.stores ?? stores;
      const deps = failoverDependencies(
        { config, table, topicArn, ...(options.leaseMs ? { leaseMs: options.leaseMs } : {}) },
        {
          ssm: aws.ssm,
          secretsManager: aws.secretsManager,
          dynamodb: aws.dynamodb,
          sns: aws.sns,
          regional: () => ({ ssm: aws.ssm, secretsManager: aws.secretsManager }),
          kafka,
          clusterClients,
        },
        {
          logger: options.logger ?? quiet,
          reprobe: healthReprobe(config, depStores, connections),
          readLag: lastMeasuredLag(depStores, config),
        },
      );
      return { ...deps, stores: depStores };
    },
    probe: () =>
      runProbeCycle(
        { config },
        {
          clients: probeConnections,
          metrics: { emit: () => {} },
          parameters: stores.parameters,
          logger: quiet,
          context: probeContext,
        },
      ),
    close: async () => {
      await Promise.all([...kafkaCaches, probeConnections].map((c) => c.closeAll()));
    },
  };
}
