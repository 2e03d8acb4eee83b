import { type KafkaConfig, type logCreator, logLevel } from 'kafkajs';
import { type Clock, systemClock } from '../clock.ts';
import { type DeploymentPaths, deploymentPaths } from '../config/paths.ts';
import type { ClusterRole, DeploymentConfig } from '../config/schema.ts';
import { buildKafkaConfig, ClientCache, configFingerprint } from '../kafka/client-factory.ts';
import { type ClusterClient, createClusterClient } from '../kafka/cluster-client.ts';
import type { FailureReason } from '../kafka/failure-reason.ts';
import { type ClusterDefinition, readClusterDefinition, type Stores } from '../store/active-config.ts';

/**
 * The probe's Kafka clients, once per container: each cluster's definition (parameter + secret) is read from
 * the stores and cached for a while (so a rotated certificate is picked up within minutes), and one
 * {@link ClusterClient} per cluster is kept across cycles and invocations, rebuilt after a failure or when the
 * definition changed.
 */
export interface ClusterConnectionsOptions {
  config: DeploymentConfig;
  stores: Stores;
  /** kafkajs clientId (default `mm2-failover-<name>-probe`). */
  clientId?: string;
  /** How long a cluster definition read from the stores is reused (default 5 minutes). */
  definitionTtlMs?: number;
  createClient?: (config: KafkaConfig) => ClusterClient;
  clock?: Pick<Clock, 'now'>;
  /** Where kafkajs' own log lines go (default: dropped; set KAFKAJS_LOG_LEVEL to see them on the console). */
  logCreator?: logCreator;
}

/** The narrow view the probe cycle needs. */
export interface ClusterClients {
  client(role: ClusterRole): Promise<ClusterClient>;
  /** The last client failed: drop it (and, after auth or config failures, the cached definition too). */
  forget(role: ClusterRole, reason?: FailureReason): void;
}

const DEFAULT_DEFINITION_TTL_MS = 5 * 60_000;

export class ClusterConnections implements ClusterClients {
  readonly #options: ClusterConnectionsOptions;
  readonly #paths: DeploymentPaths;
  readonly #clients = new ClientCache<ClusterClient>((c) => c.close());
  readonly #definitions = new Map<ClusterRole, { at: number; definition: Promise<ClusterDefinition> }>();
  readonly #clock: Pick<Clock, 'now'>;

  constructor(options: ClusterConnectionsOptions) {
    this.#options = options;
    // Once per container, like the clients: every definition read goes to the same names.
    this.#paths = deploymentPaths(options.config.name);
    this.#clock = options.clock ?? systemClock;
  }

  async client(role: ClusterRole): Promise<ClusterClient> {
    const kafkaConfig = await this.kafkaConfig(role);
    const create = this.#options.createClient ?? ((c: KafkaConfig) => createClusterClient(c));
    return this.#clients.get(role, configFingerprint(kafkaConfig), async () => create(kafkaConfig));
  }

  /** The kafkajs config the probe uses for `role`: the detection timeouts, no retries. */
  async kafkaConfig(role: ClusterRole): Promise<KafkaConfig> {
    const { config } = this.#options;
    const definition = await this.#definition(role);
    return buildKafkaConfig(definition.parameter, definition.credentials, {
      clientId: this.#options.clientId ?? `mm2-failover-${config.name}-probe`,
      connectTimeoutMs: config.detection.connectTimeoutMs,
      requestTimeoutMs: config.detection.requestTimeoutMs,
      // A probe wants an answer within its deadline, not a retry loop.
      retries: 0,
      logLevel: this.#options.logCreator ? logLevel.WARN : logLevel.NOTHING,
      ...(this.#options.logCreator ? { logCreator: this.#options.logCreator } : {}),
      ...(config.clusters[role].region ? { region: config.clusters[role].region } : {}),
    });
  }

  forget(role: ClusterRole, reason?: FailureReason): void {
    this.#clients.forget(role);
    if (reason === 'auth-failed' || reason === 'config-error') this.#definitions.delete(role);
  }

  async closeAll(): Promise<void> {
    this.#definitions.clear();
    await this.#clients.closeAll();
  }

  #definition(role: ClusterRole): Promise<ClusterDefinition> {
    const now = this.#clock.now();
    const cached = this.#definitions.get(role);
    if (cached && now - cached.at < (this.#options.definitionTtlMs ?? DEFAULT_DEFINITION_TTL_MS)) {
      return cached.definition;
    }
    const { config, stores } = this.#options;
    const paths = this.#paths;
    const definition = readClusterDefinition(
      stores,
      paths,
      role,
      config.clusters[role].secretArn ?? paths.clusterSecret(role),
    );
    const entry = { at: now, definition };
    this.#definitions.set(role, entry);
    definition.catch(() => {
      if (this.#definitions.get(role) === entry) this.#definitions.delete(role);
    });
    return definition;
  }
}
