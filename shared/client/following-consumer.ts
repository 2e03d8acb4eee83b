import type { ConsumerConfig, ConsumerRunConfig, EachBatchPayload, EachMessagePayload } from 'kafkajs';
import { type Clock, systemClock } from '../clock.ts';
import { drainGroupOf } from '../config/contract.ts';
import type { ClusterRole } from '../config/schema.ts';
import { describeError } from '../errors.ts';
import { type Offset, toOffset } from '../kafka/offset.ts';
import { tpKey } from '../kafka/topic-partition.ts';
import type { ActiveClientConfig } from './active-client-config.ts';
import type { ActiveConfigSource } from './active-config-watcher.ts';
import { type ClientLogger, defaultClientLogger } from './client-logger.ts';
import {
  type AdminLike,
  type ConsumerLike,
  type KafkaFactory,
  type KafkaLike,
  kafkajsFactory,
} from './kafka-clients.ts';
import { race } from './race.ts';
import { roleView, sameCluster, sameConnection } from './role-view.ts';
import {
  drainTopicsOf,
  listedTopics,
  logicalTopicOf,
  type SubscriptionMode,
  subscriptionOf,
} from './topic-routes.ts';

/** Where a record or a batch came from, as the application's handler receives it. */
export interface FollowingOrigin {
  /** The logical topic (`orders`) the record's topic (`orders`, `primary.orders`, `K1.orders`) maps to. */
  logicalTopic: string;
  /** The cluster the record was read from, and the epoch of the configuration that pointed there. */
  cluster: ClusterRole;
  epoch: number;
}

/** What `eachMessage` receives: kafkajs' payload plus where the record came from. */
export interface FollowingMessagePayload extends EachMessagePayload, FollowingOrigin {}

/**
 * What `eachBatch` receives: kafkajs' payload plus where the batch came from. `isRunning()` turns false and
 * `isStale()` true as soon as the client leaves the cluster the batch was read from (a switch, a stop): a handler
 * that checks them between records, as kafkajs recommends, stops there; records resolved after that are not
 * committed there.
 */
export interface FollowingBatchPayload extends EachBatchPayload, FollowingOrigin {}

export interface ConsumerDrainOptions {
  /**
   * How long after the switch every following producer, in every process, has moved off the old cluster: their
   * longest poll delay plus the time they give sends in flight there. The end offsets to drain to are taken
   * then. Records that arrive later are not waited for: with a mirror still writing into the old cluster's
   * topic (the forward mirror after a failback) they are copies of what the new cluster holds, and the topic
   * never goes quiet. Default: the source's longest poll delay + 4,000 ms (the producer's 3 s drain + 1 s).
   */
  settleMs?: number;
  /** Give up draining after this long in all (the group cannot keep up, or the cluster is slow). Default 30,000 ms. */
  timeoutMs?: number;
  /** How often the group's committed offsets are compared with the end offsets while draining. Default 250 ms. */
  checkIntervalMs?: number;
}

/** The handler: one record at a time (`eachMessage`) or a batch per partition (`eachBatch`), as in kafkajs. */
export type FollowingHandler =
  | {
      /** Called for every record, one at a time per partition. Throwing makes kafkajs deliver the record again. */
      eachMessage: (payload: FollowingMessagePayload) => Promise<void>;
      eachBatch?: undefined;
    }
  | {
      /**
       * Called with each batch a partition returns. With kafkajs' `eachBatchAutoResolve` (the default, `run`
       * option) the whole batch is marked processed when it returns; otherwise resolve offsets yourself. Throwing
       * makes kafkajs deliver the unresolved records again.
       */
      eachBatch: (payload: FollowingBatchPayload) => Promise<void>;
      eachMessage?: undefined;
    };

export type FollowingConsumerOptions = FollowingConsumerSettings & FollowingHandler;

