import type Cluster from 'kafkajs/src/cluster/index.js';
import { errorCodes } from 'kafkajs/src/protocol/error.js';
import apiKeys from 'kafkajs/src/protocol/requests/apiKeys.js';
import { requests } from 'kafkajs/src/protocol/requests/index.js';
import { describeError, KafkaOperationError } from '../errors.ts';
import { type Offset, toOffset } from './offset.ts';
import { type BatchRecord, encodeRecordBatch } from './record-batch.ts';
import { tpKey } from './topic-partition.ts';

/**
 * Append records to one partition as idempotent batches with acks=all: Kafka's idempotent producer, for a writer
 * that sends one batch per partition at a time (failback's copy loop). The batch is encoded by record-batch.ts
 * (kafkajs' own encoding cost more than the whole copy loop besides); routing, auth and API version negotiation
 * stay kafkajs' (its Broker objects).
 *
 * A failed attempt is retried with the same batch and the same sequence number, so the broker stores it once
 * (it answers a batch it already has with that batch's offset). When the broker refuses the producer's state
 * (a sequence gap, an unknown or fenced producer) or retries run out, the producer id is dropped and the error
 * thrown: whether that batch landed is then unknown, and the caller must find out (the copy loop scans the target
 * for its provenance headers before writing again).
 */
type Broker = Cluster['brokerPool']['brokers'][string];

export interface AppendRoute {
  /** The partition's leader; throws when there is none. */
  leader(topic: string, partition: number): Promise<Broker>;
  /** Any connected broker (to ask for a producer id). */
  anyBroker(): Promise<Broker>;
  /** Leadership moved: route by fresh metadata next time. */
  forgetMetadata(): void;
  sleep(ms: number): Promise<void>;
}

interface RawProduce {
  topics: Array<{
    topicName: string;
    partitions: Array<{ partition: number; errorCode: number; baseOffset: string }>;
  }>;
}

interface RawInitProducerId {
  errorCode: number;
  producerId: string;
  producerEpoch: number;
}

const ATTEMPTS = 5;
const INIT_ATTEMPTS = 10;
const FIRST_BACKOFF_MS = 100;
/** Kafka's sequence numbers wrap to 0 past Int32 max. */
const SEQUENCE_WRAP = 2 ** 31;
/** Produce versions whose request body is the one encoded below (v9 on is flexible; kafkajs negotiates at most 7). */
const PRODUCE_VERSIONS = { min: 3, max: 8 };

const errorByCode = new Map(errorCodes.map((e) => [e.code, e]));

export class IdempotentAppender {
  readonly #route: AppendRoute;
  readonly #timeoutMs: number;
  #producer: Promise<{ id: bigint; epoch: number }> | undefined;
  readonly #sequences = new Map<string, number>();

  constructor(route: AppendRoute, options: { timeoutMs: number }) {
    this.#route = route;
    this.#timeoutMs = options.timeoutMs;
  }

