import type { CompressionTypes, Message, ProducerConfig, RecordMetadata } from 'kafkajs';
import { type Clock, systemClock } from '../clock.ts';
import type { ClusterRole } from '../config/schema.ts';
import { describeError, SendFailedError } from '../errors.ts';
import type { ActiveClientConfig } from './active-client-config.ts';
import type { ActiveConfigSource } from './active-config-watcher.ts';
import { type ClientLogger, defaultClientLogger } from './client-logger.ts';
import { type KafkaFactory, kafkajsFactory, type ProducerLike } from './kafka-clients.ts';
import { race } from './race.ts';
import { roleView, sameCluster, sameConnection } from './role-view.ts';
import { listedTopics, routeOf } from './topic-routes.ts';

export interface FollowingProducerOptions {
  /** Usually an {@link ActiveConfigWatcher}, started. */
  source: ActiveConfigSource;
  /** kafkajs producer options. `allowAutoTopicCreation` defaults to `false`: a mapped topic must exist. */
  producer?: ProducerConfig;
  /**
   * How long one `send` may take in all, across reconnects and switches, before it is rejected with
   * {@link SendFailedError} (`reason: 'timeout'`). Default 30,000 ms.
   */
  sendTimeoutMs?: number;
  /**
   * On a switch, how long sends already in flight on the old cluster may take to be acknowledged there before
   * they are abandoned and retried on the new cluster. A dead cluster never answers, so this bounds the pause; a
   * cluster that has already gone this long without acknowledging any of them (hung) is not waited for at all.
   * Default 3,000 ms.
   */
  drainTimeoutMs?: number;
  /** Bound on disconnecting a retired client (a hung cluster can hold `disconnect()` for a request timeout). Default 5,000 ms. */
  disconnectTimeoutMs?: number;
  /** Wait between retries on the same cluster after a retriable error. Default 250 ms, doubling to 2 s. */
  retryBackoffMs?: number;
  /**
   * Told after each switch to another cluster, once it is in use. Not told about an epoch that keeps the producers
   * where they are (held back during a staged failback switch): that one is adopted without reconnecting. Nor about
   * an epoch that only rotated the cluster's credentials: the producer reconnects there (logged) as it does on a
   * switch, sends in flight finish on the old client or are retried on the new one.
   */
  onSwitch?: (event: ProducerSwitchEvent) => void;
  logger?: ClientLogger;
  clock?: Clock;
  /** How kafkajs clients are built; replaced in unit tests. */
  kafkaFactory?: KafkaFactory;
}

export interface ProducerSwitchEvent {
  from: { cluster: ClusterRole; epoch: number };
  to: { cluster: ClusterRole; epoch: number };
  /** Sends that were still in flight on the old cluster after `drainTimeoutMs` and were retried on the new one. */
  abandonedInFlight: number;
}

/** A record batch for a logical topic; the producer maps it to the active cluster's topic. */
export interface FollowingProducerRecord {
  /** The logical topic (a key of the active configuration's `topics`), e.g. `orders`. */
  topic: string;
  messages: Message[];
  /** Default -1 (all in-sync replicas): an acknowledgement must mean the record survives a broker. */
  acks?: number;
  timeout?: number;
  compression?: CompressionTypes;
}

export interface FollowingSendResult {
  /** The cluster that acknowledged the records. */
  cluster: ClusterRole;
  epoch: number;
  /** The topic actually written (`orders`, or `primary.orders` after a failover with the default policy). */
  topic: string;
  /** How many times the batch was handed to a cluster (more than 1: retried, possibly duplicated). */
  attempts: number;
  records: RecordMetadata[];
}

interface Generation {
  /** The producers' view ({@link roleView}); replaced in place by a later epoch on the same connection. */
  config: ActiveClientConfig;
  readonly producer: ProducerLike;
  /** Resolves once connected; rejects only when the generation is retired before it connected. */
  readonly ready: Promise<void>;
  /** Aborted when this generation is retired: sends still waiting on it move to the next one. */
  readonly retired: AbortController;
  inFlight: number;
  /**
   * Since when sends have been in flight here without any being acknowledged (clock time), or undefined while
   * nothing waits. A failed send does not reset it: kafkajs retries on a hung cluster fail and go again.
   */
  unansweredSince: number | undefined;
  readonly idle: Set<() => void>;
}

