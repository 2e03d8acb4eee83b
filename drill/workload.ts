import type { ActiveConfigSource } from '#shared/client/active-config-watcher.ts';
import type { ClientLogger } from '#shared/client/client-logger.ts';
import { FollowingConsumer } from '#shared/client/following-consumer.ts';
import { FollowingProducer } from '#shared/client/following-producer.ts';
import type { ClusterRole } from '#shared/config/schema.ts';
import { describeError } from '#shared/errors.ts';
import { until } from './wait.ts';

/**
 * The application in the drill: a producer writing numbered records to the logical topic `orders` through the
 * client library, and a consumer group reading them back. It keeps the books the drill's figures come from.
 */
export interface Ack {
  n: number;
  cluster: ClusterRole;
  atMs: number;
}

/**
 * What the consumer group read, by record number. In active-active the two applications' consumers are one
 * group: after a failover either may read a record the other produced, so they keep one ledger.
 */
export class Ledger {
  readonly consumed = new Map<number, number>();
  /** Extra deliveries by the epoch of the configuration the consumer read them under: where duplicates arise. */
  readonly duplicatesByEpoch = new Map<number, number>();
  consumedTotal = 0;
}

export class Workload {
  readonly acks = new Map<number, Ack>();
  readonly failedSends: number[] = [];
  readonly ledger: Ledger;
  lastError: string | undefined;
  #next: number;
  #running = false;
  #loop: Promise<void> | undefined;
  readonly #producer: FollowingProducer;
  readonly #consumer: FollowingConsumer;
  readonly #topic: string;
  readonly #intervalMs: number;

  constructor(
    watcher: ActiveConfigSource,
    options: {
      topic: string;
      groupId: string;
      intervalMs: number;
      logger?: ClientLogger;
      /** Shared with the other cluster's application in active-active. */
      ledger?: Ledger;
      /** The first record number: the other application's numbers start elsewhere, so the books can tell them apart. */
      firstNumber?: number;
    },
  ) {
    this.ledger = options.ledger ?? new Ledger();
    this.#next = options.firstNumber ?? 0;
    this.#topic = options.topic;
    this.#intervalMs = options.intervalMs;
    // A send may wait through a whole detection window while the primary is dead: it is retried on the
    // secondary once the switch happens, or reported failed; never dropped.
    this.#producer = new FollowingProducer({
      source: watcher,
      sendTimeoutMs: 120_000,
      ...(options.logger ? { logger: options.logger } : {}),
    });
    this.#consumer = new FollowingConsumer({
      source: watcher,
      groupId: options.groupId,
      topics: [options.topic],
      ...(options.logger ? { logger: options.logger } : {}),
      eachMessage: async ({ message, epoch }) => {
        const n = Number(message.value?.toString('utf8'));
        if (Number.isInteger(n)) {
          const l = this.ledger;
          const seen = l.consumed.get(n) ?? 0;
          if (seen > 0) l.duplicatesByEpoch.set(epoch, (l.duplicatesByEpoch.get(epoch) ?? 0) + 1);
          l.consumed.set(n, seen + 1);
          l.consumedTotal++;
        }
      },
    });
  }

  get produced(): number {
    return this.acks.size;
  }

  get consumed(): ReadonlyMap<number, number> {
    return this.ledger.consumed;
  }

  get duplicatesByEpoch(): ReadonlyMap<number, number> {
    return this.ledger.duplicatesByEpoch;
  }

  /** Records read more than once by the group, counted per extra delivery. */
  get duplicates(): number {
    return this.ledger.consumedTotal - this.ledger.consumed.size;
  }

  /** The first acknowledgement by `cluster` at or after `sinceMs`. */
  firstAckOn(cluster: ClusterRole, sinceMs: number): Ack | undefined {
    let first: Ack | undefined;
    for (const a of this.acks.values()) {
      if (a.cluster === cluster && a.atMs >= sinceMs && (!first || a.atMs < first.atMs)) first = a;
    }
    return first;
  }

  async start(): Promise<void> {
    await this.#producer.connect();
    await this.#consumer.start();
    this.#running = true;
    this.#loop = this.#produceLoop();
  }

  async #produceLoop(): Promise<void> {
    while (this.#running) {
      const n = this.#next++;
      try {
        const result = await this.#producer.send({
          topic: this.#topic,
          messages: [{ key: `k${n % 16}`, value: String(n) }],
        });
        this.acks.set(n, { n, cluster: result.cluster, atMs: Date.now() });
      } catch (e: unknown) {
        this.failedSends.push(n);
        this.lastError = describeError(e);
      }
      await new Promise((r) => setTimeout(r, this.#intervalMs));
    }
  }

  /** Stop producing; the consumer keeps reading. */
  async stopProducing(): Promise<void> {
    this.#running = false;
    await this.#loop;
  }

  async stop(): Promise<void> {
    await this.stopProducing();
    await Promise.allSettled([this.#producer.disconnect(), this.#consumer.stop()]);
  }

  /** Acknowledged records the consumer has not read. */
  unseen(filter: (a: Ack) => boolean = () => true): number[] {
    return [...this.acks.values()].filter((a) => filter(a) && !this.consumed.has(a.n)).map((a) => a.n);
  }

  /** Resolves once the consumer has read every acknowledged record; throws, saying so, after `timeoutMs`. */
  async consumedAll(timeoutMs: number): Promise<void> {
    await until('the consumer to read every acknowledged record', timeoutMs, () =>
      this.unseen().length === 0 ? true : undefined,
    );
  }
}

/** The line the drill prints every few seconds while the application runs. */
export function progressLine(
  w: Pick<Workload, 'acks' | 'produced' | 'consumed' | 'duplicates' | 'failedSends' | 'lastError'>,
): string {
  const lastAck = [...w.acks.values()].at(-1);
  const failed = w.failedSends.length ? `, ${w.failedSends.length} sends failed (last: ${w.lastError})` : '';
  return `  ... produced ${w.produced}, consumed ${w.consumed.size} (+${w.duplicates} dup), writing to ${lastAck?.cluster ?? '-'}${failed}`;
}
