import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { SNSClient } from '@aws-sdk/client-sns';
import { Kafka, type KafkaConfig } from 'kafkajs';
import * as z from 'zod';
import { systemClock } from '../clock.ts';
import { deploymentPaths } from '../config/paths.ts';
import type { ClusterRole, DeploymentConfig } from '../config/schema.ts';
import { parseOrThrow } from '../config/validate.ts';
import { MissingConfigurationError } from '../errors.ts';
import { type ClientCache, configFingerprint, type KafkaClientCache } from '../kafka/client-factory.ts';
import { type ClusterClient, createClusterClient } from '../kafka/cluster-client.ts';
import { clusterKafkaConfig } from '../kafka/cluster-config.ts';
import { replicationPolicy } from '../kafka/replication-policy.ts';
import { SnsNotifier } from '../notify/sns-notifier.ts';
import { kafkaGroupOffsets } from '../offsets/kafka-group-offsets.ts';
import { type StoreClients, storesOf } from '../store/aws-stores.ts';
import { DynamoJournal } from '../store/dynamo-journal.ts';
import { DynamoLock } from '../store/dynamo-lock.ts';
import { Redacted } from '../store/redacted.ts';
import { type RegionalClients, regionStoresOf } from '../store/regional-stores.ts';
import { SecretsManagerStore } from '../store/secrets-manager-store.ts';
import { DynamoEpochAuthority } from '../switch/dynamo-epoch-authority.ts';
import {
  type MoveMappingsInput,
  moveEventSourceMappings,
  secretArnOf,
} from '../switch/event-source-mappings.ts';
import { AivenController } from './aiven-controller.ts';
import type { FailbackCluster } from './cluster-ops.ts';
import type { FailbackInvocation } from './failback.ts';
import type { Fetch } from './http-json.ts';
import { failbackJournal } from './journal.ts';
import { KafkaConnectController } from './kafka-connect-controller.ts';
import { KafkajsCluster } from './kafkajs-cluster.ts';
import { ManualController } from './manual-controller.ts';
import type { MirrorController } from './mirror-controller.ts';
import type { MirrorStep } from './payload.ts';
import type { FailbackDeps } from './phase-context.ts';

/**
 * Wires failback's dependencies from long-lived clients, once per container (the handler) or per test (the
 * integration tests, with clients pointed at the harness and moto).
 */
export interface FailbackClients extends StoreClients {
  dynamodb: Pick<DynamoDBClient, 'send'>;
  /** Clients of an extra region (created on first use, kept per container), as failover has them. */
  regional: RegionalClients;
  sns?: Pick<SNSClient, 'send'>;
  kafka: KafkaClientCache;
  clusterClients: ClientCache<ClusterClient>;
  fetch?: Fetch;
  /** Builds a kafkajs instance (tests may tune logging). */
  createKafka?: (config: KafkaConfig) => Kafka;
  /** Lambda, to move the config's event source mappings (needed only when the config lists some). */
  lambda?: Pick<LambdaClient, 'send'>;
}

const environmentSchema = z.object({
  MM2_FAILOVER_TABLE: z
    .string()
    .min(1, 'expected the DynamoDB table of the lock and journal (shared with failover)'),
  MM2_FAILOVER_TOPIC_ARN: z
    .string()
    .startsWith('arn:', 'expected the SNS topic ARN of the notifications')
    .optional(),
  AWS_REGION: z.string().optional(),
});

/** The function's environment, read once at cold start; a missing or malformed variable fails naming it. */
export function failbackEnvironment(env: NodeJS.ProcessEnv): {
  table: string;
  topicArn?: string;
  region?: string;
} {
  const e = parseOrThrow(environmentSchema, env, 'environment');
  return {
    table: e.MM2_FAILOVER_TABLE,
    ...(e.MM2_FAILOVER_TOPIC_ARN ? { topicArn: e.MM2_FAILOVER_TOPIC_ARN } : {}),
    ...(e.AWS_REGION ? { region: e.AWS_REGION } : {}),
  };
}

export interface FailbackSettings {
  config: DeploymentConfig;
  table: string;
  /** SNS topic for notifications (failover's); none: no notifications. */
  topicArn?: string;
  /** The function's own region (`AWS_REGION`): not an extra region even if the config lists it. */
  homeRegion?: string;
  leaseMs?: number;
}

export interface FailbackWiring {
  deps: FailbackDeps;
  invocation: (holder: string, deadlineAt: number) => FailbackInvocation;
  close(): Promise<void>;
}