export interface FollowingConsumerSettings {
  /** Usually an {@link ActiveConfigWatcher}, started. */
  source: ActiveConfigSource;
  /** The consumer group; the same id is used on every cluster (offsets live per cluster). */
  groupId: string;
  /** Logical topics (keys of the active configuration's `topics`). Each expands to what the mapping subscribes to. */
  topics: string[];
  /**
   * Active-active: `local` (default, the documented model) reads the topic produced on the consumer's cluster
   * only, so each record is processed once, by the consumers of the cluster it was produced on; after a failover
   * moved this consumer to the other cluster it first reads the copy mirrored from the cluster it left to its end
   * (drain-then-switch), then joins its group on the local topic there. `aggregate` also reads the copies mirrored
   * in from the other cluster, all the time: every record is processed on both sides.
   */
  subscription?: SubscriptionMode;
  /**
   * Where to start in a partition the group has no committed offset for on the cluster it joins. Default `true`:
   * after a switch with no translated offsets, reading the mirrored topic from its start duplicates records;
   * starting at its end could skip some that were never read.
   */
  fromBeginning?: boolean;
  /**
   * kafkajs consumer options. `allowAutoTopicCreation` defaults to `false`: a mapped topic must exist.
   * `retry.restartOnFailure` is yours for a crash kafkajs would restart from; a crash it would not restart from
   * (an error it does not retry, such as a `TypeError` thrown by the handler) is rebuilt by the library.
   */
  consumer?: Omit<ConsumerConfig, 'groupId'>;
  /** kafkajs `run` options other than the handler (autoCommit, partitionsConsumedConcurrently, ...). */
  run?: Omit<ConsumerRunConfig, 'eachMessage' | 'eachBatch'>;
  /**
   * Before leaving a cluster that still answers, keep consuming there until the group has read everything that
   * was written there up to `settleMs` after the switch, so records produced just before the switch are not
   * left behind. A cluster that does not answer is left at once. `false` leaves immediately. Default `{}` (on).
   * Progress is read from the group's committed offsets, so it needs kafkajs' `autoCommit` (the default) or
   * commits of your own.
   */
  drain?: ConsumerDrainOptions | false;
  /**
   * After a switch, each partition on the new cluster starts no later than the first record timestamped at or
   * after the switch's `switchedAt` minus this margin, even when the group already has a later committed offset
   * there. Offsets translated or synced by MirrorMaker 2 (`sync.group.offsets.enabled`) while following
   * producers were already writing into the mirrored topic can point past their records; this puts them back
   * in front. The margin absorbs clock skew between the failover and the producers and costs duplicates only.
   * It relies on record timestamps (kafkajs stamps the send time unless a message sets `timestamp`). `false`
   * trusts the committed offsets as they are. Default 10,000 ms (NTP keeps hosts far closer than that).
   */
  switchRewindMarginMs?: number | false;
  /** Bound on connecting + subscribing on a cluster, per attempt. Default 30,000 ms. */
  startTimeoutMs?: number;
  /** Bound on each admin call while draining, and on disconnecting. Default 5,000 ms. */
  callTimeoutMs?: number;
  retryBackoffMs?: number;
  /**
   * Told after each switch to another cluster (or another subscription). Not told about an epoch that keeps the
   * consumers where they are (held back during a staged failback switch): that one is adopted without rejoining.
   * Nor about an epoch that only rotated the cluster's credentials: the consumer leaves the group (committing what
   * was processed) and rejoins it there with the new credentials from the committed offsets (logged), no drain, no
   * rewind.
   */
  onSwitch?: (event: ConsumerSwitchEvent) => void;
  logger?: ClientLogger;
  clock?: Clock;
  kafkaFactory?: KafkaFactory;
}

export interface ConsumerSwitchEvent {
  from: { cluster: ClusterRole; epoch: number };
  to: { cluster: ClusterRole; epoch: number };
  /** The topics now subscribed to on the new cluster. */
  topics: string[];
  drain: DrainResult;
}

export type DrainResult =
  | { kind: 'drained' }
  | { kind: 'disabled' }
  /** Gave up at the deadline with this many records of the group still unread on the old cluster. */
  | { kind: 'timeout'; leftBehind: number }
  /** The old cluster did not answer (dead or hung): nothing could be read there. */
  | { kind: 'unreachable'; error: string }
  /** The consumer there had crashed for good (kafkajs does not restart it): nobody was left to read it. */
  | { kind: 'crashed'; error: string };

interface Generation {
  /** The consumers' view ({@link roleView}); replaced in place by a later epoch on the same connection. */
  config: ActiveClientConfig;
  readonly kafka: KafkaLike;
  readonly consumer: ConsumerLike;
  readonly topics: string[];
  /** For the rewind after a switch: created on the first group join, `topic:partition`s already handled. */
  rewindAdmin?: { admin: AdminLike; connected: Promise<void> };
  readonly rewound: Set<string>;
  /** The epoch this consumer joined its group at (`config.epoch` moves on while it is held back). */
  readonly joinedEpoch: number;
  stopped: boolean;
  /** A disconnect of this (stopped) generation is under way because kafkajs brought it back. */
  reaped?: boolean;
  /** The application's `restartOnFailure` said no: a crash after it is the application's decision. */
  restartDeclined?: boolean;
  /** Why kafkajs left this consumer dead (a crash it does not restart from): it is to be rebuilt. */
  crashed?: string;
}