/**
 * A producer that follows the active configuration: on a switch it builds a kafkajs producer for the new
 * cluster, moves new sends to it, gives sends in flight on the old cluster `drainTimeoutMs` to be acknowledged,
 * retries the rest on the new cluster, then disconnects the old producer.
 *
 * It follows the producers' view of the configuration ({@link roleView}): during stage 1 of a staged failback
 * switch that holds producers back, it stays on the secondary (same client, no reconnect, results report the new
 * epoch) and moves with the epoch that moves producers. An epoch on the same cluster with rotated credentials is
 * followed the same way as a switch, onto a new kafkajs producer built with them.
 *
 * Every `send` either resolves with the cluster that acknowledged it, or rejects with {@link SendFailedError}:
 * a record the application handed over is never dropped silently. Delivery is at-least-once: a send abandoned
 * on a dying cluster may have been written there too (and then be mirrored), so consumers must tolerate
 * duplicates.
 *
 * Per-key order is kept for what this producer writes: see {@link FollowingProducer.send}.
 *
 * @example
 * ```ts
 * const watcher = await watchActiveConfig({ deployment: 'orders-dr', stores, kafka: { clientId: 'shop' } });
 * const producer = new FollowingProducer({ source: watcher });
 * await producer.connect();
 * const result = await producer.send({ topic: 'orders', messages: [{ key: id, value: JSON.stringify(order) }] });
 * // result.cluster === 'primary', result.topic === 'orders'; after a failover: 'secondary', 'primary.orders'
 * ```
 */
export class FollowingProducer {
  readonly #options: FollowingProducerOptions;
  readonly #clock: Clock;
  readonly #logger: ClientLogger;
  readonly #factory: KafkaFactory;
  readonly #sendTimeoutMs: number;
  readonly #drainTimeoutMs: number;
  readonly #disconnectTimeoutMs: number;
  readonly #retryBackoffMs: number;
  #gen: Generation | undefined;
  #target: ActiveClientConfig | undefined;
  #switching: Promise<void> | undefined;
  #unsubscribe: (() => void) | undefined;
  #closed = false;
  /** Fires when a new generation is installed, so retry waits on the old one end early. */
  #switched = new AbortController();
  readonly #keyOrder = new KeyOrder();

  constructor(options: FollowingProducerOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? defaultClientLogger;
    this.#factory = options.kafkaFactory ?? kafkajsFactory;
    this.#sendTimeoutMs = options.sendTimeoutMs ?? 30_000;
    this.#drainTimeoutMs = options.drainTimeoutMs ?? 3_000;
    this.#disconnectTimeoutMs = options.disconnectTimeoutMs ?? 5_000;
    this.#retryBackoffMs = options.retryBackoffMs ?? 250;
  }

  /** The configuration new sends use (the producers' view, see {@link roleView}), once connected. */
  get active(): ActiveClientConfig | undefined {
    return this.#gen?.config;
  }

