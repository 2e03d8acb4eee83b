import type { KafkaConfig } from 'kafkajs';
import { type Clock, systemClock } from '../clock.ts';
import type {
  ActiveConfig,
  ActiveCredentials,
  ClientRole,
  SecurityProtocol,
  TopicRoute,
  TopicRouting,
} from '../config/contract.ts';
import { deploymentPaths } from '../config/paths.ts';
import type { ClusterRole } from '../config/schema.ts';
import { MissingConfigurationError, TornReadError, ValidationError } from '../errors.ts';
import { buildKafkaConfig, type KafkaClientOptions as FactoryOptions } from '../kafka/client-factory.ts';
import { readActiveOnce, type Stores } from '../store/active-config.ts';
import { Redacted } from '../store/redacted.ts';
import { signalledStores } from './signalled-stores.ts';

/**
 * How the library builds kafkajs clients for whichever cluster is active: the options of `buildKafkaConfig`
 * (shared/kafka/client-factory.ts) with application-friendly defaults.
 */
export type KafkaClientOptions = Omit<FactoryOptions, 'connectTimeoutMs' | 'requestTimeoutMs' | 'retries'> & {
  /**
   * TCP + TLS connect timeout. kafkajs' default (1 s) is tight for TLS over a WAN; a few seconds keeps a dead
   * cluster from holding a switch up for long. Default 3,000 ms.
   */
  connectTimeoutMs?: number;
  /** Per-request timeout; kafkajs' 30 s default makes a hung broker look alive for half a minute. Default 10,000 ms. */
  requestTimeoutMs?: number;
  /**
   * kafkajs `retry.retries` inside each client. Default 2: applications ride out a blip; the following producer
   * also retries on its own, across switches.
   */
  retries?: number;
};

export const defaultKafkaOptions = { connectTimeoutMs: 3_000, requestTimeoutMs: 10_000, retries: 2 } as const;

/** Where a client connects: a cluster, a ready kafkajs configuration for it, and the topic routes there. */
export interface ClusterConnection {
  readonly cluster: ClusterRole;
  /** The cluster's MirrorMaker 2 alias. */
  readonly alias: string;
  readonly bootstrapServers: readonly string[];
  readonly securityProtocol: SecurityProtocol;
  readonly sasl?: ActiveConfig['sasl'];
  /**
   * The kafkajs configuration for the cluster (brokers, TLS or SASL with its credentials, timeouts).
   * Redacted because it holds the private key or password: `new Kafka(config.kafka.reveal())`.
   */
  readonly kafka: Redacted<KafkaConfig>;
  /**
   * How every logical topic maps on this cluster: produce to `producePrefix + topic`, subscribe to each
   * `subscribePrefix + topic`. Absent only when read from a format 1 parameter, which listed every topic in
   * `topics`. Use {@link routeOf} rather than either field: it applies both.
   */
  readonly routing?: TopicRouting;
  /** Routes listed one by one: a format 1 parameter's every topic; in format 2 only a topic the rule does not fit. */
  readonly topics: Readonly<Record<string, TopicRoute>>;
}

/**
 * During stage 1 of a staged failback switch: the cluster one role (`producers` or `consumers`) stays on until the
 * next epoch, with a ready kafkajs configuration built from the active-credentials secret's `holdback`.
 */
export interface HeldBackCluster extends ClusterConnection {
  readonly role: ClientRole;
}

/**
 * The active configuration of a deployment as an application uses it: which cluster, a ready kafkajs
 * configuration for it, and the topic mapping. Always built from a parameter and a secret of the same epoch.
 *
 * During stage 1 of a staged failback switch, `holdback` keeps one role on the secondary while every other client
 * uses the fields above; {@link roleView} gives the effective configuration of a role (the following producer and
 * consumer use it).
 */
