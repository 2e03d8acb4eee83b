/**
 * `@mm2-failover/client`: how applications read the active Kafka configuration written by mm2-failover and
 * follow it across a failover and a failback.
 *
 * - {@link loadActiveConfig}: one consistent read (parameter and secret of the same epoch), as a ready kafkajs
 *   configuration plus the topic mapping.
 * - {@link ActiveConfigWatcher} / {@link watchActiveConfig}: poll the parameter, read the secret only on a new
 *   epoch, tell subscribers, keep the last good configuration through errors.
 * - {@link FollowingProducer} and {@link FollowingConsumer}: kafkajs clients rebuilt on every switch, without
 *   losing a record the application handed over; each follows its role's view ({@link roleView}), so a staged
 *   failback switch moves consumers and producers in the configured order.
 * - {@link createAwsStores}: the SSM and Secrets Manager stores, from a region and an optional endpoint.
 *
 * See docs/client.md for the guide, including Lambda event source mappings.
 *
 * @example
 * ```ts
 * import { createAwsStores, FollowingConsumer, FollowingProducer, watchActiveConfig } from '@mm2-failover/client';
 *
 * const watcher = await watchActiveConfig({
 *   deployment: 'orders-dr',
 *   stores: createAwsStores({ region: 'eu-west-1' }),
 *   kafka: { clientId: 'shop' },
 * });
 * const producer = new FollowingProducer({ source: watcher });
 * await producer.connect();
 * await producer.send({ topic: 'orders', messages: [{ value: 'hello' }] });
 * ```
 *
 * @packageDocumentation
 */

export type { Clock } from '../clock.ts';
export type { ClientRole, TopicRoute, TopicRouting } from '../config/contract.ts';
export type { ClusterRole } from '../config/schema.ts';
export {
  AccessDeniedError,
  EpochRegressionError,
  MissingConfigurationError,
  Mm2FailoverError,
  SendFailedError,
  TornReadError,
  ValidationError,
} from '../errors.ts';
export type { Stores } from '../store/active-config.ts';
export { type AwsStoresOptions, createAwsStores } from '../store/aws-stores.ts';
export { Redacted } from '../store/redacted.ts';
export type { ParameterStore, SecretStore, StoredParameter } from '../store/stores.ts';
export {
  type ActiveClientConfig,
  type ClusterConnection,
  defaultKafkaOptions,
  defaultTornReadDeadlineMs,
  type HeldBackCluster,
  type KafkaClientOptions,
  type LoadActiveConfigOptions,
  loadActiveConfig,
} from './active-client-config.ts';
export {
  type ActiveConfigListener,
  type ActiveConfigSource,
  ActiveConfigWatcher,
  defaultJitter,
  defaultPollIntervalMs,
  defaultPollTimeoutMs,
  type PollOutcome,
  type PollVia,
  type WatchActiveConfigOptions,
  type WatcherStatus,
  watchActiveConfig,
} from './active-config-watcher.ts';
export type { ClientLogger } from './client-logger.ts';
export {
  type ConsumerDrainOptions,
  type ConsumerSwitchEvent,
  type DrainResult,
  type FollowingBatchPayload,
  FollowingConsumer,
  type FollowingConsumerOptions,
  type FollowingConsumerSettings,
  type FollowingHandler,
  type FollowingMessagePayload,
  type FollowingOrigin,
} from './following-consumer.ts';
export {
  FollowingProducer,
  type FollowingProducerOptions,
  type FollowingProducerRecord,
  type FollowingSendResult,
  isRetriableSendError,
  type ProducerSwitchEvent,
} from './following-producer.ts';
export type { AdminLike, ConsumerLike, KafkaFactory, KafkaLike, ProducerLike } from './kafka-clients.ts';
export { roleView, sameConnection } from './role-view.ts';
export { routeOf, type SubscriptionMode, type TopicRoutes } from './topic-routes.ts';