  /** Write `records` as one batch (at most the broker's message.max.bytes); returns the first offset written. */
  async append(topic: string, partition: number, records: readonly BatchRecord[]): Promise<Offset> {
    const tp = tpKey(topic, partition);
    const producer = await this.#producerId();
    const sequence = this.#sequences.get(tp) ?? 0;
    const batch = encodeRecordBatch(records, {
      producerId: producer.id,
      producerEpoch: producer.epoch,
      baseSequence: sequence,
    });
    let last = '';
    for (let attempt = 1; attempt <= ATTEMPTS; attempt += 1) {
      let retriable = true;
      try {
        const broker = await this.#route.leader(topic, partition);
        const answer = (await this.#send(broker, topic, partition, batch)).topics[0]?.partitions[0];
        if (answer === undefined) throw new Error(`expected an answer for ${tp}, got none`);
        if (answer.errorCode === 0) {
          this.#sequences.set(tp, (sequence + records.length) % SEQUENCE_WRAP);
          return toOffset(answer.baseOffset, `base offset in ${tp}`);
        }
        const error = errorByCode.get(answer.errorCode);
        last = error?.type ?? `ERROR_CODE_${answer.errorCode}`;
        retriable = error?.retriable ?? false;
      } catch (e: unknown) {
        // A connection that failed may or may not have delivered the batch: resending it is what idempotence is for.
        last = describeError(e);
      }
      if (!retriable) break;
      this.#route.forgetMetadata();
      if (attempt < ATTEMPTS) await this.#route.sleep(FIRST_BACKOFF_MS * 2 ** (attempt - 1));
    }
    this.#producer = undefined;
    this.#sequences.clear();
    throw new KafkaOperationError(
      'produce-failed',
      `appending ${records.length} record(s) to ${tp}: expected the batch acknowledged by all replicas, got ${last}`,
    );
  }

  #producerId(): Promise<{ id: bigint; epoch: number }> {
    if (this.#producer === undefined) {
      const asked = (async () => {
        let last = '';
        // A fresh cluster answers COORDINATOR_LOAD_IN_PROGRESS until its transaction state is loaded.
        for (let attempt = 1; attempt <= INIT_ATTEMPTS; attempt += 1) {
          if (attempt > 1) await this.#route.sleep(FIRST_BACKOFF_MS * 2 ** Math.min(attempt - 2, 4));
          let raw: RawInitProducerId;
          try {
            const broker = await this.#route.anyBroker();
            const built = broker.lookupRequest(
              apiKeys.InitProducerId,
              requests.InitProducerId,
            )({
              transactionalId: null,
              transactionTimeout: 60_000,
            });
            raw = (await broker.connectionPool.send({
              ...built,
              response: { ...built.response, parse: async (data: unknown) => data },
            })) as RawInitProducerId;
          } catch (e: unknown) {
            last = describeError(e);
            continue;
          }
          if (raw.errorCode === 0) return { id: BigInt(raw.producerId), epoch: raw.producerEpoch };
          const error = errorByCode.get(raw.errorCode);
          last = error?.type ?? `ERROR_CODE_${raw.errorCode}`;
          if (!error?.retriable) break;
        }
        throw new KafkaOperationError(
          'produce-failed',
          `asking for a producer id: expected one, got ${last}`,
        );
      })();
      this.#producer = asked;
      asked.catch(() => {
        if (this.#producer === asked) this.#producer = undefined;
      });
    }
    return this.#producer;
  }

  async #send(broker: Broker, topic: string, partition: number, batch: Buffer): Promise<RawProduce> {
    // kafkajs builds the request for the negotiated version (its apiVersion, its response decoder); the body is
    // written here around the encoded batch. kafkajs' request framing only reads `buf` and `buffer`.
    const built = broker.lookupRequest(
      apiKeys.Produce,
      requests.Produce,
    )({
      acks: -1,
      timeout: this.#timeoutMs,
      compression: 0,
      topicData: [],
    }) as { request: { apiVersion: number }; response: object };
    const version = built.request.apiVersion;
    if (version < PRODUCE_VERSIONS.min || version > PRODUCE_VERSIONS.max) {
      throw new KafkaOperationError(
        'produce-failed',
        `writing record batches needs Produce v${PRODUCE_VERSIONS.min}-v${PRODUCE_VERSIONS.max}, the broker and kafkajs agreed on v${version}`,
      );
    }
    const body = produceBody(topic, partition, batch, this.#timeoutMs);
    try {
      return (await broker.connectionPool.send({
        request: { ...built.request, encode: async () => ({ buf: body, buffer: body }) },
        response: { ...built.response, parse: async (data: unknown) => data },
      })) as RawProduce;
    } catch (e: unknown) {
      if ((e as { name?: string }).name === 'KafkaJSConnectionClosedError')
        await broker.disconnect().catch(() => {});
      throw e;
    }
  }
}

/** Produce request v3-v8: transactional id (null), acks, timeout, one topic with one partition and its batch. */
function produceBody(topic: string, partition: number, batch: Buffer, timeoutMs: number): Buffer {
  const name = Buffer.from(topic, 'utf8');
  const head = Buffer.allocUnsafe(2 + 2 + 4 + 4 + 2 + name.length + 4 + 4 + 4);
  let at = head.writeInt16BE(-1, 0);
  at = head.writeInt16BE(-1, at);
  at = head.writeInt32BE(timeoutMs, at);
  at = head.writeInt32BE(1, at);
  at = head.writeInt16BE(name.length, at);
  at += name.copy(head, at);
  at = head.writeInt32BE(1, at);
  at = head.writeInt32BE(partition, at);
  head.writeInt32BE(batch.length, at);
  return Buffer.concat([head, batch]);
}
