import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { SNSClient } from '@aws-sdk/client-sns';
import * as z from 'zod';
import { type Clock, systemClock } from '../clock.ts';
import { deploymentPaths } from '../config/paths.ts';
import type { DeploymentConfig } from '../config/schema.ts';
import { parseOrThrow } from '../config/validate.ts';
import type { ClusterConnections } from '../health/cluster-connections.ts';
import { probeOnce } from '../health/probe-once.ts';
import { type ClientCache, configFingerprint, type KafkaClientCache } from '../kafka/client-factory.ts';
import { type ClusterClient, createClusterClient } from '../kafka/cluster-client.ts';
import { clusterKafkaConfig } from '../kafka/cluster-config.ts';
import { replicationPolicy } from '../kafka/replication-policy.ts';
import type { Logger } from '../logger.ts';
import { SnsNotifier } from '../notify/sns-notifier.ts';
import { kafkaGroupOffsets } from '../offsets/kafka-group-offsets.ts';
import { lastReadiness } from '../readiness/stored-readiness.ts';
import type { Stores } from '../store/active-config.ts';
import { type StoreClients, storesOf } from '../store/aws-stores.ts';
import { DynamoJournal } from '../store/dynamo-journal.ts';
import { DynamoLock } from '../store/dynamo-lock.ts';
import { type RegionalClients, regionStoresOf } from '../store/regional-stores.ts';
import { SecretsManagerStore } from '../store/secrets-manager-store.ts';
import { DynamoEpochAuthority } from '../switch/dynamo-epoch-authority.ts';
import {
  type MoveMappingsInput,
  moveEventSourceMappings,
  secretArnOf,
} from '../switch/event-source-mappings.ts';
import type { FailoverDeps } from './failover.ts';
import type { ReadReplicationLag, ReprobeCluster } from './preflight.ts';

/**
 * Wires the failover's dependencies from long-lived clients. The handler creates the clients once per container
 * and calls this once; tests and the benchmark call it with clients pointed at moto and the harness.
 */

export interface FailoverClients extends StoreClients {
  dynamodb: Pick<DynamoDBClient, 'send'>;
  sns: Pick<SNSClient, 'send'>;
  /** Clients of an extra region (created on first use, kept per container). */
  regional: RegionalClients;
  /** Connected kafkajs admins, one per cluster. */
  kafka: KafkaClientCache;
  /** Cluster-level clients (checkpoint reads), one per cluster. */
  clusterClients: ClientCache<ClusterClient>;
  /** Lambda, to move the config's event source mappings (needed only when the config lists some). */
  lambda?: Pick<LambdaClient, 'send'>;
}

export interface FailoverSettings {
  config: DeploymentConfig;
  /** DynamoDB table of the lock and the journal (`MM2_FAILOVER_TABLE`). */
  table: string;
  /** SNS topic of the notifications (`MM2_FAILOVER_TOPIC_ARN`). */
  topicArn: string;
  homeRegion?: string;
  leaseMs?: number;
}

export interface FailoverPorts {
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** The health module's per-cluster probe. */
  reprobe: ReprobeCluster;
  /** The last measured replication lag (the probe's result in SSM). */
  readLag: ReadReplicationLag;
  clock?: Pick<Clock, 'now' | 'sleep'>;
}

export function failoverDependencies(
  settings: FailoverSettings,
  clients: FailoverClients,
  ports: FailoverPorts,
): FailoverDeps {
  const { config } = settings;
  const paths = deploymentPaths(config.name);
  const clock = ports.clock ?? systemClock;
  const stores = storesOf(clients);
  const lock = new DynamoLock(clients.dynamodb, {
    table: settings.table,
    deployment: config.name,
    ...(settings.leaseMs ? { leaseMs: settings.leaseMs } : {}),
    clock,
  });
  const secondaryConfig = () => clusterKafkaConfig({ stores, paths, config }, 'secondary', 'failover');
  const secondaryName = `${config.name}/secondary`;
  const secondaryGroups = kafkaGroupOffsets({
    cluster: async () => {
      const kafkaConfig = await secondaryConfig();
      return clients.clusterClients.get(secondaryName, configFingerprint(kafkaConfig), async () =>
        createClusterClient(kafkaConfig),
      );
    },
    checkpointsTopic: replicationPolicy(config).checkpointsTopic(config.clusters.primary.alias),
    onFailure: () => {
      clients.kafka.forget(secondaryName);
      clients.clusterClients.forget(secondaryName);
    },
  });
  const authority = new DynamoEpochAuthority(clients.dynamodb, {
    table: settings.table,
    deployment: config.name,
    lock,
  });
  const { lambda } = clients;
  return {
    config,
    paths,
    stores,
    regionStores: regionStoresOf(clients.regional),
    ...(settings.homeRegion ? { homeRegion: settings.homeRegion } : {}),
    lock,
    versions: new SecretsManagerStore(clients.secretsManager),
    authority,
    journal: new DynamoJournal(clients.dynamodb, {
      table: settings.table,
      deployment: config.name,
      kind: 'failover',
      lock,
      clock,
    }),
    reprobe: ports.reprobe,
    readReadiness: lastReadiness(stores.parameters, paths),
    readLag: ports.readLag,
    secondaryGroups,
    notifier: new SnsNotifier(clients.sns, settings.topicArn),
    clock,
    logger: ports.logger,
    ...(lambda && config.eventSourceMappings.length > 0
      ? {
          moveMappings: (input: MoveMappingsInput) =>
            moveEventSourceMappings(
              input,
              { config, activeCredentialsSecret: paths.activeCredentialsSecret },
              { lambda, secretArn: secretArnOf(clients.secretsManager), authority, logger: ports.logger },
            ),
        }
      : {}),
  };
}

const environmentSchema = z.object({
  MM2_FAILOVER_TABLE: z.string().min(1, 'expected the DynamoDB table of the lock and journal'),
  MM2_FAILOVER_TOPIC_ARN: z.string().startsWith('arn:', 'expected the SNS topic ARN of the notifications'),
  AWS_REGION: z.string().optional(),
});

/** The function's environment, read once at cold start; a missing variable fails naming it. */
export function failoverEnvironment(env: NodeJS.ProcessEnv): {
  table: string;
  topicArn: string;
  region?: string;
} {
  const e = parseOrThrow(environmentSchema, env, 'environment');
  return {
    table: e.MM2_FAILOVER_TABLE,
    topicArn: e.MM2_FAILOVER_TOPIC_ARN,
    ...(e.AWS_REGION ? { region: e.AWS_REGION } : {}),
  };
}

/**
 * The preflight's re-probe: the health module's `probeOnce`, the very check the scheduled probe runs each cycle,
 * on a module-scope {@link ClusterConnections} so clients are reused and rebuilt only after a failure.
 */
export function healthReprobe(
  config: DeploymentConfig,
  stores: Stores,
  connections: ClusterConnections,
): ReprobeCluster {
  return async (role) => {
    const health = await probeOnce(config, role, { stores, connections });
    return {
      verdict: health.verdict,
      reasons: [...health.reasons, ...(health.detail ? [health.detail] : [])],
    };
  };
}