/**
 * A consumer that follows the active configuration. On a switch it drains the old cluster if it still answers
 * (see {@link ConsumerDrainOptions}), disconnects there (committing what was processed), and joins the same
 * group on the new cluster, subscribed to the topics the new mapping names: the mirrored `primary.orders` after
 * a failover with the default policy. Where the mapping names topics to drain first (active-active, and
 * active-passive with `failoverTopics: 'local'`), it reads them to their end before it joins (see `subscription`).
 *
 * It follows the consumers' view of the configuration ({@link roleView}): during stage 1 of a staged failback
 * switch that holds consumers back, it stays in the group on the secondary (no drain, no rejoin; records report
 * the new epoch) and moves with the epoch that moves consumers.
 *
 * Delivery is at-least-once: offsets that were not translated to the new cluster mean re-reading mirrored
 * records, so handlers must tolerate duplicates.
 *
 * @example
 * ```ts
 * const consumer = new FollowingConsumer({
 *   source: watcher,
 *   groupId: 'billing',
 *   topics: ['orders'],
 *   eachMessage: async ({ logicalTopic, cluster, message }) => bill(JSON.parse(String(message.value))),
 * });
 * await consumer.start();
 * // ... on shutdown
 * await consumer.stop();
 * ```
 */
export class FollowingConsumer {
  readonly #options: FollowingConsumerOptions;
  readonly #clock: Clock;
  readonly #logger: ClientLogger;
  readonly #factory: KafkaFactory;
  readonly #fromBeginning: boolean;
  readonly #startTimeoutMs: number;
  readonly #callTimeoutMs: number;
  readonly #retryBackoffMs: number;
  readonly #mode: SubscriptionMode;
  #gen: Generation | undefined;
  #target: ActiveClientConfig | undefined;
  /** Where the producers' view points, and since which epoch (and its `switchedAt`): for the switch rewind. */
  #producers: { cluster: string; epoch: number; since: number } | undefined;
  #switching: Promise<void> | undefined;
  #unsubscribe: (() => void) | undefined;
  #closed = false;
  /** Crashes since the handler last finished a record or batch: each rebuild waits longer. */
  #crashStreak = 0;
  readonly #stopping = new AbortController();

  constructor(options: FollowingConsumerOptions) {
    if ((options.eachMessage === undefined) === (options.eachBatch === undefined)) {
      throw new TypeError(
        `FollowingConsumer: expected exactly one of eachMessage and eachBatch, got ${options.eachMessage ? 'both' : 'neither'}`,
      );
    }
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? defaultClientLogger;
    this.#factory = options.kafkaFactory ?? kafkajsFactory;
    this.#fromBeginning = options.fromBeginning ?? true;
    this.#startTimeoutMs = options.startTimeoutMs ?? 30_000;
    this.#callTimeoutMs = options.callTimeoutMs ?? 5_000;
    this.#retryBackoffMs = options.retryBackoffMs ?? 500;
    this.#mode = options.subscription ?? 'local';
  }

  /**
   * The configuration the running kafkajs consumer follows (the consumers' view, see {@link roleView}; undefined
   * while switching).
   */
  get active(): ActiveClientConfig | undefined {
    return this.#gen?.config;
  }