  /**
   * Connect to the active cluster and start following switches.
   * @throws the connect error when the active cluster cannot be reached now (nothing keeps running).
   */
  async connect(): Promise<void> {
    if (this.#closed) throw new Error('FollowingProducer: connect() after disconnect()');
    if (this.#gen) return;
    const config = roleView(this.#options.source.current(), 'producers');
    const producer = this.#newProducer(config);
    await producer.connect();
    this.#gen = this.#generation(config, producer, Promise.resolve());
    this.#unsubscribe = this.#options.source.subscribe((next) => this.#follow(next));
    // A switch may have been published between reading current() and subscribing.
    const latest = this.#options.source.current();
    if (latest.epoch !== config.epoch) this.#follow(latest);
  }

  /**
   * Send to a logical topic on whichever cluster is active. Resolves when a cluster acknowledged the records.
   *
   * Order: records of one key (in one logical topic) are written in the order of the `send` calls that carried
   * them, across a switch too. A send waits for an earlier send of one of its keys that is not in flight on the same
   * cluster (still draining on the old cluster, about to be resent on the new one, or waiting to retry); sends of a
   * key that are all in flight on one cluster are not held back (kafkajs keeps their order there as usual, and its
   * own retries can reorder them unless the producer is idempotent). Records without a key have no order.
   * What this cannot order: a record acknowledged by the old cluster reaches the new one only through MirrorMaker 2,
   * so on the new cluster it may land after records of its key sent after the switch (and with the default
   * replication policy it is in the other topic, `primary.orders`, which consumers read alongside `orders`).
   *
   * @throws {SendFailedError} `unknown-topic` (not in the mapping), `rejected` (the cluster refused them for a
   *   reason a retry cannot fix, e.g. too large), `timeout` (no cluster acknowledged them within
   *   `sendTimeoutMs`; they may still have been written), `closed` (the producer was disconnected first).
   */
  async send(record: FollowingProducerRecord): Promise<FollowingSendResult> {
    // Registered before anything is awaited: the order of send() calls is the order a key's records keep.
    const ordered = this.#keyOrder.enter(record);
    try {
      return await this.#send(record, ordered);
    } finally {
      this.#keyOrder.leave(ordered);
    }
  }

  async #send(record: FollowingProducerRecord, ordered: OrderedSend): Promise<FollowingSendResult> {
    const deadline = this.#clock.now() + this.#sendTimeoutMs;
    let attempts = 0;
    let lastError: unknown;
    let backoffMs = this.#retryBackoffMs;
    for (;;) {
      const gen = this.#gen;
      if (this.#closed || !gen) {
        throw new SendFailedError(
          'closed',
          `send to '${record.topic}' refused: the producer is ${this.#closed ? 'disconnected' : 'not connected yet'}` +
            (attempts > 0 ? ` (after ${attempts} attempt(s); it may have been written)` : ''),
          { attempts, cause: lastError },
        );
      }
      const route = routeOf(gen.config, record.topic);
      if (!route) {
        throw new SendFailedError(
          'unknown-topic',
          `send to '${record.topic}' refused: expected one of the mapped topics ` +
            `(${listedTopics(gen.config)}) in epoch ${gen.config.epoch}`,
          { attempts },
        );
      }
      const remaining = deadline - this.#clock.now();
      if (remaining <= 0) throw this.#timeout(record, attempts, lastError);

      const ready = await race(gen.ready, {
        clock: this.#clock,
        timeoutMs: remaining,
        signal: gen.retired.signal,
      });
      if (ready.kind === 'timeout') throw this.#timeout(record, attempts, lastError);
      if (ready.kind !== 'value') continue; // retired before it connected: the next generation takes over

      // An earlier send of one of these keys that is not in flight on this producer (draining on the old cluster,
      // about to be resent here, or waiting to retry) goes first, so that a switch cannot put a key's records out
      // of order on the new cluster.
      const earlier = this.#keyOrder.blocking(ordered, gen);
      if (earlier !== undefined) {
        const turn = await race(earlier, {
          clock: this.#clock,
          timeoutMs: deadline - this.#clock.now(),
          signal: gen.retired.signal,
        });
        if (turn.kind === 'timeout') throw this.#timeout(record, attempts, lastError);
        continue; // look again: the earlier send moved, or this generation was retired meanwhile
      }

      attempts += 1;
      gen.inFlight += 1;
      gen.unansweredSince ??= this.#clock.now();
      this.#keyOrder.dispatched(ordered, gen);
      const sent = gen.producer.send({
        topic: route.produce,
        messages: record.messages,
        acks: record.acks ?? -1,
        ...(record.timeout === undefined ? {} : { timeout: record.timeout }),
        ...(record.compression === undefined ? {} : { compression: record.compression }),
      });
      const outcome = await race(sent, {
        clock: this.#clock,
        timeoutMs: deadline - this.#clock.now(),
        signal: gen.retired.signal,
      });
      this.#settled(gen);
      this.#keyOrder.dispatched(ordered, undefined);
      switch (outcome.kind) {
        case 'value':
          gen.unansweredSince = gen.inFlight > 0 ? this.#clock.now() : undefined;
          return {
            cluster: gen.config.cluster,
            epoch: gen.config.epoch,
            topic: route.produce,
            attempts,
            records: outcome.value,
          };
        case 'timeout':
          throw this.#timeout(record, attempts, lastError);
        case 'aborted':
          // Abandoned on a retired cluster: it may have landed there, so a retry may duplicate, never lose.
          continue;
        case 'error': {
          lastError = outcome.error;
          if (this.#closed) continue; // reported as 'closed' at the top of the loop
          if (this.#gen !== gen) continue; // a switch happened meanwhile: retry on the new cluster
          if (!isRetriableSendError(outcome.error) && !isWriteFenced(outcome.error)) {
            throw new SendFailedError(
              'rejected',
              `send to '${record.topic}' (${route.produce} on ${gen.config.cluster}, epoch ${gen.config.epoch}) ` +
                `rejected: ${describeError(outcome.error)}`,
              { attempts, cause: outcome.error },
            );
          }
          // Retriable on this cluster: wait a little, or less if a switch arrives first.
          await this.#clock.sleep(
            Math.min(backoffMs, Math.max(0, deadline - this.#clock.now())),
            this.#switched.signal,
          );
          backoffMs = Math.min(backoffMs * 2, 2_000);
          continue;
        }
      }
    }
  }

  /** Resolves once no switch is in progress (the newest configuration is in use and the old client is gone). */
  async settled(): Promise<void> {
    while (this.#switching) await this.#switching;
  }

  /**
   * Stop following and disconnect. Sends still waiting reject with `closed`; sends in flight get
   * `drainTimeoutMs` to be acknowledged first.
   */
  async disconnect(): Promise<void> {
    if (this.#closed) return;
    this.#unsubscribe?.();
    this.#target = undefined;
    await this.settled();
    this.#closed = true;
    const gen = this.#gen;
    this.#switched.abort();
    if (gen) await this.#retire(gen);
  }

  #follow(next: ActiveClientConfig): void {
    if (this.#closed) return;
    this.#target = roleView(next, 'producers');
    this.#switching ??= this.#runSwitches().finally(() => {
      this.#switching = undefined;
    });
  }

  async #runSwitches(): Promise<void> {
    for (;;) {
      const target = this.#target;
      const old = this.#gen;
      if (!target || !old || this.#closed || target.epoch === old.config.epoch) return;
      if (sameConnection(old.config, target)) {
        // Held back (or an epoch that did not move producers): the connected client serves it as it is. Routes are
        // looked up per send, so they take effect for the next one.
        this.#logger.info('producer stays on its cluster for the new epoch', {
          cluster: target.cluster,
          from: old.config.epoch,
          to: target.epoch,
        });
        old.config = target;
        continue;
      }
      const producer = this.#newProducer(target);
      const retired = new AbortController();
      const gen = this.#generation(
        target,
        producer,
        this.#connectUntilReady(producer, target, retired.signal),
        retired,
      );
      // From here new sends wait for the new cluster; sends in flight on the old one get drainTimeoutMs.
      this.#gen = gen;
      const switched = this.#switched;
      this.#switched = new AbortController();
      switched.abort();
      const abandoned = await this.#retire(old);
      if (sameCluster(old.config, target)) {
        // Only the credentials changed (rotated and republished at a new epoch): a reconnect, not a switch.
        this.#logger.info('producer reconnected with new credentials', {
          cluster: target.cluster,
          from: old.config.epoch,
          to: target.epoch,
          abandonedInFlight: abandoned,
        });
        continue;
      }
      this.#logger.info('producer switched', {
        from: { cluster: old.config.cluster, epoch: old.config.epoch },
        to: { cluster: target.cluster, epoch: target.epoch },
        abandonedInFlight: abandoned,
      });
      this.#options.onSwitch?.({
        from: { cluster: old.config.cluster, epoch: old.config.epoch },
        to: { cluster: target.cluster, epoch: target.epoch },
        abandonedInFlight: abandoned,
      });
    }
  }

  /** Keep trying to connect until it works or this generation is retired (a newer switch, or disconnect). */
  async #connectUntilReady(
    producer: ProducerLike,
    config: ActiveClientConfig,
    retired: AbortSignal,
  ): Promise<void> {
    let backoffMs = this.#retryBackoffMs;
    for (;;) {
      const connected = await race(producer.connect(), { clock: this.#clock, signal: retired });
      if (connected.kind === 'value') return;
      if (connected.kind === 'aborted') throw new Error('generation retired before it connected');
      this.#logger.warn('cannot connect the producer to the active cluster yet; retrying', {
        cluster: config.cluster,
        epoch: config.epoch,
        error: describeError(connected.kind === 'error' ? connected.error : 'timeout'),
      });
      await this.#clock.sleep(backoffMs, retired);
      backoffMs = Math.min(backoffMs * 2, 5_000);
    }
  }

  /**
   * Give in-flight sends `drainTimeoutMs`, abandon the rest to the next generation, disconnect. A cluster that has
   * acknowledged none of them for `drainTimeoutMs` already (a hung broker: TCP accepts, nothing answers) gets no
   * further wait: it would only lengthen the pause before the sends are retried on the new cluster.
   */
  async #retire(gen: Generation): Promise<number> {
    const stalled =
      gen.unansweredSince !== undefined && this.#clock.now() - gen.unansweredSince >= this.#drainTimeoutMs;
    if (gen.inFlight > 0 && !stalled) {
      const drained = new Promise<void>((resolve) => {
        gen.idle.add(resolve);
      });
      await race(drained, { clock: this.#clock, timeoutMs: this.#drainTimeoutMs });
    }
    const abandoned = gen.inFlight;
    gen.retired.abort();
    const disconnected = await race(gen.producer.disconnect(), {
      clock: this.#clock,
      timeoutMs: this.#disconnectTimeoutMs,
    });
    if (disconnected.kind !== 'value') {
      this.#logger.warn('old producer did not disconnect cleanly; left to be collected', {
        cluster: gen.config.cluster,
        epoch: gen.config.epoch,
        outcome: disconnected.kind === 'error' ? describeError(disconnected.error) : disconnected.kind,
      });
    }
    return abandoned;
  }

  #settled(gen: Generation): void {
    gen.inFlight -= 1;
    if (gen.inFlight === 0) {
      for (const resolve of gen.idle) resolve();
      gen.idle.clear();
    }
  }

  #generation(
    config: ActiveClientConfig,
    producer: ProducerLike,
    ready: Promise<void>,
    retired = new AbortController(),
  ): Generation {
    ready.catch(() => {}); // observed by sends through race(); an unobserved rejection must not crash the app
    return { config, producer, ready, retired, inFlight: 0, unansweredSince: undefined, idle: new Set() };
  }

  #newProducer(config: ActiveClientConfig): ProducerLike {
    return this.#factory(config.kafka.reveal()).producer({
      allowAutoTopicCreation: false,
      ...this.#options.producer,
    });
  }

  #timeout(record: FollowingProducerRecord, attempts: number, lastError: unknown): SendFailedError {
    return new SendFailedError(
      'timeout',
      `send to '${record.topic}' not acknowledged within ${this.#sendTimeoutMs} ms after ${attempts} attempt(s)` +
        `${lastError === undefined ? '' : ` (last error: ${describeError(lastError)})`}; it may still have been written`,
      { attempts, cause: lastError },
    );
  }
}