export interface ActiveClientConfig extends ClusterConnection {
  /** The deployment's `name` (everything lives under `/mm2-failover/<name>/`). */
  readonly deployment: string;
  /** Fencing token: grows by one on every switch. */
  readonly epoch: number;
  readonly switchedAt: string;
  readonly reason: string;
  /** SSM version of the parameter this was read from. */
  readonly parameterVersion: number;
  /** Only during stage 1 of a staged failback switch: where the held-back role stays. See {@link roleView}. */
  readonly holdback?: HeldBackCluster;
}

export interface LoadActiveConfigOptions {
  /** The deployment's `name` from `failover.config.json`. */
  deployment: string;
  /** Where the configuration lives; see {@link createAwsStores}. */
  stores: Stores;
  kafka: KafkaClientOptions;
  /**
   * How long to keep re-reading while the parameter's and the secret's epochs differ (a switch in flight)
   * before giving up with {@link TornReadError}. A switch writes both within milliseconds, so seconds of
   * disagreement mean it stopped half-way. Default 10,000 ms.
   */
  tornReadDeadlineMs?: number;
  /**
   * Aborts the read: every SSM and Secrets Manager call under way and the torn-read retries. The read then throws
   * the signal's reason (a `TimeoutError` for `AbortSignal.timeout(ms)`), as `fetch` does.
   */
  signal?: AbortSignal;
  clock?: Clock;
}

export const defaultTornReadDeadlineMs = 10_000;

/**
 * Read the active configuration once, consistently: parameter and secret of the same epoch, or an error.
 *
 * A torn read (the secret already holds the next epoch, the parameter not yet) is retried with a short backoff
 * until consistent or until `tornReadDeadlineMs`; a mixed configuration is never returned.
 *
 * @throws {MissingConfigurationError} the active parameter or secret does not exist.
 * @throws {ValidationError} the parameter is not the expected JSON (edited by hand?), every problem listed.
 * @throws {AccessDeniedError} IAM denied the read.
 * @throws {TornReadError} the epochs still disagreed at the deadline.
 * @throws the `signal`'s reason once it aborts.
 *
 * @example
 * ```ts
 * import { Kafka } from 'kafkajs';
 * import { createAwsStores, loadActiveConfig, routeOf } from '@mm2-failover/client';
 *
 * const active = await loadActiveConfig({
 *   deployment: 'orders-dr',
 *   stores: createAwsStores({ region: 'eu-west-1' }),
 *   kafka: { clientId: 'billing' },
 * });
 * const producer = new Kafka(active.kafka.reveal()).producer();
 * await producer.connect();
 * await producer.send({ topic: routeOf(active, 'orders')?.produce, messages: [{ value: 'hello' }] });
 * ```
 */
