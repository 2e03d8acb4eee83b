import type {
  Batch,
  ConsumerConfig,
  ConsumerCrashEvent,
  ConsumerGroupJoinEvent,
  ConsumerRunConfig,
  ConsumerSubscribeTopics,
  KafkaConfig,
  ProducerRecord,
  RecordMetadata,
  TopicPartitionOffset,
} from 'kafkajs';
import type { ActiveClientConfig } from '#shared/client/active-client-config.ts';
import type { ActiveConfigListener, ActiveConfigSource } from '#shared/client/active-config-watcher.ts';
import type { ClientLogger } from '#shared/client/client-logger.ts';
import type { AdminLike, ConsumerLike, KafkaFactory, ProducerLike } from '#shared/client/kafka-clients.ts';
import type { ClientRole, TopicRoute } from '#shared/config/contract.ts';
import type { ClusterRole } from '#shared/config/schema.ts';
import { parseTpKey } from '#shared/kafka/topic-partition.ts';
import { Redacted } from '#shared/store/redacted.ts';

/** A promise with its resolve/reject exposed, to hold a fake Kafka call open as long as a test wants. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** An active configuration as the watcher would hand it out; brokers name the cluster for the fake factory. */
export function activeConfig(
  cluster: ClusterRole,
  epoch: number,
  topics: Record<string, TopicRoute> = { orders: { produce: 'orders', subscribe: ['orders'] } },
): ActiveClientConfig {
  return {
    deployment: 'd',
    epoch,
    cluster,
    alias: cluster,
    bootstrapServers: [`${cluster}:9092`],
    securityProtocol: 'PLAINTEXT',
    kafka: new Redacted({ brokers: [`${cluster}:9092`], clientId: 'test' }),
    topics,
    switchedAt: '2026-11-21T10:00:00.000Z',
    reason: 'test',
    parameterVersion: epoch,
  };
}

/**
 * The next epoch on the same cluster after the operator rotated its client certificate, as `refresh-credentials`
 * publishes it: everything as before (even `switchedAt`) but the epoch, the reason and the certificate.
 */
export function rotatedCredentials(config: ActiveClientConfig, cert: string): ActiveClientConfig {
  return {
    ...config,
    epoch: config.epoch + 1,
    reason: 'credentials refreshed',
    parameterVersion: config.parameterVersion + 1,
    kafka: new Redacted({ ...config.kafka.reveal(), ssl: { cert, key: `${cert}-key` } }),
  };
}

/** The client certificate a fake client was built with (`none` for the plain configurations above). */
export function certificateOf(client: { kafkaConfig: KafkaConfig | undefined }): string {
  const ssl = client.kafkaConfig?.ssl;
  return typeof ssl === 'object' && typeof ssl.cert === 'string' ? ssl.cert : 'none';
}

/**
 * The two epochs of a staged failback switch from the secondary back to the primary, as the watcher would hand
 * them out: stage 1 moves `first` and keeps the other role on the secondary (`holdback`), stage 2 moves everyone.
 * `secondaryTopics` are the held-back role's routes (they stay what they were on the secondary).
 */
export function stagedFailback(
  first: ClientRole,
  epoch: number,
  secondaryTopics: Record<string, TopicRoute> = { orders: { produce: 'orders', subscribe: ['orders'] } },
): { stage1: ActiveClientConfig; stage2: ActiveClientConfig } {
  const held = activeConfig('secondary', epoch, secondaryTopics);
  return {
    stage1: {
      ...activeConfig('primary', epoch),
      holdback: {
        role: first === 'consumers' ? 'producers' : 'consumers',
        cluster: 'secondary',
        alias: held.alias,
        bootstrapServers: held.bootstrapServers,
        securityProtocol: held.securityProtocol,
        kafka: held.kafka,
        topics: held.topics,
      },
    },
    stage2: activeConfig('primary', epoch + 1),
  };
}

