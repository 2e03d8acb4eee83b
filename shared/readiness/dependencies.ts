import type { KafkaConfig } from 'kafkajs';
import type { ClusterRole, DeploymentConfig } from '../config/schema.ts';
import { MissingConfigurationError } from '../errors.ts';
import type { Fetch } from '../failback/http-json.ts';
import type { ReplicationDirection } from '../health/detection-policy.ts';
import { ClientCache, configFingerprint, KafkaClientCache } from '../kafka/client-factory.ts';
import { type ClusterClient, createClusterClient } from '../kafka/cluster-client.ts';
import { Redacted } from '../store/redacted.ts';
import type { SecretStore } from '../store/stores.ts';
import { readAivenMirror } from './aiven-mirror.ts';
import type { FixDeps } from './apply-fixes.ts';
import { type AuditDeps, auditReadiness, type ReadinessReport } from './audit.ts';
import { readKafkaConnectMirror } from './kafka-connect-mirror.ts';
import { KafkajsReadinessCluster } from './kafkajs-readiness-cluster.ts';
import type { MirrorSetup } from './mirror-setup.ts';
import { httpSchemaRegistry } from './schema-registry.ts';

/**
 * Wires the audit (and its fixes) to real clients, once per container: a cluster client and a kafkajs admin per
 * cluster, built from the same cluster definitions the probe uses and rebuilt after a failure; MM2's
 * configuration from Kafka Connect or Aiven as the deployment's `mirror` says; the registries when configured.
 */
export interface ReadinessWiringOptions {
  config: DeploymentConfig;
  /** The kafkajs config of each cluster (the probe's `ClusterConnections`: definitions cached and refreshed). */
  kafkaConfig(role: ClusterRole): Promise<KafkaConfig>;
  /** Where the Aiven token secret is read. */
  secrets: Pick<SecretStore, 'get'>;
  fetch?: Fetch;
}

export interface ReadinessWiring {
  audit(): Promise<ReadinessReport>;
  fixes: FixDeps;
  close(): Promise<void>;
}

export function readinessDependencies(options: ReadinessWiringOptions): ReadinessWiring {
  const { config } = options;
  const admins = new KafkaClientCache();
  const clients = new ClientCache<ClusterClient>((c) => c.close());
  const cluster = (role: ClusterRole) => {
    const name = `${config.name}/${role}/readiness`;
    return new KafkajsReadinessCluster({
      role,
      admin: async () => admins.admin(name, await options.kafkaConfig(role)),
      client: async () => {
        const kafkaConfig = await options.kafkaConfig(role);
        return clients.get(name, configFingerprint(kafkaConfig), async () =>
          createClusterClient(kafkaConfig),
        );
      },
      onFailure: () => {
        admins.forget(name);
        clients.forget(name);
      },
    });
  };
  const clusters = { primary: cluster('primary'), secondary: cluster('secondary') };

  let token: Promise<Redacted<string>> | undefined;
  const m = config.mirror;
  const aivenToken =
    m.kind === 'aiven'
      ? () => {
          token ??= readAivenToken(options.secrets, m.tokenSecret);
          token.catch(() => {
            token = undefined;
          });
          return token;
        }
      : undefined;
  const fetchOption = options.fetch ? { fetch: options.fetch } : {};
  const mirror = (d: ReplicationDirection): Promise<MirrorSetup> => {
    if (m.kind === 'kafka-connect') {
      return readKafkaConnectMirror({
        url: d.target === 'secondary' ? m.forwardUrl : m.reverseUrl,
        connectorPrefix: m.connectorPrefix,
        sourceAlias: d.sourceAlias,
        targetAlias: d.targetAlias,
        ...fetchOption,
      });
    }
    if (m.kind === 'aiven' && aivenToken) {
      return readAivenMirror({
        apiUrl: m.apiUrl,
        project: m.project,
        service: m.service,
        token: aivenToken,
        sourceAlias: d.sourceAlias,
        targetAlias: d.targetAlias,
        ...fetchOption,
      });
    }
    return Promise.resolve({
      kind: 'not-checked',
      why: 'the deployment runs MM2 by hand (mirror.kind manual): its configuration cannot be read',
    });
  };
  const urls = config.readiness.schemaRegistry;
  const deps: AuditDeps = {
    clusters,
    mirror,
    ...(urls
      ? {
          registries: {
            primary: httpSchemaRegistry(urls.primary, fetchOption),
            secondary: httpSchemaRegistry(urls.secondary, fetchOption),
          },
        }
      : {}),
  };
  return {
    audit: () => auditReadiness(config, deps),
    fixes: { admins: clusters, ...fetchOption, ...(aivenToken ? { aivenToken } : {}) },
    close: async () => {
      await Promise.all([admins.closeAll(), clients.closeAll()]);
    },
  };
}

/** `{ "token": "..." }` from the secret `mirror.tokenSecret`, as failback reads it. */
async function readAivenToken(secrets: Pick<SecretStore, 'get'>, name: string): Promise<Redacted<string>> {
  const secret = await secrets.get(name);
  if (!secret) throw new MissingConfigurationError(`secret ${name} (the Aiven API token)`);
  let value: unknown;
  try {
    value = (JSON.parse(secret.reveal()) as { token?: unknown }).token;
  } catch {
    value = undefined;
  }
  if (typeof value !== 'string' || value.length === 0) {
    throw new MissingConfigurationError(`secret ${name} in a usable form: expected JSON { "token": "..." }`);
  }
  return new Redacted(value);
}
