import type { KafkaConfig } from 'kafkajs';
import Cluster from 'kafkajs/src/cluster/index.js';
import LoggerConsole from 'kafkajs/src/loggers/console.js';
import { createLogger } from 'kafkajs/src/loggers/index.js';
import defaultSocketFactory from 'kafkajs/src/network/socketFactory.js';
import { errorCodes } from 'kafkajs/src/protocol/error.js';
import apiKeys from 'kafkajs/src/protocol/requests/apiKeys.js';
import { requests } from 'kafkajs/src/protocol/requests/index.js';
import { describeError, KafkaOperationError } from '../errors.ts';
import { classifyKafkaError, type FailureReason, reasonForErrorType } from './failure-reason.ts';
import { IdempotentAppender } from './idempotent-append.ts';
import { type Offset, toOffset } from './offset.ts';
import { sendPerLeader } from './per-leader.ts';
import type { BatchRecord } from './record-batch.ts';
import { type TopicPartition, tpKey } from './topic-partition.ts';

/**
 * A small, cluster-level Kafka client for the probe, lag measurement and offset translation: the operations
 * kafkajs' public API either lacks or makes slow.
 *
 * - `metadata` reports leaderless partitions (leader -1) instead of throwing (kafkajs #1460).
 * - `listOffsets` groups partitions by leader and sends one ListOffsets per broker, in parallel: 10,000
 *   partitions cost one round trip per broker instead of one admin call per topic.
 * - `fetch` reads a partition from an offset without a consumer group (no join, no commit): MirrorClient's way
 *   of reading checkpoints and offset syncs, and failback salvage's way of copying a tail. Its `nextOffset` is
 *   measured in broker offsets (records, batch ends, transaction markers), so it proves which offsets hold
 *   nothing to read.
 * - `produce` writes to given partitions with acks=all and reports each partition's outcome. A leader that cannot
 *   be reached (a dead broker the metadata still names) gives its partitions `BROKER_NOT_AVAILABLE` while the
 *   other leaders' partitions are written; it throws only when no leader can be reached.
 *
 * Every per-partition error is returned, not thrown; a connection-level failure throws (kafkajs errors, which
 * `classifyKafkaError` maps to a reason). It is built on kafkajs' own Cluster/Broker classes (internal, typed in
 * kafkajs-internals.d.ts) so auth, TLS, SASL and API version negotiation are kafkajs'.
 */
export interface ClusterClient {
  /**
   * Metadata for `topics` (all topics when empty), brokers and controller. Leaderless partitions included.
   * With `maxAgeMs`, an earlier answer that covers `topics` and is younger than that is returned instead.
   */
  metadata(topics: readonly string[], options?: { maxAgeMs?: number }): Promise<ClusterMetadata>;
  /** Offsets for many partitions, one request per leader broker, using the last metadata (refreshed if needed). */
  listOffsets(partitions: readonly TopicPartition[], spec: OffsetSpec): Promise<PartitionOffset[]>;
  /** Records from `offset` on, up to about `maxBytes` per partition, from the partitions' leaders. */
  fetch(requests: readonly FetchRequest[], options?: FetchOptions): Promise<FetchResult[]>;
  /** Write records to specific partitions (acks=all by default), one request per leader. */
  produce(
    topic: string,
    records: readonly ProduceRecord[],
    options: { timeoutMs: number; acks?: -1 | 1 },
  ): Promise<ProduceResult[]>;
  /**
   * Append records to one partition as one idempotent batch (acks=all), one call per partition at a time; returns
   * the first offset written. The batch must fit the broker's `message.max.bytes`.
   */
  appendBatch(topic: string, partition: number, records: readonly BatchRecord[]): Promise<Offset>;
  /** A consumer group's committed offsets (all topics), from its coordinator; offsets -1 (none) left out. */
  groupOffsets(groupId: string): Promise<GroupOffset[]>;
  /**
   * State and member count of many groups: one DescribeGroups per coordinator. A group the coordinator does not
   * know comes back `Dead` with no members, as Kafka reports it.
   */
  describeGroups(groupIds: readonly string[]): Promise<GroupDescription[]>;
  /**
   * Commit offsets for a group that has no members, as Kafka's admin client does (`alterConsumerGroupOffsets`):
   * one OffsetCommit to the group's coordinator, generation -1 and no member id. The coordinator refuses it while
   * the group has members (UNKNOWN_MEMBER_ID), so a running consumer's position is never moved under it.
   */
  commitGroupOffsets(
    groupId: string,
    offsets: ReadonlyArray<{ topic: string; partition: number; offset: Offset }>,
  ): Promise<void>;
  /** Create a topic; `exists` when it already did. */
  createTopic(spec: CreateTopicSpec): Promise<'created' | 'exists'>;
  close(): Promise<void>;
}