export function failbackDependencies(
  settings: FailbackSettings,
  clients: FailbackClients,
  ports: Pick<FailbackDeps, 'logger'> & Partial<Pick<FailbackDeps, 'clock' | 'sleep'>>,
): FailbackWiring {
  const { config } = settings;
  const paths = deploymentPaths(config.name);
  const stores = storesOf(clients);
  const clock = ports.clock ?? systemClock;
  const policy = replicationPolicy(config);
  const createKafka = clients.createKafka ?? ((c: KafkaConfig) => new Kafka(c));
  const clusters = new Map<ClusterRole, Promise<KafkajsCluster>>();
  const cluster = (role: ClusterRole): Promise<KafkajsCluster> => {
    let c = clusters.get(role);
    if (!c) {
      c = (async () => {
        const kafkaConfig = await clusterKafkaConfig({ stores, paths, config }, role, 'failback');
        const name = `${config.name}/${role}/failback`;
        // The checkpoints that translate offsets *into* this cluster were written by the flow from the other one.
        const other = role === 'primary' ? config.clusters.secondary.alias : config.clusters.primary.alias;
        const clusterClient = () =>
          clients.clusterClients.get(name, configFingerprint(kafkaConfig), async () =>
            createClusterClient(kafkaConfig),
          );
        const forget = () => {
          clients.kafka.forget(name);
          clients.clusterClients.forget(name);
        };
        return new KafkajsCluster({
          alias: config.clusters[role].alias,
          kafka: createKafka(kafkaConfig),
          groups: kafkaGroupOffsets({
            cluster: clusterClient,
            checkpointsTopic: policy.checkpointsTopic(other),
            onFailure: forget,
          }),
          clusterClient,
          onClusterClientFailure: forget,
        });
      })();
      c.catch(() => clusters.delete(role));
      clusters.set(role, c);
    }
    return c;
  };
  const lazy = (role: ClusterRole): FailbackCluster =>
    lazyCluster(config.clusters[role].alias, () => cluster(role));
  let aivenToken: Promise<Redacted<string>> | undefined;
  const mirror = (confirmed: ReadonlySet<MirrorStep>): MirrorController => {
    const m = config.mirror;
    const aliases = {
      primaryAlias: config.clusters.primary.alias,
      secondaryAlias: config.clusters.secondary.alias,
    };
    switch (m.kind) {
      case 'kafka-connect':
        return new KafkaConnectController({
          forwardUrl: m.forwardUrl,
          reverseUrl: m.reverseUrl,
          connectorPrefix: m.connectorPrefix,
          ...aliases,
          ...(clients.fetch ? { fetch: clients.fetch } : {}),
        });
      case 'aiven':
        return new AivenController({
          apiUrl: m.apiUrl,
          project: m.project,
          service: m.service,
          token: () => {
            aivenToken ??= readAivenToken(stores.secrets, m.tokenSecret);
            aivenToken.catch(() => {
              aivenToken = undefined;
            });
            return aivenToken;
          },
          ...aliases,
          ...(clients.fetch ? { fetch: clients.fetch } : {}),
        });
      case 'manual':
        return new ManualController({ ...aliases, confirmed });
    }
  };
  const lock = new DynamoLock(clients.dynamodb, {
    table: settings.table,
    deployment: config.name,
    ...(settings.leaseMs ? { leaseMs: settings.leaseMs } : {}),
    clock,
  });
  const runJournal = new DynamoJournal(clients.dynamodb, {
    table: settings.table,
    deployment: config.name,
    kind: 'failback',
    lock,
    clock,
  });
  const authority = new DynamoEpochAuthority(clients.dynamodb, {
    table: settings.table,
    deployment: config.name,
    lock,
  });
  const { lambda } = clients;
  return {
    deps: {
      versions: new SecretsManagerStore(clients.secretsManager),
      authority,
      config,
      paths,
      stores,
      regionStores: regionStoresOf(clients.regional),
      ...(settings.homeRegion ? { homeRegion: settings.homeRegion } : {}),
      primary: lazy('primary'),
      secondary: lazy('secondary'),
      mirror,
      clock,
      sleep: ports.sleep ?? systemClock.sleep,
      logger: ports.logger,
      ...(settings.topicArn && clients.sns
        ? { notifier: new SnsNotifier(clients.sns, settings.topicArn) }
        : {}),
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
    },
    invocation: (holder, deadlineAt) => ({ journal: failbackJournal(runJournal), lock, holder, deadlineAt }),
    async close() {
      for (const c of clusters.values()) await (await c.catch(() => undefined))?.close();
      clusters.clear();
    },
  };
}

async function readAivenToken(
  secrets: { get(name: string): Promise<Redacted<string> | undefined> },
  name: string,
): Promise<Redacted<string>> {
  const secret = await secrets.get(name);
  if (!secret) throw new MissingConfigurationError(`secret ${name} (the Aiven API token)`);
  let token: unknown;
  try {
    token = (JSON.parse(secret.reveal()) as { token?: unknown }).token;
  } catch {
    token = undefined;
  }
  if (typeof token !== 'string' || token.length === 0) {
    throw new MissingConfigurationError(`secret ${name} in a usable form: expected JSON { "token": "..." }`);
  }
  return new Redacted(token);
}

/** A cluster whose client is built on first use (its parameter and secret are read then). */
function lazyCluster(alias: string, get: () => Promise<FailbackCluster>): FailbackCluster {
  const call =
    <K extends keyof FailbackCluster>(k: K) =>
    async (...args: unknown[]) =>
      ((await get())[k] as (...a: unknown[]) => unknown)(...args);
  return {
    alias,
    health: async () => {
      try {
        return await (await get()).health();
      } catch (e: unknown) {
        return { healthy: false, detail: (e as Error).message };
      }
    },
    offsets: call('offsets') as FailbackCluster['offsets'],
    read: call('read') as FailbackCluster['read'],
    ensureTopic: call('ensureTopic') as FailbackCluster['ensureTopic'],
    append: call('append') as FailbackCluster['append'],
    deleteRecordsBefore: call('deleteRecordsBefore') as FailbackCluster['deleteRecordsBefore'],
    readOffsetSyncs: call('readOffsetSyncs') as FailbackCluster['readOffsetSyncs'],
    readCheckpoints: call('readCheckpoints') as FailbackCluster['readCheckpoints'],
    describeGroup: call('describeGroup') as FailbackCluster['describeGroup'],
    committedOffsets: call('committedOffsets') as FailbackCluster['committedOffsets'],
    commitOffsets: call('commitOffsets') as FailbackCluster['commitOffsets'],
  };
}
