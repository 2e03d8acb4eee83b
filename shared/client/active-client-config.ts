import type { KafkaConfig } from 'kafkajs';
import type { SecurityProtocol, TopicRoute } from '../config/contract.ts';
import { deploymentPaths } from '../config/paths.ts';
import type { ClusterRole } from '../config/schema.ts';
import { MissingConfigurationError, TornReadError } from '../errors.ts';
import { buildKafkaConfig, type KafkaClientOptions as FactoryOptions } from '../kafka/client-factory.ts';
import { readActiveOnce, type Stores } from '../store/active-config.ts';
import { Redacted } from '../store/redacted.ts';
import { type Clock, systemClock } from './clock.ts';

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

/**
 * The active configuration of a deployment as an application uses it: which cluster, a ready kafkajs
 * configuration for it, and the topic mapping. Always built from a parameter and a secret of the same epoch.
 */
export interface ActiveClientConfig {
  /** The deployment's `name` (everything lives under `/mm2-failover/<name>/`). */
  readonly deployment: string;
  /** Fencing token: grows by one on every switch. */
  readonly epoch: number;
  readonly cluster: ClusterRole;
  /** The active cluster's MirrorMaker 2 alias. */
  readonly alias: string;
  readonly bootstrapServers: readonly string[];
  readonly securityProtocol: SecurityProtocol;
  /**
   * The kafkajs configuration for the active cluster (brokers, TLS or SASL with its credentials, timeouts).
   * Redacted because it holds the private key or password: `new Kafka(config.kafka.reveal())`.
   */
  readonly kafka: Redacted<KafkaConfig>;
  /** Logical topic → the topic to produce to and the topics to subscribe to on the active cluster. */
  readonly topics: Readonly<Record<string, TopicRoute>>;
  readonly switchedAt: string;
  readonly reason: string;
  /** SSM version of the parameter this was read from. */
  readonly parameterVersion: number;
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
 *
 * @example
 * ```ts
 * import { Kafka } from 'kafkajs';
 * import { createAwsStores, loadActiveConfig } from 'mm2-failover/client';
 *
 * const active = await loadActiveConfig({
 *   deployment: 'orders-dr',
 *   stores: createAwsStores({ region: 'eu-west-1' }),
 *   kafka: { clientId: 'billing' },
 * });
 * const producer = new Kafka(active.kafka.reveal()).producer();
 * await producer.connect();
 * await producer.send({ topic: active.topics.orders.produce, messages: [{ value: 'hello' }] });
 * ```
 */
export async function loadActiveConfig(options: LoadActiveConfigOptions): Promise<ActiveClientConfig> {
  const clock = options.clock ?? systemClock;
  const paths = deploymentPaths(options.deployment);
  const deadlineMs = options.tornReadDeadlineMs ?? defaultTornReadDeadlineMs;
  const started = clock.now();
  let backoffMs = 50;
  for (;;) {
    const read = await readActiveOnce(options.stores, paths);
    if (read.kind === 'absent') {
      throw new MissingConfigurationError(
        `parameter ${paths.activeParameter} (the active configuration of deployment '${options.deployment}'; ` +
          'expected it to be written by the first activation or failover)',
      );
    }
    if (read.kind === 'consistent') {
      const { config } = read;
      const kafka = buildKafkaConfig(
        {
          bootstrapServers: config.bootstrapServers,
          securityProtocol: config.securityProtocol,
          sasl: config.sasl,
        },
        read.credentials,
        {
          ...options.kafka,
          connectTimeoutMs: options.kafka.connectTimeoutMs ?? defaultKafkaOptions.connectTimeoutMs,
          requestTimeoutMs: options.kafka.requestTimeoutMs ?? defaultKafkaOptions.requestTimeoutMs,
          retries: options.kafka.retries ?? defaultKafkaOptions.retries,
        },
      );
      return {
        deployment: options.deployment,
        epoch: config.epoch,
        cluster: config.cluster,
        alias: config.alias,
        bootstrapServers: config.bootstrapServers,
        securityProtocol: config.securityProtocol,
        kafka: new Redacted(kafka),
        topics: config.topics,
        switchedAt: config.switchedAt,
        reason: config.reason,
        parameterVersion: read.parameterVersion,
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
    await clock.sleep(Math.min(backoffMs, deadlineMs - waited));
    backoffMs = Math.min(backoffMs * 2, 1_000);
  }
}