interface BrokerInfo {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}
interface PartitionInfo {
  partition: number;
  /** -1 when the partition has no leader. */
  leader: number;
  replicas: number[];
  isr: number[];
  offlineReplicas: number[];
  /** Kafka error type (`LEADER_NOT_AVAILABLE`, ...) or undefined. */
  error?: string;
}
interface TopicInfo {
  topic: string;
  /** `UNKNOWN_TOPIC_OR_PARTITION` when the topic does not exist. */
  error?: string;
  partitions: PartitionInfo[];
}
export interface ClusterMetadata {
  clusterId: string | null;
  controllerId: number | null;
  brokers: BrokerInfo[];
  topics: Map<string, TopicInfo>;
}
/** `latest` is the high watermark (what consumers can read); `{ timestamp }` the first offset at or after it. */
export type OffsetSpec = 'earliest' | 'latest' | { timestamp: number };
export interface PartitionOffset extends TopicPartition {
  /** Undefined with an error, or for a timestamp past the last record (Kafka answers -1). */
  offset?: Offset;
  error?: string;
}
export interface FetchRequest extends TopicPartition {
  offset: Offset;
  maxBytes?: number;
}
interface FetchOptions {
  /** How long the broker may wait for data when there is none yet (default 0: answer at once). */
  maxWaitMs?: number;
  /**
   * `read-committed`: only up to the last stable offset, and records of aborted transactions left out (their
   * offsets still count in `nextOffset`), as a consumer with `isolation.level=read_committed` sees the log.
   * Default `read-uncommitted`.
   */
  isolation?: 'read-uncommitted' | 'read-committed';
}
/** Record headers as the broker sent them; a header sent with a null value comes back as an empty buffer. */
export type RecordHeaders = Record<string, Buffer | Buffer[]>;
export interface FetchedRecord {
  offset: Offset;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeaders;
}
export interface FetchResult extends TopicPartition {
  /** Data records at or after the requested offset (control records and earlier batch members dropped). */
  records: FetchedRecord[];
  /**
   * Where the next fetch should start: one past the last offset the broker accounted for — records, control
   * records (a transaction marker has an offset but is not a record), aborted records under `read-committed`, and
   * the end of each record batch returned (compaction keeps a batch's last offset when it removes its last
   * records). Every offset in [requested, nextOffset) missing from `records` holds nothing to read. Equal to the
   * requested offset when nothing came, which proves nothing.
   */
  nextOffset: Offset;
  highWatermark?: Offset;
  /** Under `read-committed`: the end of what may be read now (an open transaction holds it back). */
  lastStableOffset?: Offset;
  logStartOffset?: Offset;
  error?: string;
}
export interface ProduceRecord {
  partition: number;
  key?: Buffer | string | null;
  value: Buffer | string | null;
  timestamp?: number;
}
export interface ProduceResult extends TopicPartition {
  baseOffset?: Offset;
  error?: string;
  /**
   * With `error: 'BROKER_NOT_AVAILABLE'`: the partition's leader could not be reached (connection refused, closed,
   * timed out), so nothing was sent to it; the other leaders' partitions were written as usual.
   */
  leader?: number;
  /** Why the leader could not be reached. */
  reason?: FailureReason;
  /** One line about the connection failure (host:port, never credentials). */
  detail?: string;
}
export interface GroupOffset extends TopicPartition {
  offset?: Offset;
  error?: string;
}
export interface GroupDescription {
  groupId: string;
  state: string;
  members: number;
}
export interface CreateTopicSpec {
  topic: string;
  numPartitions: number;
  replicationFactor: number;
  configs?: Record<string, string>;
  timeoutMs?: number;
}

const EARLIEST = -2;
const LATEST = -1;
const READ_UNCOMMITTED = 0;
const READ_COMMITTED = 1;
/** The key of an ABORT control record: version 0, type 0 (COMMIT is type 1). */
const ABORT_MARKER_KEY = Buffer.from([0, 0, 0, 0]);
const NO_LEADER = 'LEADER_NOT_AVAILABLE';
/** Kafka's own error type for a broker that cannot be reached, given to the partitions it leads. */
const BROKER_NOT_AVAILABLE = 'BROKER_NOT_AVAILABLE';