export async function loadActiveConfig(options: LoadActiveConfigOptions): Promise<ActiveClientConfig> {
  const clock = options.clock ?? systemClock;
  const paths = deploymentPaths(options.deployment);
  const deadlineMs = options.tornReadDeadlineMs ?? defaultTornReadDeadlineMs;
  const { signal } = options;
  const stores = signal ? signalledStores(options.stores, signal) : options.stores;
  const started = clock.now();
  let backoffMs = 50;
  for (;;) {
    signal?.throwIfAborted();
    const read = await readActiveOnce(stores, paths);
    signal?.throwIfAborted();
    if (read.kind === 'absent') {
      throw new MissingConfigurationError(
        `parameter ${paths.activeParameter} (the active configuration of deployment '${options.deployment}'; ` +
          'expected it to be written by the first activation or failover)',
      );
    }
    if (read.kind === 'consistent') {
      const { config } = read;
      const kafkaOptions = {
        ...options.kafka,
        connectTimeoutMs: options.kafka.connectTimeoutMs ?? defaultKafkaOptions.connectTimeoutMs,
        requestTimeoutMs: options.kafka.requestTimeoutMs ?? defaultKafkaOptions.requestTimeoutMs,
        retries: options.kafka.retries ?? defaultKafkaOptions.retries,
      };
      const kafka = buildKafkaConfig(
        {
          bootstrapServers: config.bootstrapServers,
          securityProtocol: config.securityProtocol,
          sasl: config.sasl,
        },
        read.credentials,
        kafkaOptions,
      );
      const holdback = heldBackCluster(config, read.credentials, kafkaOptions, paths.activeCredentialsSecret);
      return {
        deployment: options.deployment,
        epoch: config.epoch,
        cluster: config.cluster,
        alias: config.alias,
        bootstrapServers: config.bootstrapServers,
        securityProtocol: config.securityProtocol,
        ...(config.sasl ? { sasl: config.sasl } : {}),
        kafka: new Redacted(kafka),
        ...(config.routing ? { routing: config.routing } : {}),
        topics: config.topics ?? {},
        switchedAt: config.switchedAt,
        reason: config.reason,
        parameterVersion: read.parameterVersion,
        ...(holdback ? { holdback } : {}),
      };
    }
    const waited = clock.now() - started;
    if (waited >= deadlineMs) {
      throw new TornReadError(
        `active configuration of deployment '${options.deployment}'`,
        read.parameterEpoch,
        read.secretEpoch,
        waited,
      );
    }
    await clock.sleep(Math.min(backoffMs, deadlineMs - waited), signal);
    backoffMs = Math.min(backoffMs * 2, 1_000);
  }
}

/**
 * The held-back role's cluster (undefined outside a staged failback switch), with credentials from the active-credentials secret's `holdback` (same epoch as
 * the parameter, so never a torn pair). Its absence, or credentials for another cluster, is an error naming the
 * secret and the clusters, never a value: no client of that role should connect with the wrong credentials.
 */
function heldBackCluster(
  config: ActiveConfig,
  credentials: Redacted<ActiveCredentials>,
  kafkaOptions: FactoryOptions,
  secretName: string,
): HeldBackCluster | undefined {
  const h = config.holdback;
  if (h === undefined) return undefined;
  const stored = credentials.reveal().holdback;
  if (stored === undefined) {
    throw new MissingConfigurationError(
      `holdback credentials in secret ${secretName} at epoch ${config.epoch}: its parameter keeps ${h.role} on ` +
        `${h.cluster}, so the secret of the same epoch must hold { holdback: { cluster: '${h.cluster}', ...credentials } } ` +
        '(a failback older than this library wrote them only to the operator secret, which applications do not read); ' +
        `the ${h.role} cannot be configured until the next epoch`,
    );
  }
  if (stored.cluster !== h.cluster) {
    throw new ValidationError(`secret ${secretName} at epoch ${config.epoch}`, [
      {
        path: 'holdback.cluster',
        message: `expected '${h.cluster}' (where the parameter keeps ${h.role}), got '${stored.cluster}'`,
      },
    ]);
  }
  const { cluster: _cluster, ...clusterCredentials } = stored;
  let kafka: KafkaConfig;
  try {
    kafka = buildKafkaConfig(
      { bootstrapServers: h.bootstrapServers, securityProtocol: h.securityProtocol, sasl: h.sasl },
      new Redacted(clusterCredentials),
      kafkaOptions,
    );
  } catch (e: unknown) {
    if (!(e instanceof ValidationError)) throw e;
    throw new ValidationError(
      `Kafka connection settings of the held-back ${h.role} on ${h.cluster} (epoch ${config.epoch})`,
      e.problems.map((p) => ({ path: `holdback.${p.path}`, message: p.message })),
    );
  }
  return {
    role: h.role,
    cluster: h.cluster,
    alias: h.alias,
    bootstrapServers: h.bootstrapServers,
    securityProtocol: h.securityProtocol,
    ...(h.sasl ? { sasl: h.sasl } : {}),
    kafka: new Redacted(kafka),
    ...(h.routing ? { routing: h.routing } : {}),
    topics: h.topics ?? {},
  };
}