/** One `send` as the key order sees it: its keys, and the generation it is in flight on (if it is). */
interface OrderedSend {
  readonly keys: readonly string[];
  on: unknown;
  /** Resolved (and replaced) whenever `on` changes or the send settles. */
  moved: { promise: Promise<void>; resolve: () => void };
}

/**
 * Per-key order across switches. Sends of one key are not serialised while they run on one producer (kafkajs keeps
 * their order there, as it would without this class); a send waits only for earlier sends of its keys that are not
 * in flight on the producer it is about to use. Records without a key have no order to keep.
 */
class KeyOrder {
  /** Unsettled sends by topic and key, oldest first. */
  readonly #byKey = new Map<string, OrderedSend[]>();

  enter(record: FollowingProducerRecord): OrderedSend {
    const keys = [
      ...new Set(
        record.messages.flatMap((m) =>
          m.key === null || m.key === undefined
            ? []
            : [`${record.topic}\u0000${Buffer.from(m.key).toString('base64')}`],
        ),
      ),
    ];
    const send: OrderedSend = { keys, on: undefined, moved: signal() };
    for (const key of keys) this.#byKey.set(key, [...(this.#byKey.get(key) ?? []), send]);
    return send;
  }

  /** Resolves when one of the earlier sends this one must wait for moves; undefined when it may go now. */
  blocking(send: OrderedSend, on: unknown): Promise<void> | undefined {
    const waits: Promise<void>[] = [];
    for (const key of send.keys) {
      for (const earlier of this.#byKey.get(key) ?? []) {
        if (earlier === send) break;
        if (earlier.on !== on) waits.push(earlier.moved.promise);
      }
    }
    return waits.length === 0 ? undefined : Promise.race(waits);
  }