/** A source the test publishes switches through, as the watcher would. */
export class FakeSource implements ActiveConfigSource {
  readonly maxPollDelayMs = 10;
  #current: ActiveClientConfig;
  readonly #listeners = new Set<ActiveConfigListener>();
  constructor(initial: ActiveClientConfig) {
    this.#current = initial;
  }
  current(): ActiveClientConfig {
    return this.#current;
  }
  subscribe(listener: ActiveConfigListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  get listenerCount(): number {
    return this.#listeners.size;
  }
  async publish(next: ActiveClientConfig): Promise<void> {
    const previous = this.#current;
    this.#current = next;
    for (const l of this.#listeners) await l(next, previous);
  }
}

type SendBehaviour = (record: ProducerRecord) => Promise<RecordMetadata[]>;

export class FakeProducer implements ProducerLike {
  readonly sends: ProducerRecord[] = [];
  /** The kafkajs configuration (brokers, credentials) this producer's client was built with. */
  kafkaConfig: KafkaConfig | undefined;
  connects = 0;
  disconnects = 0;
  readonly cluster: string;
  readonly #behaviour: () => { connect?: () => Promise<void>; send?: SendBehaviour };
  constructor(cluster: string, behaviour: () => { connect?: () => Promise<void>; send?: SendBehaviour }) {
    this.cluster = cluster;
    this.#behaviour = behaviour;
  }
  async connect(): Promise<void> {
    this.connects += 1;
    await this.#behaviour().connect?.();
  }
  async disconnect(): Promise<void> {
    this.disconnects += 1;
  }
  send(record: ProducerRecord): Promise<RecordMetadata[]> {
    this.sends.push(record);
    const send = this.#behaviour().send;
    if (send) return send(record);
    return Promise.resolve([{ topicName: record.topic, partition: 0, errorCode: 0, baseOffset: '0' }]);
  }
}

export class FakeConsumer implements ConsumerLike {
  readonly subscriptions: ConsumerSubscribeTopics[] = [];
  runConfig: ConsumerRunConfig | undefined;
  /** What the consumer was built with (kafkajs `ConsumerConfig`). */
  config: ConsumerConfig | undefined;
  /** The kafkajs configuration (brokers, credentials) this consumer's client was built with. */
  kafkaConfig: KafkaConfig | undefined;
  disconnects = 0;
  readonly cluster: string;
  readonly groupId: string;
  readonly #onSubscribe: () => Promise<void>;
  readonly #log: string[];
  constructor(cluster: string, groupId: string, onSubscribe: () => Promise<void>, log: string[]) {
    this.cluster = cluster;
    this.groupId = groupId;
    this.#onSubscribe = onSubscribe;
    this.#log = log;
  }
  async connect(): Promise<void> {}
  async disconnect(): Promise<void> {
    this.disconnects += 1;
    this.#log.push(`disconnect consumer ${this.cluster}`);
  }
  async subscribe(subscription: ConsumerSubscribeTopics): Promise<void> {
    await this.#onSubscribe();
    this.subscriptions.push(subscription);
    this.#log.push(`subscribe ${this.cluster} ${subscription.topics.join(',')}`);
  }
  async run(config?: ConsumerRunConfig): Promise<void> {
    this.runConfig = config;
  }
  readonly seeks: TopicPartitionOffset[] = [];
  readonly #joinListeners: Array<(event: ConsumerGroupJoinEvent) => void> = [];
  readonly #crashListeners: Array<(event: ConsumerCrashEvent) => void> = [];
  on(eventName: 'consumer.group_join', listener: (event: ConsumerGroupJoinEvent) => void): () => void;
  on(eventName: 'consumer.crash', listener: (event: ConsumerCrashEvent) => void): () => void;
  on(
    eventName: 'consumer.group_join' | 'consumer.crash',
    listener: ((event: ConsumerGroupJoinEvent) => void) | ((event: ConsumerCrashEvent) => void),
  ): () => void {
    if (eventName === 'consumer.group_join') {
      this.#joinListeners.push(listener as (event: ConsumerGroupJoinEvent) => void);
    } else {
      this.#crashListeners.push(listener as (event: ConsumerCrashEvent) => void);
    }
    return () => {};
  }
  /**
   * The consumer crashed, as kafkajs reports it: `restart` is what kafkajs decided (it asks `restartOnFailure`
   * only for an error it retries, as `crashOn` does).
   */
  crash(error: Error, restart: boolean): void {
    const payload = { error, groupId: this.groupId, restart };
    for (const l of this.#crashListeners) l({ id: '2', type: 'consumer.crash', timestamp: 0, payload });
  }
  /** kafkajs' decision on a crash: retriable errors go to `restartOnFailure`, the rest are never restarted. */
  async crashOn(error: Error & { retriable?: boolean }): Promise<void> {
    const restartOnFailure = this.config?.retry?.restartOnFailure;
    const restart = error.retriable === true && (restartOnFailure ? await restartOnFailure(error) : true);
    this.crash(error, restart);
  }
  seek(topicPartitionOffset: TopicPartitionOffset): void {
    this.seeks.push(topicPartitionOffset);
  }
  /** The group coordinator assigned these partitions to this member (kafkajs' GROUP_JOIN event). */
  join(memberAssignment: Record<string, number[]>): void {
    const payload = {
      duration: 1,
      groupId: this.groupId,
      isLeader: true,
      leaderId: 'm',
      groupProtocol: 'RoundRobinAssigner',
      memberId: 'm',
      memberAssignment,
    };
    for (const l of this.#joinListeners) l({ id: '1', type: 'consumer.group_join', timestamp: 0, payload });
  }
  /** Deliver one batch of records (by offset) as kafkajs would, running and not stale as kafkajs sees it. */
  async deliverBatch(topic: string, partition: number, offsets: string[]): Promise<void> {
    const eachBatch = this.runConfig?.eachBatch;
    if (!eachBatch) throw new Error('consumer not running a batch handler');
    const messages = offsets.map((offset) => ({
      key: null,
      value: Buffer.from(offset),
      offset,
      timestamp: '0',
      attributes: 0,
      headers: {},
    }));
    const batch: Batch = {
      topic,
      partition,
      highWatermark: String(Number(offsets.at(-1) ?? '-1') + 1),
      messages,
      isEmpty: () => messages.length === 0,
      firstOffset: () => offsets[0] ?? null,
      lastOffset: () => offsets.at(-1) ?? '-1',
      offsetLag: () => '0',
      offsetLagLow: () => '0',
    };
    await eachBatch({
      batch,
      resolveOffset: () => {},
      heartbeat: async () => {},
      pause: () => () => {},
      commitOffsetsIfNecessary: async () => {},
      uncommittedOffsets: () => ({ topics: [] }),
      isRunning: () => true,
      isStale: () => false,
    });
  }

  /** Deliver one record as kafkajs would. */
  async deliver(topic: string, partition: number, offset: string): Promise<void> {
    const eachMessage = this.runConfig?.eachMessage;
    if (!eachMessage) throw new Error('consumer not running');
    await eachMessage({
      topic,
      partition,
      message: { key: null, value: Buffer.from(offset), offset, timestamp: '0', attributes: 0, headers: {} },
      heartbeat: async () => {},
      pause: () => () => {},
    });
  }
}

/** End offsets and the group's committed offsets on one fake cluster, as `topic:partition` → offset. */
export class FakeAdmin implements AdminLike {
  readonly high = new Map<string, number>();
  readonly committed = new Map<string, number>();
  /** `group topic:partition` → committed offset of that group, over `committed` (which answers for any group). */
  readonly groupCommitted = new Map<string, number>();
  unreachable = false;
  calls = 0;
  readonly #log: string[];
  constructor(log: string[]) {
    this.#log = log;
  }
  async connect(): Promise<void> {
    if (this.unreachable)
      throw Object.assign(new Error('Connection refused'), { name: 'KafkaJSConnectionError' });
  }
  async disconnect(): Promise<void> {}
  async fetchTopicOffsets(topic: string) {
    this.calls += 1;
    this.#log.push(`ends ${topic}`);
    return [...this.high]
      .filter(([tp]) => parseTpKey(tp).topic === topic)
      .map(([tp, high]) => ({
        partition: parseTpKey(tp).partition,
        offset: String(high),
        high: String(high),
        low: '0',
      }));
  }
  /** `topic:partition` → the first offset at or after the timestamp the test has in mind. */
  readonly byTimestamp = new Map<string, number>();
  readonly timestampsAsked: number[] = [];
  async fetchTopicOffsetsByTimestamp(topic: string, timestamp?: number) {
    this.timestampsAsked.push(timestamp ?? -1);
    return [...this.high]
      .filter(([tp]) => parseTpKey(tp).topic === topic)
      .map(([tp, high]) => ({
        partition: parseTpKey(tp).partition,
        offset: String(this.byTimestamp.get(tp) ?? high),
      }));
  }
  async fetchOffsets(options: { groupId: string; topics?: string[] }) {
    this.calls += 1;
    return (options.topics ?? []).map((topic) => ({
      topic,
      partitions: [...this.high.keys()]
        .filter((tp) => parseTpKey(tp).topic === topic)
        .map((tp) => ({
          partition: parseTpKey(tp).partition,
          offset: String(this.groupCommitted.get(`${options.groupId} ${tp}`) ?? this.committed.get(tp) ?? -1),
        })),
    }));
  }
}

/** Fake clusters keyed by name (`primary`, `secondary`); each remembers the clients built for it. */
export class FakeKafka {
  readonly log: string[] = [];
  readonly producers: FakeProducer[] = [];
  readonly consumers: FakeConsumer[] = [];
  readonly admins = new Map<string, FakeAdmin>();
  /** Per cluster: how connect and send behave for producers built from now on (read at call time). */
  readonly producerBehaviour = new Map<string, { connect?: () => Promise<void>; send?: SendBehaviour }>();
  /** Per cluster: subscribe hook (throw to simulate a missing topic). */
  readonly subscribeBehaviour = new Map<string, () => Promise<void>>();

  readonly factory: KafkaFactory = (config) => {
    const brokers = config.brokers as string[];
    const cluster = (brokers[0] ?? '').split(':')[0] ?? '';
    return {
      producer: () => {
        const p = new FakeProducer(cluster, () => this.producerBehaviour.get(cluster) ?? {});
        p.kafkaConfig = config;
        this.producers.push(p);
        return p;
      },
      consumer: (c) => {
        const consumer = new FakeConsumer(
          cluster,
          c.groupId,
          () => this.subscribeBehaviour.get(cluster)?.() ?? Promise.resolve(),
          this.log,
        );
        consumer.config = c;
        consumer.kafkaConfig = config;
        this.consumers.push(consumer);
        return consumer;
      },
      admin: () => this.admin(cluster),
    };
  };

  admin(cluster: string): FakeAdmin {
    let admin = this.admins.get(cluster);
    if (!admin) {
      admin = new FakeAdmin(this.log);
      this.admins.set(cluster, admin);
    }
    return admin;
  }

  producersOf(cluster: string): FakeProducer[] {
    return this.producers.filter((p) => p.cluster === cluster);
  }
}

/** A logger that keeps what it was told, so tests can assert warnings (and that no secret reached it). */
export class MemoryLogger implements ClientLogger {
  readonly lines: Array<{ level: string; message: string; attributes?: Record<string, unknown> }> = [];
  info(message: string, ...rest: Array<Record<string, unknown>>): void {
    const attributes = rest[0];
    this.lines.push({ level: 'info', message, ...(attributes ? { attributes } : {}) });
  }
  warn(message: string, ...rest: Array<Record<string, unknown>>): void {
    const attributes = rest[0];
    this.lines.push({ level: 'warn', message, ...(attributes ? { attributes } : {}) });
  }
  error(message: string, ...rest: Array<Record<string, unknown>>): void {
    const attributes = rest[0];
    this.lines.push({ level: 'error', message, ...(attributes ? { attributes } : {}) });
  }
}