const errorTypeByCode = new Map(errorCodes.map((e) => [e.code, e.type]));
function errorType(code: number): string | undefined {
  return code === 0 ? undefined : (errorTypeByCode.get(code) ?? `ERROR_CODE_${code}`);
}

// Decoded response shapes (kafkajs decoders, versions negotiated with the broker).
interface RawMetadata {
  clusterId?: string | null;
  controllerId?: number;
  brokers: { nodeId: number; host: string; port: number; rack?: string | null }[];
  topicMetadata: {
    topicErrorCode: number;
    topic: string;
    partitionMetadata: {
      partitionErrorCode: number;
      partitionId: number;
      leader: number;
      replicas: number[];
      isr: number[];
      offlineReplicas?: number[];
    }[];
  }[];
}
interface RawListOffsets {
  responses: {
    topic: string;
    partitions: { partition: number; errorCode: number; offset?: string; offsets?: string[] }[];
  }[];
}
interface RawFetchedMessage {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, Buffer | null | Array<Buffer | null>>;
  isControlRecord?: boolean;
  batchContext?: { firstOffset: string; lastOffsetDelta: number; producerId: string; inTransaction: boolean };
}
interface RawFetch {
  errorCode?: number;
  responses: {
    topicName: string;
    partitions: {
      partition: number;
      errorCode: number;
      highWatermark: string;
      lastStableOffset?: string;
      lastStartOffset?: string;
      abortedTransactions?: { producerId: string; firstOffset: string }[] | null;
      messages: RawFetchedMessage[];
    }[];
  }[];
}
interface RawProduce {
  topics: { topicName: string; partitions: { partition: number; errorCode: number; baseOffset: string }[] }[];
}
interface RawOffsetFetch {
  errorCode?: number;
  responses: { topic: string; partitions: { partition: number; offset: string; errorCode: number }[] }[];
}
interface RawDescribeGroups {
  groups: { errorCode: number; groupId: string; state: string; members: unknown[] }[];
}
interface RawOffsetCommit {
  responses: { topic: string; partitions: { partition: number; errorCode: number }[] }[];
}
interface RawCreateTopics {
  topicErrors: { topic: string; errorCode: number }[];
}

type Broker = Cluster['brokerPool']['brokers'][string];

/**
 * Send a request whose response is decoded but not "parsed": kafkajs' parse step throws on the first
 * partition-level error code, and those are exactly what a probe needs to see.
 */
async function sendLenient<T>(broker: Broker, apiKey: number, definition: object, args: object): Promise<T> {
  const built = broker.lookupRequest(apiKey, definition)(args);
  try {
    return (await broker.connectionPool.send({
      ...built,
      response: { ...built.response, parse: async (data: unknown) => data },
    })) as T;
  } catch (e: unknown) {
    if ((e as { name?: string }).name === 'KafkaJSConnectionClosedError')
      await broker.disconnect().catch(() => {});
    throw e;
  }
}

export interface ClusterClientOptions {
  /** Metadata older than this is refreshed before offsets/fetch/produce are routed (default 5 s). */
  metadataMaxAgeMs?: number;
}

class KafkajsClusterClient implements ClusterClient {
  readonly #cluster: Cluster;
  readonly #requestTimeoutMs: number;
  readonly #metadataMaxAgeMs: number;
  #last: { metadata: ClusterMetadata; topics: Set<string>; at: number } | undefined;
  #connected: Promise<void> | undefined;
  /**
   * Each group's coordinator, found once: kafkajs asks FindCoordinator on every call, which for the hundreds of
   * groups a failover translates doubled its requests. Forgotten when a request to it fails.
   */
  readonly #coordinators = new Map<string, Promise<Broker>>();
  readonly #appender: IdempotentAppender;