  /**
   * Join the group on the active cluster and start consuming; then follow switches.
   * @throws when a logical topic is not in the mapping, or the active cluster cannot be joined now.
   */
  async start(): Promise<void> {
    if (this.#closed) throw new Error('FollowingConsumer: start() after stop()');
    if (this.#gen) return;
    const current = this.#options.source.current();
    this.#noteProducers(current);
    const config = roleView(current, 'consumers');
    const { unmapped } = subscriptionOf(config, this.#options.topics, this.#mode);
    if (unmapped.length > 0) {
      throw new Error(
        `FollowingConsumer: expected mapped logical topics (${listedTopics(config)}), ` +
          `got unmapped ${unmapped.map((t) => `'${t}'`).join(', ')}`,
      );
    }
    await this.#drainFirst(config);
    this.#gen = await this.#startOn(config, undefined, config.epoch);
    this.#unsubscribe = this.#options.source.subscribe((next) => this.#follow(next));
    const latest = this.#options.source.current();
    if (latest.epoch !== config.epoch) this.#follow(latest);
    else if (this.#gen.crashed !== undefined) this.#rebuildSoon();
  }

  /** Resolves once no switch is in progress. */
  async settled(): Promise<void> {
    while (this.#switching) await this.#switching;
  }

  /** Stop following, leave the group (committing what was processed) and disconnect. No drain. */
  async stop(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe?.();
    this.#stopping.abort();
    await this.settled();
    const gen = this.#gen;
    this.#gen = undefined;
    if (gen) await this.#disconnect(gen);
  }

  #follow(next: ActiveClientConfig): void {
    if (this.#closed) return;
    this.#noteProducers(next);
    this.#target = roleView(next, 'consumers');
    this.#rebuildSoon();
  }

  /** Run the switch loop unless it runs: it moves to the target, and rebuilds a consumer that crashed for good. */
  #rebuildSoon(): void {
    if (this.#closed) return;
    this.#switching ??= this.#runSwitches().finally(() => {
      this.#switching = undefined;
    });
  }

  async #runSwitches(): Promise<void> {
    let from = this.#gen ? { cluster: this.#gen.config.cluster, epoch: this.#gen.config.epoch } : undefined;
    let joinedEpoch = this.#gen?.joinedEpoch;
    let drain: DrainResult = { kind: 'disabled' };
    let backoffMs = this.#retryBackoffMs;
    /**
     * The generation just left: when the target is in its place (same cluster and subscription), the consumer is
     * built again there from the group's committed offsets, with no drain, no rewind and no switch: after a crash
     * (a rebuild) or for an epoch that only rotated the credentials (a reconnect).
     */
    let left: { gen: Generation; crashed: boolean } | undefined;
    let crashWaitMs = 0;
    for (;;) {
      const old = this.#gen;
      const target = this.#target ?? old?.config;
      const crashed = old?.crashed !== undefined;
      if (!target || this.#closed || (old && !crashed && target.epoch === old.config.epoch)) return;
      if (old && crashed) {
        drain = { kind: 'crashed', error: old.crashed ?? '' };
        left = { gen: old, crashed: true };
        this.#target = target; // what to build once the crashed consumer is gone
        await this.#disconnect(old);
        this.#gen = undefined;
        from = { cluster: old.config.cluster, epoch: old.config.epoch };
        joinedEpoch = old.joinedEpoch;
        // A record that crashes the handler every time must not spin: each rebuild in a row waits twice as long.
        crashWaitMs = Math.min(this.#retryBackoffMs * 2 ** this.#crashStreak, 30_000);
        this.#crashStreak += 1;
        await this.#clock.sleep(crashWaitMs, this.#stopping.signal);
        continue;
      }
      if (old && this.#serves(old, target)) {
        // Held back (or an epoch that did not move consumers): the running consumer serves it as it is.
        this.#logger.info('consumer stays on its cluster for the new epoch', {
          cluster: target.cluster,
          from: old.config.epoch,
          to: target.epoch,
        });
        old.config = target;
        continue;
      }
      if (old) {
        // Rotated credentials on the same cluster: the new consumer reads on from what this one commits on leaving.
        const inPlace = this.#inPlace(old, target);
        drain = inPlace ? { kind: 'disabled' } : await this.#drain(old);
        left = { gen: old, crashed: false };
        if (drain.kind === 'timeout' || drain.kind === 'unreachable') {
          this.#logger.warn('left the old cluster without draining it', {
            cluster: old.config.cluster,
            drain,
          });
        }
        await this.#disconnect(old);
        this.#gen = undefined;
        from = { cluster: old.config.cluster, epoch: old.config.epoch };
        joinedEpoch = old.joinedEpoch;
        continue; // a newer configuration may have arrived while draining
      }
      // Decided against the target of now: a newer configuration may have arrived while leaving.
      const inPlace = left !== undefined && this.#inPlace(left.gen, target);
      try {
        // Decided again below against the target of now: a newer configuration may have arrived while draining.
        if (!inPlace && (await this.#drainFirst(target)) === 'superseded') continue;
        this.#gen = inPlace
          ? // The same cluster and group: the committed offsets are where it stopped; its joined epoch is kept.
            await this.#startOn(target, undefined, joinedEpoch ?? target.epoch)
          : await this.#startOn(target, this.#rewindFrom(target, joinedEpoch), target.epoch);
      } catch (e: unknown) {
        this.#logger.error('cannot join the group on the active cluster yet; retrying', {
          cluster: target.cluster,
          epoch: target.epoch,
          error: describeError(e),
        });
        await this.#clock.sleep(backoffMs, this.#stopping.signal);
        backoffMs = Math.min(backoffMs * 2, 5_000);
        continue;
      }
      backoffMs = this.#retryBackoffMs;
      const wasCrashed = left?.crashed === true;
      left = undefined;
      if (inPlace && wasCrashed) {
        this.#logger.info('consumer rebuilt after a crash', {
          cluster: target.cluster,
          epoch: target.epoch,
          crash: drain.kind === 'crashed' ? drain.error : undefined,
          waitedMs: crashWaitMs,
        });
        continue;
      }
      if (inPlace) {
        this.#logger.info('consumer reconnected with new credentials', {
          cluster: target.cluster,
          from: from?.epoch,
          to: target.epoch,
          topics: this.#gen.topics,
        });
        continue;
      }
      const to = { cluster: target.cluster, epoch: target.epoch };
      this.#logger.info('consumer switched', { from, to, topics: this.#gen.topics, drain });
      if (from) this.#options.onSwitch?.({ from, to, topics: this.#gen.topics, drain });
    }
  }

  /**
   * `rewindFrom`: after a switch, where each assigned partition must start at the latest (epoch ms). `joinedEpoch`:
   * the epoch the consumer joins its group on this cluster at (a rebuild keeps the crashed one's).
   */
  async #startOn(
    config: ActiveClientConfig,
    rewindFrom: number | undefined,
    joinedEpoch: number,
    drainPhase?: { topics: string[] },
  ): Promise<Generation> {
    const { topics, unmapped } = drainPhase
      ? { topics: drainPhase.topics, unmapped: [] }
      : subscriptionOf(config, this.#options.topics, this.#mode);
    if (unmapped.length > 0) {
      this.#logger.error('the active configuration does not map some logical topics; not consuming them', {
        epoch: config.epoch,
        unmapped,
      });
    }
    if (topics.length === 0) {
      throw new Error(
        `epoch ${config.epoch} maps none of the logical topics ${this.#options.topics.join(', ')}`,
      );
    }
    const kafka = this.#factory(config.kafka.reveal());
    const userRetry = this.#options.consumer?.retry;
    const consumer = kafka.consumer({
      allowAutoTopicCreation: false,
      ...this.#options.consumer,
      groupId: drainPhase ? drainGroupOf(this.#options.groupId) : this.#options.groupId,
      retry: {
        ...userRetry,
        // kafkajs restarts a crashed consumer on a timer, and a disconnect() that races the crash (the cluster we
        // are leaving died) does not cancel it: the old consumer would rejoin the group there when the cluster
        // returns and read it again. A stopped generation never restarts.
        restartOnFailure: async (e: Error) => {
          if (gen.stopped) return false;
          const restart = userRetry?.restartOnFailure ? await userRetry.restartOnFailure(e) : true;
          if (!restart) gen.restartDeclined = true;
          return restart;
        },
      },
    });
    const gen: Generation = {
      config,
      kafka,
      consumer,
      topics,
      rewound: new Set(),
      joinedEpoch,
      stopped: false,
    };
    consumer.on('consumer.group_join', (event) => {
      if (gen.stopped) {
        this.#reap(gen, 'rejoined its group');
        return;
      }
      if (rewindFrom !== undefined) void this.#rewind(gen, event.payload.memberAssignment, rewindFrom);
    });
    // kafkajs restarts a consumer only after an error it retries; after any other (a TypeError in the handler, a
    // coordinator error it gives up on) the consumer is disconnected and stays dead, and the application with it.
    consumer.on('consumer.crash', (event) => {
      const { error, restart } = event.payload;
      if (restart || gen.stopped || gen.crashed !== undefined) return;
      if (gen.restartDeclined) {
        this.#logger.warn('the consumer crashed and restartOnFailure declined a restart; it stays stopped', {
          cluster: gen.config.cluster,
          epoch: gen.config.epoch,
          error: describeError(error),
        });
        return;
      }
      gen.crashed = describeError(error);
      this.#logger.error('the consumer crashed on an error kafkajs does not restart from; rebuilding it', {
        cluster: gen.config.cluster,
        epoch: gen.config.epoch,
        error: gen.crashed,
      });
      if (this.#gen === gen) this.#rebuildSoon();
    });
    const { eachMessage, eachBatch } = this.#options;
    const refuse = (): never => {
      // A consumer we left that is still fetching: never hand its records to the application, and throw so that
      // kafkajs does not commit them as processed on the cluster we left.
      this.#reap(gen, 'was still fetching');
      throw new Error(`consumer on ${gen.config.cluster} (epoch ${gen.config.epoch}) was stopped`);
    };
    // gen.config, not config: a later epoch on the same connection replaces it in place.
    const origin = (topic: string): FollowingOrigin => ({
      logicalTopic: logicalTopicOf(gen.config, topic),
      cluster: gen.config.cluster,
      epoch: gen.config.epoch,
    });
    const handler: Pick<ConsumerRunConfig, 'eachMessage' | 'eachBatch'> = eachBatch
      ? {
          eachBatch: async (payload) => {
            if (gen.stopped) refuse();
            await eachBatch({
              ...payload,
              ...origin(payload.batch.topic),
              isRunning: () => !gen.stopped && payload.isRunning(),
              isStale: () => gen.stopped || payload.isStale(),
            });
            this.#crashStreak = 0;
          },
        }
      : {
          eachMessage: async (payload) => {
            if (gen.stopped) refuse();
            await eachMessage?.({ ...payload, ...origin(payload.topic) });
            this.#crashStreak = 0;
          },
        };
    const started = await race(
      (async () => {
        await consumer.connect();
        await consumer.subscribe({ topics, fromBeginning: this.#fromBeginning });
        await consumer.run({ ...this.#options.run, ...handler });
      })(),
      { clock: this.#clock, timeoutMs: this.#startTimeoutMs },
    );
    if (started.kind !== 'value') {
      await this.#disconnect(gen);
      if (started.kind === 'error') throw started.error;
      throw new Error(
        `joining group '${this.#options.groupId}' on ${config.cluster} took over ${this.#startTimeoutMs} ms`,
      );
    }
    return gen;
  }

  #noteProducers(next: ActiveClientConfig): void {
    const cluster = roleView(next, 'producers').cluster;
    if (this.#producers?.cluster === cluster) return;
    this.#producers = { cluster, epoch: next.epoch, since: Date.parse(next.switchedAt) };
  }

  /**
   * Where the partitions must start at the latest after moving to `target` (see `switchRewindMarginMs`), or
   * undefined for no rewind. The rewind protects records that producers wrote directly into the cluster while
   * MirrorMaker 2 may still have been copying older ones after them. If producers do not write to that cluster in
   * this epoch (a staged failback moving consumers first), there are none to protect: no rewind. If producers
   * arrived there after the consumer joined the cluster it leaves (producers first, the consumer held back), the
   * window starts when they arrived.
   */
  #rewindFrom(target: ActiveClientConfig, leftJoinedAt: number | undefined): number | undefined {
    const margin = this.#options.switchRewindMarginMs ?? 10_000;
    if (margin === false) return undefined;
    if (drainTopicsOf(target, this.#options.topics, this.#mode).length > 0) {
      // The mirrored copy was drained first; the subscription is a topic MM2 does not write into, whose committed
      // offsets are the group's own (in active-active the other cluster's consumers keep them): nothing to protect.
      return undefined;
    }
    const producers = this.#producers;
    if (producers !== undefined && producers.cluster !== target.cluster) {
      this.#logger.info('no rewind: producers do not write to this cluster in this epoch', {
        cluster: target.cluster,
        epoch: target.epoch,
        producersOn: producers.cluster,
      });
      return undefined;
    }
    const switchedAt = Date.parse(target.switchedAt);
    const arrived =
      producers !== undefined && leftJoinedAt !== undefined && producers.epoch > leftJoinedAt
        ? Math.min(producers.since, switchedAt)
        : switchedAt;
    return Number.isFinite(arrived) ? arrived - margin : undefined;
  }

  /** Disconnect a stopped generation's consumer that kafkajs brought back (in the background, logged). */
  #reap(gen: Generation, what: string): void {
    if (gen.reaped) return;
    gen.reaped = true;
    this.#logger.warn(`a consumer this client had left ${what}; disconnecting it`, {
      cluster: gen.config.cluster,
      epoch: gen.config.epoch,
    });
    void race(gen.consumer.disconnect(), { clock: this.#clock, timeoutMs: this.#callTimeoutMs }).then(() => {
      gen.reaped = false;
    });
  }

  /** Whether the running consumer can stay for `target`: same connection and the same subscription. */
  #serves(gen: Generation, target: ActiveClientConfig): boolean {
    return sameConnection(gen.config, target) && this.#inPlace(gen, target);
  }

  /** Whether a consumer for `target` reads where `gen` did: the same cluster and subscription, any credentials. */
  #inPlace(gen: Generation, target: ActiveClientConfig): boolean {
    if (!sameCluster(gen.config, target)) return false;
    const { topics, unmapped } = subscriptionOf(target, this.#options.topics, this.#mode);
    return unmapped.length === 0 && JSON.stringify(topics) === JSON.stringify(gen.topics);
  }

  /**
   * Seek every newly assigned partition whose starting point lies past the first record since `timestamp`
   * back to that record. Failing here is logged, not thrown: the consumer runs on from the committed offsets.
   */
  async #rewind(gen: Generation, assignment: Record<string, number[]>, timestamp: number): Promise<void> {
    const moved: string[] = [];
    try {
      gen.rewindAdmin ??= (() => {
        const admin = gen.kafka.admin();
        const connected = admin.connect();
        connected.catch(() => {});
        return { admin, connected };
      })();
      const { admin, connected } = gen.rewindAdmin;
      await this.#bounded(connected);
      for (const [topic, partitions] of Object.entries(assignment)) {
        const todo = partitions.filter((p) => !gen.rewound.has(tpKey(topic, p)));
        if (todo.length === 0) continue;
        const targets = await this.#bounded(admin.fetchTopicOffsetsByTimestamp(topic, timestamp));
        const [committed] = await this.#bounded(
          admin.fetchOffsets({ groupId: this.#options.groupId, topics: [topic] }),
        );
        for (const partition of todo) {
          gen.rewound.add(tpKey(topic, partition));
          const target = targets.find((t) => t.partition === partition)?.offset;
          const c = toOffset(
            committed?.partitions.find((p) => p.partition === partition)?.offset ?? '-1',
            `committed offset of ${tpKey(topic, partition)}`,
          );
          if (target === undefined || gen.stopped) continue;
          // No committed offset: from the beginning starts before the target anyway; from the end would skip.
          const startsPast =
            c < 0
              ? !this.#fromBeginning
              : c > toOffset(target, `offset at the switch in ${tpKey(topic, partition)}`);
          if (!startsPast) continue;
          gen.consumer.seek({ topic, partition, offset: target });
          moved.push(`${tpKey(topic, partition)}@${c}->${target}`);
        }
      }
      if (moved.length > 0) {
        this.#logger.info('started partitions at the switch instead of later committed offsets', {
          cluster: gen.config.cluster,
          epoch: gen.config.epoch,
          moved,
        });
      }
    } catch (e: unknown) {
      this.#logger.error(
        'could not check the starting offsets after the switch; consuming from the committed ones',
        {
          cluster: gen.config.cluster,
          epoch: gen.config.epoch,
          error: describeError(e),
        },
      );
    }
  }

  async #bounded<T>(p: Promise<T>): Promise<T> {
    const r = await race(p, {
      clock: this.#clock,
      timeoutMs: this.#callTimeoutMs,
      signal: this.#stopping.signal,
    });
    if (r.kind === 'value') return r.value;
    if (r.kind === 'error') throw r.error;
    throw new Error(r.kind === 'timeout' ? `no answer within ${this.#callTimeoutMs} ms` : 'stopped');
  }

  async #disconnect(gen: Generation): Promise<void> {
    gen.stopped = true;
    if (gen.rewindAdmin) {
      await race(gen.rewindAdmin.admin.disconnect(), { clock: this.#clock, timeoutMs: this.#callTimeoutMs });
    }
    const done = await race(gen.consumer.disconnect(), {
      clock: this.#clock,
      timeoutMs: this.#callTimeoutMs,
    });
    if (done.kind !== 'value') {
      this.#logger.warn('old consumer did not disconnect cleanly; left to be collected', {
        cluster: gen.config.cluster,
        outcome: done.kind === 'error' ? describeError(done.error) : done.kind,
      });
    }
  }

  /**
   * Drain-then-switch: read the mapping's `drain` topics on `config`'s cluster to their end in the drain group
   * ({@link drainGroupOf}, where the failover committed the offsets translated from the checkpoints), before the
   * consumer joins its group on the subscription. "Their end" is the end offsets read when the drain starts: the
   * drained topic is the mirrored copy of the cluster the clients left, and nothing more arrives from a cluster
   * that died. Every member of the group compares the drain group's committed offsets with those ends, so a
   * consumer that restarts after the drain finds nothing left and joins at once. `superseded`: a newer
   * configuration arrived (or the consumer stopped) before the end; the caller decides again.
   */
  async #drainFirst(config: ActiveClientConfig): Promise<'drained' | 'none' | 'superseded'> {
    const topics = drainTopicsOf(config, this.#options.topics, this.#mode);
    if (topics.length === 0) return 'none';
    const group = drainGroupOf(this.#options.groupId);
    const superseded = () =>
      this.#closed || (this.#target !== undefined && this.#target.epoch !== config.epoch);
    const admin = this.#factory(config.kafka.reveal()).admin();
    let gen: Generation | undefined;
    try {
      await this.#bounded(admin.connect());
      const ends = new Map<string, { high: Offset; low: Offset }>();
      for (const topic of topics) {
        for (const p of await this.#bounded(admin.fetchTopicOffsets(topic))) {
          const tp = tpKey(topic, p.partition);
          ends.set(tp, {
            high: toOffset(p.high, `log end of ${tp}`),
            low: toOffset(p.low, `log start of ${tp}`),
          });
        }
      }
      const behind = async (): Promise<number> => {
        const committed = new Map<string, Offset>();
        for (const t of await this.#bounded(admin.fetchOffsets({ groupId: group, topics }))) {
          for (const p of t.partitions) {
            const tp = tpKey(t.topic, p.partition);
            committed.set(tp, toOffset(p.offset, `committed offset of ${tp}`));
          }
        }
        let n = 0;
        for (const [tp, { high, low }] of ends) {
          const c = committed.get(tp) ?? -1;
          const position = c >= 0 ? c : this.#fromBeginning ? low : high;
          if (high > position) n += high - position;
        }
        return n;
      };
      const left = await behind();
      if (left === 0) return 'drained';
      this.#logger.info('reading the mirrored copy to its end before joining the group', {
        cluster: config.cluster,
        epoch: config.epoch,
        topics,
        group,
        records: left,
      });
      gen = await this.#startOn(config, undefined, config.epoch, { topics });
      for (;;) {
        if (superseded()) return 'superseded';
        if (gen.crashed !== undefined) throw new Error(`the drain consumer crashed: ${gen.crashed}`);
        if ((await behind()) === 0) break;
        await this.#clock.sleep(
          this.#options.drain ? (this.#options.drain.checkIntervalMs ?? 250) : 250,
          this.#stopping.signal,
        );
      }
      this.#logger.info('read the mirrored copy to its end; joining the group', {
        cluster: config.cluster,
        epoch: config.epoch,
        topics,
      });
      return 'drained';
    } finally {
      if (gen) await this.#disconnect(gen);
      await race(admin.disconnect(), { clock: this.#clock, timeoutMs: this.#callTimeoutMs });
    }
  }

  /**
   * Keep the old consumer running until the group's committed offsets reach the end offsets taken `settleMs`
   * after the switch — or until the deadline, or until the cluster stops answering.
   */
  async #drain(gen: Generation): Promise<DrainResult> {
    const options = this.#options.drain;
    if (options === false) return { kind: 'disabled' };
    const settleMs = options?.settleMs ?? this.#options.source.maxPollDelayMs + 4_000;
    const timeoutMs = options?.timeoutMs ?? 30_000;
    const checkIntervalMs = options?.checkIntervalMs ?? 250;
    const admin = gen.kafka.admin();
    const call = <T>(p: Promise<T>): Promise<T> => this.#bounded(p);
    const endOffsets = async () => {
      const ends = new Map<string, { high: Offset; low: Offset }>();
      for (const topic of gen.topics) {
        for (const p of await call(admin.fetchTopicOffsets(topic))) {
          const tp = tpKey(topic, p.partition);
          ends.set(tp, {
            high: toOffset(p.high, `log end of ${tp}`),
            low: toOffset(p.low, `log start of ${tp}`),
          });
        }
      }
      return ends;
    };
    const started = this.#clock.now();
    try {
      // Asking once at once tells a dead or hung cluster apart without waiting for the settle time.
      await call(admin.connect());
      const before = await endOffsets();
      await this.#clock.sleep(Math.max(0, settleMs - (this.#clock.now() - started)), this.#stopping.signal);
      const targets = await endOffsets();
      for (;;) {
        const committed = new Map<string, Offset>();
        for (const t of await call(
          admin.fetchOffsets({ groupId: this.#options.groupId, topics: gen.topics }),
        )) {
          for (const p of t.partitions) {
            const tp = tpKey(t.topic, p.partition);
            committed.set(tp, toOffset(p.offset, `committed offset of ${tp}`));
          }
        }
        if (gen.crashed !== undefined) return { kind: 'crashed', error: gen.crashed };
        let behind = 0;
        for (const [tp, { high, low }] of targets) {
          const c = committed.get(tp) ?? -1;
          // No committed offset yet: the group starts at the log start, or (latest) at the end seen first.
          const position = c >= 0 ? c : this.#fromBeginning ? low : (before.get(tp)?.high ?? high);
          if (high > position) behind += high - position;
        }
        if (behind === 0) return { kind: 'drained' };
        if (this.#clock.now() - started >= timeoutMs || this.#stopping.signal.aborted) {
          return { kind: 'timeout', leftBehind: behind };
        }
        await this.#clock.sleep(checkIntervalMs, this.#stopping.signal);
      }
    } catch (e: unknown) {
      return { kind: 'unreachable', error: describeError(e) };
    } finally {
      await race(admin.disconnect(), { clock: this.#clock, timeoutMs: this.#callTimeoutMs });
    }
  }
}