  dispatched(send: OrderedSend, on: unknown): void {
    send.on = on;
    this.#moved(send);
  }

  leave(send: OrderedSend): void {
    for (const key of send.keys) {
      const rest = (this.#byKey.get(key) ?? []).filter((s) => s !== send);
      if (rest.length === 0) this.#byKey.delete(key);
      else this.#byKey.set(key, rest);
    }
    this.#moved(send);
  }

  #moved(send: OrderedSend): void {
    const { resolve } = send.moved;
    send.moved = signal();
    resolve();
  }
}

function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/**
 * The broker rejected the batch as too large: what a planned switchover's fence on the primary answers every write
 * (topic `max.message.bytes=0`, see shared/planned/write-fence.ts). Held back like a retriable error, so the send
 * moves with the switch that follows, or goes through once the fence is lowered after a refusal; a record that is
 * really too large fails at `sendTimeoutMs` with this error as its last error.
 */
function isWriteFenced(e: unknown): boolean {
  let current: unknown = e;
  for (let depth = 0; depth < 8 && current instanceof Error; depth += 1) {
    if ((current as { type?: unknown }).type === 'MESSAGE_TOO_LARGE') return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * Whether retrying a failed send can help. kafkajs wraps the real cause in `KafkaJSNumberOfRetriesExceeded`
 * (and similar), so the innermost KafkaJS error decides; anything that is not a KafkaJS error (a bad message
 * value, a bug) is final.
 */
export function isRetriableSendError(e: unknown): boolean {
  let current: unknown = e;
  for (let depth = 0; depth < 8; depth += 1) {
    if (!(current instanceof Error)) return false;
    const cause = (current as { cause?: unknown }).cause;
    // kafkajs gives up on a connection error by wrapping it in KafkaJSNonRetriableError: that only says its own
    // retries are spent. The cause (connection refused, a timeout) decides whether trying again can help, and a
    // dead cluster is exactly when a switch is coming.
    if (
      (current.name === 'KafkaJSNumberOfRetriesExceeded' || current.name === 'KafkaJSNonRetriableError') &&
      cause instanceof Error
    ) {
      current = cause;
      continue;
    }
    if (!current.name.startsWith('KafkaJS')) return false;
    return (current as { retriable?: unknown }).retriable === true;
  }
  return false;
}