  constructor(config: KafkaConfig, options: ClusterClientOptions) {
    const logger = createLogger({
      level: config.logLevel ?? 1,
      logCreator: config.logCreator ?? LoggerConsole,
    });
    this.#requestTimeoutMs = config.requestTimeout ?? 30_000;
    this.#metadataMaxAgeMs = options.metadataMaxAgeMs ?? 5_000;
    this.#cluster = new Cluster({
      logger,
      socketFactory: config.socketFactory ?? defaultSocketFactory(),
      brokers: config.brokers,
      ssl: config.ssl,
      sasl: config.sasl,
      clientId: config.clientId,
      connectionTimeout: config.connectionTimeout,
      authenticationTimeout: config.authenticationTimeout,
      reauthenticationThreshold: config.reauthenticationThreshold,
      requestTimeout: this.#requestTimeoutMs,
      enforceRequestTimeout: config.enforceRequestTimeout ?? true,
      metadataMaxAge: this.#metadataMaxAgeMs,
      retry: config.retry,
      // A probe must never create the topics it asks about with the broker's defaults.
      allowAutoTopicCreation: false,
      maxInFlightRequests: null,
      isolationLevel: READ_UNCOMMITTED,
    });
    this.#appender = new IdempotentAppender(
      {
        leader: async (topic, partition) => {
          await this.#connect();
          const { groups, orphans } = await this.#byLeader([{ topic, partition }]);
          const [nodeId] = groups.keys();
          if (nodeId === undefined) {
            throw new KafkaOperationError(
              'produce-failed',
              `writing to ${tpKey(topic, partition)}: expected a leader, got ${orphans[0]?.error ?? 'none'}`,
            );
          }
          return this.#broker(nodeId);
        },
        anyBroker: async () => {
          await this.#connect();
          return this.#cluster.brokerPool.findConnectedBroker();
        },
        forgetMetadata: () => {
          this.#last = undefined;
        },
        sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      },
      { timeoutMs: this.#requestTimeoutMs },
    );
    const pool = this.#cluster.brokerPool;
    const createBroker = pool.createBroker;
    pool.createBroker = (brokerOptions: object) => {
      const broker = createBroker(brokerOptions);
      broker.metadata = (topics: string[] = []) =>
        sendLenient(broker, apiKeys.Metadata, requests.Metadata, { topics, allowAutoTopicCreation: false });
      return broker;
    };
  }

  #connect(): Promise<void> {
    if (!this.#connected) {
      this.#connected = this.#cluster.connect().catch((e: unknown) => {
        this.#connected = undefined;
        throw e;
      });
    }
    return this.#connected;
  }

  async metadata(topics: readonly string[], options: { maxAgeMs?: number } = {}): Promise<ClusterMetadata> {
    const last = this.#last;
    if (
      options.maxAgeMs !== undefined &&
      last &&
      Date.now() - last.at < options.maxAgeMs &&
      topics.every((t) => last.metadata.topics.has(t))
    ) {
      return last.metadata;
    }
    await this.#connect();
    const pool = this.#cluster.brokerPool;
    await pool.refreshMetadata([...topics]);
    const raw = pool.metadata as RawMetadata;
    const metadata: ClusterMetadata = {
      clusterId: raw.clusterId ?? null,
      controllerId: raw.controllerId ?? null,
      brokers: raw.brokers.map((b) => ({
        nodeId: b.nodeId,
        host: b.host,
        port: b.port,
        rack: b.rack ?? null,
      })),
      topics: new Map(
        raw.topicMetadata.map((t) => {
          const error = errorType(t.topicErrorCode);
          const info: TopicInfo = {
            topic: t.topic,
            ...(error ? { error } : {}),
            partitions: t.partitionMetadata
              .map((p) => {
                const pError = errorType(p.partitionErrorCode);
                return {
                  partition: p.partitionId,
                  leader: p.leader,
                  replicas: p.replicas,
                  isr: p.isr,
                  offlineReplicas: p.offlineReplicas ?? [],
                  ...(pError ? { error: pError } : {}),
                };
              })
              .sort((a, b) => a.partition - b.partition),
          };
          return [t.topic, info];
        }),
      ),
    };
    this.#last = { metadata, topics: new Set(topics), at: Date.now() };
    return metadata;
  }

  /** Metadata covering `topics`, reusing the last answer while it is fresh. */
  async #metadataFor(topics: Iterable<string>): Promise<ClusterMetadata> {
    const wanted = new Set(topics);
    const last = this.#last;
    if (
      last &&
      Date.now() - last.at < this.#metadataMaxAgeMs &&
      [...wanted].every((t) => last.metadata.topics.has(t))
    ) {
      return last.metadata;
    }
    return this.metadata([...new Set([...(last?.topics ?? []), ...wanted])]);
  }

  /** Partitions grouped by leader; the ones without a leader (or unknown) come back as `orphans`. */
  async #byLeader<T extends TopicPartition>(
    items: readonly T[],
  ): Promise<{ groups: Map<number, T[]>; orphans: { item: T; error: string }[] }> {
    const metadata = await this.#metadataFor(items.map((i) => i.topic));
    const groups = new Map<number, T[]>();
    const orphans: { item: T; error: string }[] = [];
    for (const item of items) {
      const topic = metadata.topics.get(item.topic);
      const partition = topic?.partitions.find((p) => p.partition === item.partition);
      if (!topic || topic.error === 'UNKNOWN_TOPIC_OR_PARTITION' || !partition) {
        orphans.push({ item, error: topic?.error ?? 'UNKNOWN_TOPIC_OR_PARTITION' });
      } else if (partition.leader < 0) {
        orphans.push({ item, error: partition.error ?? NO_LEADER });
      } else {
        const group = groups.get(partition.leader) ?? [];
        group.push(item);
        groups.set(partition.leader, group);
      }
    }
    return { groups, orphans };
  }

  async #broker(nodeId: number): Promise<Broker> {
    return this.#cluster.brokerPool.findBroker({ nodeId });
  }

  async listOffsets(partitions: readonly TopicPartition[], spec: OffsetSpec): Promise<PartitionOffset[]> {
    if (partitions.length === 0) return [];
    await this.#connect();
    const timestamp = spec === 'earliest' ? EARLIEST : spec === 'latest' ? LATEST : spec.timestamp;
    const { groups, orphans } = await this.#byLeader(partitions);
    const results: PartitionOffset[] = orphans.map(({ item, error }) => ({
      topic: item.topic,
      partition: item.partition,
      error,
    }));
    const perBroker = await Promise.all(
      [...groups].map(async ([nodeId, items]) => {
        const broker = await this.#broker(nodeId);
        const byTopic = groupByTopic(items);
        const raw = await sendLenient<RawListOffsets>(broker, apiKeys.ListOffsets, requests.ListOffsets, {
          replicaId: -1,
          isolationLevel: READ_UNCOMMITTED,
          topics: [...byTopic].map(([topic, ps]) => ({
            topic,
            partitions: ps.map((partition) => ({ partition, timestamp })),
          })),
        });
        return raw.responses.flatMap((r) =>
          r.partitions.map((p): PartitionOffset => {
            const error = errorType(p.errorCode);
            const offsetText = p.offset ?? p.offsets?.[p.offsets.length - 1];
            const offset =
              offsetText === undefined
                ? undefined
                : toOffset(offsetText, `offset of ${tpKey(r.topic, p.partition)}`);
            return {
              topic: r.topic,
              partition: p.partition,
              ...(error ? { error } : offset === undefined || offset < 0 ? {} : { offset }),
            };
          }),
        );
      }),
    );
    if (
      perBroker.some((rs) =>
        rs.some((r) => r.error === 'NOT_LEADER_FOR_PARTITION' || r.error === 'NOT_LEADER_OR_FOLLOWER'),
      )
    ) {
      this.#last = undefined; // leadership moved: route by fresh metadata next time
    }
    return results.concat(perBroker.flat());
  }

  async fetch(items: readonly FetchRequest[], options: FetchOptions = {}): Promise<FetchResult[]> {
    if (items.length === 0) return [];
    await this.#connect();
    const { groups, orphans } = await this.#byLeader(items);
    const results: FetchResult[] = orphans.map(({ item, error }) => ({
      topic: item.topic,
      partition: item.partition,
      records: [],
      nextOffset: item.offset,
      error,
    }));
    const committed = options.isolation === 'read-committed';
    const wanted = new Map(items.map((i) => [tpKey(i.topic, i.partition), i.offset]));
    const perBroker = await Promise.all(
      [...groups].map(async ([nodeId, group]) => {
        const broker = await this.#broker(nodeId);
        const byTopic = new Map<string, FetchRequest[]>();
        for (const item of group) byTopic.set(item.topic, [...(byTopic.get(item.topic) ?? []), item]);
        const raw = await sendLenient<RawFetch>(broker, apiKeys.Fetch, requests.Fetch, {
          replicaId: -1,
          isolationLevel: committed ? READ_COMMITTED : READ_UNCOMMITTED,
          maxWaitTime: Math.min(options.maxWaitMs ?? 0, this.#requestTimeoutMs),
          minBytes: 1,
          maxBytes: 64 * 1024 * 1024,
          rackId: '',
          topics: [...byTopic].map(([topic, reqs]) => ({
            topic,
            partitions: reqs.map((r) => ({
              partition: r.partition,
              fetchOffset: r.offset.toString(),
              maxBytes: r.maxBytes ?? 1024 * 1024,
            })),
          })),
        });
        return raw.responses.flatMap((r) =>
          r.partitions.map((p): FetchResult => {
            const error = errorType(p.errorCode);
            const tp = tpKey(r.topicName, p.partition);
            const from = wanted.get(tp) ?? 0;
            if (error)
              return { topic: r.topicName, partition: p.partition, records: [], nextOffset: from, error };
            const aborted = committed
              ? abortedOffsets(p.messages, p.abortedTransactions ?? [])
              : new Set<number>();
            let nextOffset = from;
            const records: FetchedRecord[] = [];
            for (const m of p.messages) {
              const offset = toOffset(m.offset, `record offset in ${tp}`);
              const batchEnd =
                m.batchContext === undefined
                  ? offset
                  : toOffset(m.batchContext.firstOffset, `batch offset in ${tp}`) +
                    m.batchContext.lastOffsetDelta;
              nextOffset = Math.max(nextOffset, offset + 1, batchEnd + 1);
              // Brokers answer with whole batches, which may start before the requested offset.
              if (m.isControlRecord || offset < from || aborted.has(offset)) continue;
              records.push({
                offset,
                timestamp: Number(m.timestamp),
                key: m.key,
                value: m.value,
                headers: headersOf(m.headers),
              });
            }
            return {
              topic: r.topicName,
              partition: p.partition,
              nextOffset,
              records,
              ...nonNegative('highWatermark', p.highWatermark, `high watermark of ${tp}`),
              ...(committed
                ? nonNegative('lastStableOffset', p.lastStableOffset, `last stable offset of ${tp}`)
                : {}),
              ...nonNegative('logStartOffset', p.lastStartOffset, `log start of ${tp}`),
            };
          }),
        );
      }),
    );
    return results.concat(perBroker.flat());
  }

  appendBatch(topic: string, partition: number, records: readonly BatchRecord[]): Promise<Offset> {
    return this.#appender.append(topic, partition, records);
  }

  async produce(
    topic: string,
    records: readonly ProduceRecord[],
    options: { timeoutMs: number; acks?: -1 | 1 },
  ): Promise<ProduceResult[]> {
    if (records.length === 0) return [];
    await this.#connect();
    const { groups, orphans } = await this.#byLeader(records.map((r) => ({ ...r, topic })));
    const results: ProduceResult[] = orphans.map(({ item, error }) => ({
      topic,
      partition: item.partition,
      error,
    }));
    // A dead leader costs its own partitions only: a probe must see a cluster that still takes writes on the others.
    const perBroker = await sendPerLeader(
      groups,
      async (nodeId, group) => {
        const broker = await this.#broker(nodeId);
        const byPartition = new Map<number, ProduceRecord[]>();
        for (const r of group) byPartition.set(r.partition, [...(byPartition.get(r.partition) ?? []), r]);
        const raw = await sendLenient<RawProduce>(broker, apiKeys.Produce, requests.Produce, {
          acks: options.acks ?? -1,
          timeout: options.timeoutMs,
          compression: 0,
          topicData: [
            {
              topic,
              partitions: [...byPartition].map(([partition, rs]) => ({
                partition,
                messages: rs.map((r) => ({
                  key: r.key ?? null,
                  value: r.value,
                  timestamp: r.timestamp ?? Date.now(),
                  headers: {},
                })),
              })),
            },
          ],
        });
        return raw.topics.flatMap((t) =>
          t.partitions.map((p): ProduceResult => {
            const error = errorType(p.errorCode);
            return {
              topic: t.topicName,
              partition: p.partition,
              ...(error
                ? { error }
                : { baseOffset: toOffset(p.baseOffset, `base offset in ${tpKey(topic, p.partition)}`) }),
            };
          }),
        );
      },
      (record, nodeId, e): ProduceResult => {
        // Leadership may have moved off the dead broker since: route by fresh metadata next time.
        this.#last = undefined;
        return {
          topic,
          partition: record.partition,
          error: BROKER_NOT_AVAILABLE,
          leader: nodeId,
          reason: classifyKafkaError(e),
          detail: describeError(e).replace(/\s+/g, ' ').slice(0, 200),
        };
      },
    );
    return results.concat(perBroker);
  }

  async groupOffsets(groupId: string): Promise<GroupOffset[]> {
    const raw = await this.#toCoordinator(groupId, (coordinator) =>
      sendLenient<RawOffsetFetch>(coordinator, apiKeys.OffsetFetch, requests.OffsetFetch, {
        groupId,
        topics: [],
      }),
    );
    const groupError = errorType(raw.errorCode ?? 0);
    if (groupError) {
      this.#coordinators.delete(groupId);
      throw new KafkaOperationError(
        reasonForErrorType(groupError),
        `offsets of group ${groupId}: ${groupError}`,
      );
    }
    return raw.responses.flatMap((r) =>
      r.partitions
        .map((p): GroupOffset => {
          const error = errorType(p.errorCode);
          const offset = toOffset(p.offset, `offset of group ${groupId} in ${tpKey(r.topic, p.partition)}`);
          return {
            topic: r.topic,
            partition: p.partition,
            ...(error ? { error } : offset >= 0 ? { offset } : {}),
          };
        })
        .filter((o) => o.error !== undefined || o.offset !== undefined),
    );
  }

  async describeGroups(groupIds: readonly string[]): Promise<GroupDescription[]> {
    const byCoordinator = new Map<number, { broker: Broker; groups: string[] }>();
    await Promise.all(
      [...new Set(groupIds)].map(async (groupId) => {
        const broker = await this.#coordinator(groupId);
        const nodeId = broker.nodeId ?? -1;
        const entry = byCoordinator.get(nodeId) ?? { broker, groups: [] };
        entry.groups.push(groupId);
        byCoordinator.set(nodeId, entry);
      }),
    );
    const answers = await Promise.all(
      [...byCoordinator.values()].map(async ({ broker, groups }) => {
        try {
          return await sendLenient<RawDescribeGroups>(
            broker,
            apiKeys.DescribeGroups,
            requests.DescribeGroups,
            {
              groupIds: groups,
            },
          );
        } catch (e: unknown) {
          for (const g of groups) this.#coordinators.delete(g);
          throw e;
        }
      }),
    );
    return answers.flatMap((raw) =>
      raw.groups.map((g) => {
        const error = errorType(g.errorCode);
        if (error) {
          if (error === 'NOT_COORDINATOR' || error === 'COORDINATOR_NOT_AVAILABLE')
            this.#coordinators.delete(g.groupId);
          throw new KafkaOperationError(reasonForErrorType(error), `describe group ${g.groupId}: ${error}`);
        }
        return { groupId: g.groupId, state: g.state, members: g.members.length };
      }),
    );
  }

  async #coordinator(groupId: string): Promise<Broker> {
    let found = this.#coordinators.get(groupId);
    if (found === undefined) {
      found = (async () => {
        await this.#connect();
        // FindCoordinator goes through a known broker: make sure the pool has some.
        if (Object.keys(this.#cluster.brokerPool.brokers).length === 0)
          await this.metadata(['__consumer_offsets']);
        return this.#cluster.findGroupCoordinator({ groupId });
      })();
      found.catch(() => this.#coordinators.delete(groupId));
      this.#coordinators.set(groupId, found);
    }
    return found;
  }

  /** A request to a group's coordinator; a failed one makes the next call find the coordinator again. */
  async #toCoordinator<T>(groupId: string, send: (coordinator: Broker) => Promise<T>): Promise<T> {
    try {
      return await send(await this.#coordinator(groupId));
    } catch (e: unknown) {
      this.#coordinators.delete(groupId);
      throw e;
    }
  }

  async commitGroupOffsets(
    groupId: string,
    offsets: ReadonlyArray<{ topic: string; partition: number; offset: Offset }>,
  ): Promise<void> {
    if (offsets.length === 0) return;
    const byTopic = new Map<string, Array<{ partition: number; offset: string }>>();
    for (const o of offsets) {
      const list = byTopic.get(o.topic) ?? [];
      list.push({ partition: o.partition, offset: String(o.offset) });
      byTopic.set(o.topic, list);
    }
    const raw = await this.#toCoordinator(groupId, (coordinator) =>
      sendLenient<RawOffsetCommit>(coordinator, apiKeys.OffsetCommit, requests.OffsetCommit, {
        groupId,
        groupGenerationId: -1,
        memberId: '',
        topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
      }),
    );
    const failed = raw.responses.flatMap((r) =>
      r.partitions
        .map((p) => ({ tp: tpKey(r.topic, p.partition), error: errorType(p.errorCode) }))
        .filter((p) => p.error !== undefined),
    );
    const first = failed[0];
    if (first?.error !== undefined) {
      if (first.error === 'NOT_COORDINATOR' || first.error === 'COORDINATOR_NOT_AVAILABLE')
        this.#coordinators.delete(groupId);
      throw new KafkaOperationError(
        reasonForErrorType(first.error),
        `commit offsets of group ${groupId}: ${first.error} on ${failed.length} partition(s), first ${first.tp}` +
          (first.error === 'UNKNOWN_MEMBER_ID'
            ? ' (the group has members: its offsets are theirs to move)'
            : ''),
      );
    }
  }

  async createTopic(spec: CreateTopicSpec): Promise<'created' | 'exists'> {
    await this.#connect();
    const metadata = this.#last?.metadata ?? (await this.metadata([spec.topic]));
    // KRaft brokers forward CreateTopics to the active controller, so any live broker will do.
    const nodeId =
      metadata.controllerId !== null && metadata.brokers.some((b) => b.nodeId === metadata.controllerId)
        ? metadata.controllerId
        : metadata.brokers[0]?.nodeId;
    if (nodeId === undefined)
      throw new KafkaOperationError('no-brokers', 'cannot create a topic: metadata lists no broker');
    const broker = await this.#broker(nodeId);
    const raw = await sendLenient<RawCreateTopics>(broker, apiKeys.CreateTopics, requests.CreateTopics, {
      topics: [
        {
          topic: spec.topic,
          numPartitions: spec.numPartitions,
          replicationFactor: spec.replicationFactor,
          replicaAssignment: [],
          configEntries: Object.entries(spec.configs ?? {}).map(([name, value]) => ({ name, value })),
        },
      ],
      validateOnly: false,
      timeout: spec.timeoutMs ?? this.#requestTimeoutMs,
    });
    this.#last = undefined;
    const error = errorType(raw.topicErrors.find((t) => t.topic === spec.topic)?.errorCode ?? 0);
    if (error === undefined) return 'created';
    if (error === 'TOPIC_ALREADY_EXISTS') return 'exists';
    throw new KafkaOperationError(
      error.includes('AUTHORIZATION') ? 'auth-failed' : 'protocol-error',
      `creating topic ${spec.topic} failed: ${error}`,
      { retriable: false },
    );
  }

  async close(): Promise<void> {
    this.#connected = undefined;
    this.#last = undefined;
    await this.#cluster.disconnect();
  }
}

/**
 * Offsets of records that belong to aborted transactions, the way a read_committed consumer finds them: from
 * the first offset of each aborted transaction the broker lists, the producer's transactional records are
 * aborted until its ABORT marker.
 */
function abortedOffsets(
  messages: readonly RawFetchedMessage[],
  abortedTransactions: ReadonlyArray<{ producerId: string; firstOffset: string }>,
): Set<number> {
  const out = new Set<number>();
  if (abortedTransactions.length === 0) return out;
  const pending = [...abortedTransactions].sort((a, b) => Number(a.firstOffset) - Number(b.firstOffset));
  const open = new Set<string>();
  for (const m of messages) {
    const offset = Number(m.offset);
    while (pending.length > 0 && offset >= Number(pending[0]?.firstOffset)) {
      const next = pending.shift();
      if (next) open.add(next.producerId);
    }
    const batch = m.batchContext;
    if (batch === undefined) continue;
    if (m.isControlRecord) {
      if (m.key !== null && Buffer.from(m.key).equals(ABORT_MARKER_KEY)) open.delete(batch.producerId);
    } else if (batch.inTransaction && open.has(batch.producerId)) out.add(offset);
  }
  return out;
}

function headersOf(raw: RawFetchedMessage['headers']): RecordHeaders {
  const out: RecordHeaders = {};
  const buffer = (v: Buffer | null): Buffer => v ?? Buffer.alloc(0);
  for (const [k, v] of Object.entries(raw ?? {})) out[k] = Array.isArray(v) ? v.map(buffer) : buffer(v);
  return out;
}

function groupByTopic(items: readonly TopicPartition[]): Map<string, number[]> {
  const byTopic = new Map<string, number[]>();
  for (const { topic, partition } of items) {
    const ps = byTopic.get(topic);
    if (ps) ps.push(partition);
    else byTopic.set(topic, [partition]);
  }
  return byTopic;
}

/** `{ [field]: offset }` when the broker sent one; brokers answer -1 for "unknown". */
function nonNegative<K extends string>(
  field: K,
  raw: string | undefined,
  what: string,
): { [F in K]?: Offset } {
  if (raw === undefined) return {};
  const offset = toOffset(raw, what);
  return offset >= 0 ? ({ [field]: offset } as { [F in K]?: Offset }) : {};
}

/** Create a {@link ClusterClient} for a kafkajs config (from `buildKafkaConfig`). Connects lazily. */
export function createClusterClient(config: KafkaConfig, options: ClusterClientOptions = {}): ClusterClient {
  return new KafkajsClusterClient(config, options);
}
