import * as z from 'zod';
import { type Clock, systemClock } from '../clock.ts';
import { activeConfigSchema } from '../config/contract.ts';
import { deploymentPaths } from '../config/paths.ts';
import { parseJsonOrThrow } from '../config/validate.ts';
import {
  describeError,
  EpochRegressionError,
  MissingConfigurationError,
  Mm2FailoverError,
  TornReadError,
} from '../errors.ts';
import type { Stores } from '../store/active-config.ts';
import {
  type ActiveClientConfig,
  defaultTornReadDeadlineMs,
  type KafkaClientOptions,
  loadActiveConfig,
} from './active-client-config.ts';
import { type ClientLogger, defaultClientLogger } from './client-logger.ts';
import { race } from './race.ts';

/** Called with the new configuration after a switch (and the one it replaces). */
export type ActiveConfigListener = (
  next: ActiveClientConfig,
  previous: ActiveClientConfig,
) => void | Promise<void>;

/**
 * What the following producer and consumer need from a watcher: the current configuration and a way to hear
 * about switches. A test can pass its own.
 */
export interface ActiveConfigSource {
  /** The last good configuration. Throws before the first successful load. */
  current(): ActiveClientConfig;
  /** Returns a function that unsubscribes. */
  subscribe(listener: ActiveConfigListener): () => void;
  /** The longest a switch can go unnoticed (interval plus jitter), so followers can size their waits. */
  readonly maxPollDelayMs: number;
}

export interface WatchActiveConfigOptions {
  deployment: string;
  stores: Stores;
  kafka: KafkaClientOptions;
  /**
   * Mean time between polls. Each poll is one call (see `pollVia`); the rest of the configuration is read only
   * when the epoch changes. Default 5,000 ms: the Powertools Parameters default cache age, and one poll interval
   * is most of a producer's follow time.
   */
  intervalMs?: number;
  /**
   * What each poll reads to learn the epoch. `'parameter'` (default): one SSM `GetParameter`, free in SSM's
   * standard throughput, which is 40 TPS shared by the whole account and region (the failover functions
   * included): 200 processes at 5 s use all of it. `'secret'`: one Secrets Manager `GetSecretValue`, whose quota
   * is 10,000 TPS but which is charged per call; the parameter is then read only when the epoch changes. Use
   * `'secret'` for a fleet of more than about 100 processes (docs/client.md, "A large fleet").
   */
  pollVia?: PollVia;
  /** Each wait is `intervalMs` × (1 ± `jitter`), so a fleet started together does not poll in lockstep. Default 0.2. */
  jitter?: number;
  tornReadDeadlineMs?: number;
  /**
   * The deadline of one poll, and of the first read in `start()`: every SSM and Secrets Manager call it makes is
   * aborted then, and the poll fails (the last good configuration stays current; the next poll tries again). An
   * endpoint that accepts connections and never answers would otherwise hold the watcher on one poll for as long
   * as the SDK waits, which by default is for ever. Default 15,000 ms: above the torn-read deadline (10 s), so a
   * switch caught half-way is still waited for.
   */
  pollTimeoutMs?: number;
  /** Called with every failed poll (the last good configuration stays current). Default: logged as a warning. */
  onError?: (error: Error) => void;
  logger?: ClientLogger;
  clock?: Clock;
}

/** Which store a poll reads to learn the epoch: see {@link WatchActiveConfigOptions.pollVia}. */
export type PollVia = 'parameter' | 'secret';

export const defaultPollIntervalMs = 5_000;
export const defaultPollTimeoutMs = 15_000;
export const defaultJitter = 0.2;

/** What one poll did. */
export type PollOutcome =
  | { kind: 'unchanged'; epoch: number }
  | { kind: 'switched'; from: number; to: number }
  | { kind: 'failed'; error: Error };

/** Health of the watcher, for an application's own health check. */
export interface WatcherStatus {
  epoch: number | undefined;
  lastSuccessAt: number | undefined;
  consecutiveFailures: number;
  lastError: Error | undefined;
}

/**
 * Keeps the active configuration of a deployment current and tells subscribers when it switches.
 *
 * Each poll reads one thing to learn the epoch: the JSON parameter (one `GetParameter`, the default) or, with
 * `pollVia: 'secret'`, the secret (one `GetSecretValue`); when the epoch differs, the parameter and the secret
 * are read together with the torn-read check of {@link loadActiveConfig}. On any error — missing
 * parameter or secret, JSON edited by hand into something invalid, denied access, a lower epoch — the last
 * good configuration stays current, the error goes to `onError`, and the next poll tries again.
 *
 * @example
 * ```ts
 * const watcher = new ActiveConfigWatcher({
 *   deployment: 'orders-dr',
 *   stores: createAwsStores({ region: 'eu-west-1' }),
 *   kafka: { clientId: 'billing' },
 *   onError: (e) => logger.warn('active configuration not refreshed', { error: e.name }),
 * });
 * const first = await watcher.start(); // throws if the configuration cannot be read at all
 * watcher.subscribe((next, prev) => logger.info('switched', { from: prev.cluster, to: next.cluster }));
 * // ... on shutdown
 * await watcher.stop();
 * ```
 */
export class ActiveConfigWatcher implements ActiveConfigSource {
  readonly #options: WatchActiveConfigOptions;
  readonly #clock: Clock;
  readonly #logger: ClientLogger;
  readonly #intervalMs: number;
  readonly #pollTimeoutMs: number;
  readonly #jitter: number;
  readonly #parameterName: string;
  readonly #secretName: string;
  readonly #pollVia: PollVia;
  /** Secret-polling only: when the secret was first seen ahead of the parameter at its epoch (a switch in flight). */
  #tornSince: { secretEpoch: number; at: number } | undefined;
  readonly #listeners = new Set<ActiveConfigListener>();
  #current: ActiveClientConfig | undefined;
  #abort: AbortController | undefined;
  #loop: Promise<void> | undefined;
  #polling: Promise<PollOutcome> | undefined;
  #status: WatcherStatus = {
    epoch: undefined,
    lastSuccessAt: undefined,
    consecutiveFailures: 0,
    lastError: undefined,
  };

  constructor(options: WatchActiveConfigOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? defaultClientLogger;
    this.#intervalMs = options.intervalMs ?? defaultPollIntervalMs;
    this.#pollTimeoutMs = options.pollTimeoutMs ?? defaultPollTimeoutMs;
    this.#jitter = Math.min(Math.max(options.jitter ?? defaultJitter, 0), 1);
    if (!(this.#intervalMs > 0)) throw new RangeError(`intervalMs: expected > 0, got ${this.#intervalMs}`);
    if (!(this.#pollTimeoutMs > 0)) {
      throw new RangeError(`pollTimeoutMs: expected > 0, got ${this.#pollTimeoutMs}`);
    }
    this.#pollVia = options.pollVia ?? 'parameter';
    if (this.#pollVia !== 'parameter' && this.#pollVia !== 'secret') {
      throw new RangeError(`pollVia: expected 'parameter' or 'secret', got ${String(this.#pollVia)}`);
    }
    const paths = deploymentPaths(options.deployment);
    this.#parameterName = paths.activeParameter;
    this.#secretName = paths.activeCredentialsSecret;
  }

  get maxPollDelayMs(): number {
    return Math.ceil(this.#intervalMs * (1 + this.#jitter));
  }

  /**
   * Load the configuration (with the torn-read retry) and start polling in the background.
   * @throws the load's error (missing, invalid, denied, torn): an application should not start without it.
   */
  async start(): Promise<ActiveClientConfig> {
    if (this.#loop) return this.current();
    const first = await this.#withinDeadline((signal) => this.#load(signal));
    if (first.kind === 'failed') throw first.error;
    this.#current = first.value;
    this.#markSuccess(first.value.epoch);
    const abort = new AbortController();
    this.#abort = abort;
    this.#loop = this.#run(abort.signal);
    return first.value;
  }

  /** Stop polling; resolves once no poll is running. Subscribers are kept (a restart reuses them). */
  async stop(): Promise<void> {
    this.#abort?.abort();
    await this.#loop;
    this.#loop = undefined;
    this.#abort = undefined;
  }

  current(): ActiveClientConfig {
    if (!this.#current) throw new Error('ActiveConfigWatcher: call start() before current()');
    return this.#current;
  }

  subscribe(listener: ActiveConfigListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  status(): WatcherStatus {
    return { ...this.#status };
  }

  /** The delay before the next poll: the interval with ± jitter. */
  nextDelayMs(): number {
    const spread = this.#intervalMs * this.#jitter;
    return Math.round(this.#intervalMs - spread + 2 * spread * this.#clock.random());
  }

  /**
   * Poll now (the background loop calls this; tests and benchmarks may too). Concurrent calls share one poll.
   * Never throws: failures come back as `{ kind: 'failed' }` and go to `onError`.
   */
  poll(): Promise<PollOutcome> {
    this.#polling ??= this.#pollOnce().finally(() => {
      this.#polling = undefined;
    });
    return this.#polling;
  }

  async #run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.#clock.sleep(this.nextDelayMs(), signal);
      if (signal.aborted) return;
      await this.poll();
    }
  }

  async #pollOnce(): Promise<PollOutcome> {
    const previous = this.#current;
    if (!previous) {
      return this.#fail(new Error('ActiveConfigWatcher: poll() before a successful start()'));
    }
    const read = await this.#withinDeadline((signal) => this.#readNext(previous, signal));
    if (read.kind === 'failed') {
      return this.#abort?.signal.aborted ? { kind: 'failed', error: read.error } : this.#fail(read.error);
    }
    const next = read.value;
    if (next === undefined) {
      this.#markSuccess(previous.epoch);
      return { kind: 'unchanged', epoch: previous.epoch };
    }
    this.#current = next;
    this.#markSuccess(next.epoch);
    this.#logger.info('active configuration switched', {
      deployment: this.#options.deployment,
      from: { cluster: previous.cluster, epoch: previous.epoch },
      to: { cluster: next.cluster, epoch: next.epoch },
      ...(next.holdback ? { holdback: { role: next.holdback.role, cluster: next.holdback.cluster } } : {}),
      reason: next.reason,
    });
    for (const listener of [...this.#listeners]) {
      try {
        await listener(next, previous);
      } catch (e: unknown) {
        // A failing subscriber must not stop the others or the watcher; it is reported, not swallowed.
        this.#logger.error('a subscriber failed to handle the switch', { error: describeError(e) });
      }
    }
    return { kind: 'switched', from: previous.epoch, to: next.epoch };
  }

  /** The configuration after `previous`, or undefined when the epoch has not moved. */
  #readNext(previous: ActiveClientConfig, signal: AbortSignal): Promise<ActiveClientConfig | undefined> {
    return this.#pollVia === 'secret'
      ? this.#readNextViaSecret(previous, signal)
      : this.#readNextViaParameter(previous, signal);
  }

  /** Polls the parameter (one `GetParameter`); reads parameter and secret together only on a new epoch. */
  async #readNextViaParameter(
    previous: ActiveClientConfig,
    signal: AbortSignal,
  ): Promise<ActiveClientConfig | undefined> {
    const param = await this.#options.stores.parameters.get(this.#parameterName, { signal });
    if (!param) {
      throw new MissingConfigurationError(
        `parameter ${this.#parameterName} (the active configuration; it existed before, was it deleted?)`,
      );
    }
    const polled = parseJsonOrThrow(activeConfigSchema, param.value, `parameter ${this.#parameterName}`);
    if (polled.epoch < previous.epoch) {
      throw new EpochRegressionError(`parameter ${this.#parameterName}`, previous.epoch, polled.epoch);
    }
    if (polled.epoch === previous.epoch) return undefined;
    const next = await this.#load(signal);
    // The second read may race yet another write; it is consistent by construction, but must not go back.
    if (next.epoch < previous.epoch) {
      throw new EpochRegressionError(`parameter ${this.#parameterName}`, previous.epoch, next.epoch);
    }
    return next;
  }

  /**
   * Polls the secret (one `GetSecretValue`, no SSM call); on a new epoch reads parameter and secret together once.
   *
   * Writers put the secret first, so a poll can land between the two writes: then the parameter is still behind
   * and the poll reports no change rather than waiting as `start()` does. Waiting here would cost every watcher of
   * a fleet a dozen `GetParameter` calls per poll while a writer that stopped half-way stays stopped; instead the
   * next poll reads again, and the torn state is reported only once it has lasted `tornReadDeadlineMs`.
   */
  async #readNextViaSecret(
    previous: ActiveClientConfig,
    signal: AbortSignal,
  ): Promise<ActiveClientConfig | undefined> {
    const secret = await this.#options.stores.secrets.get(this.#secretName, { signal });
    if (!secret) {
      throw new MissingConfigurationError(
        `secret ${this.#secretName} (the active credentials; they existed before, were they deleted?)`,
      );
    }
    const polled = secretEpochSchema.safeParse(parseOrUndefined(secret.reveal()));
    if (!polled.success) {
      // Only the expected shape: the value holds credentials and never goes into a message.
      throw new MissingConfigurationError(
        `secret ${this.#secretName} in a usable form: expected JSON { epoch, cluster, ...credentials }`,
      );
    }
    const { epoch } = polled.data;
    if (epoch < previous.epoch) {
      throw new EpochRegressionError(`secret ${this.#secretName}`, previous.epoch, epoch);
    }
    if (epoch === previous.epoch) {
      this.#tornSince = undefined;
      return undefined;
    }
    try {
      const next = await this.#load(signal, 0);
      this.#tornSince = undefined;
      if (next.epoch < previous.epoch) {
        throw new EpochRegressionError(`parameter ${this.#parameterName}`, previous.epoch, next.epoch);
      }
      return next;
    } catch (e: unknown) {
      if (!(e instanceof TornReadError)) throw e;
      const now = this.#clock.now();
      if (this.#tornSince?.secretEpoch !== e.secretEpoch)
        this.#tornSince = { secretEpoch: e.secretEpoch, at: now };
      const waited = now - this.#tornSince.at;
      const deadlineMs = this.#options.tornReadDeadlineMs ?? defaultTornReadDeadlineMs;
      if (waited < deadlineMs) return undefined;
      throw new TornReadError(
        `active configuration of deployment '${this.#options.deployment}'`,
        e.parameterEpoch,
        e.secretEpoch,
        waited,
      );
    }
  }

  /**
   * Runs `read` with the poll's deadline and the watcher's stop as its abort signal, and stops waiting for it the
   * moment either fires (a store that ignored the signal is left behind; its late answer changes nothing).
   */
  async #withinDeadline<T>(
    read: (signal: AbortSignal) => Promise<T>,
  ): Promise<{ kind: 'read'; value: T } | { kind: 'failed'; error: Error }> {
    const deadline = AbortSignal.timeout(this.#pollTimeoutMs);
    const stop = this.#abort?.signal;
    const signal = stop ? AbortSignal.any([deadline, stop]) : deadline;
    const outcome = await race(read(signal), { clock: this.#clock, signal });
    if (outcome.kind === 'value') return { kind: 'read', value: outcome.value };
    const cause = outcome.kind === 'error' ? outcome.error : signal.reason;
    if (deadline.aborted) {
      const error = new Mm2FailoverError(
        `active configuration of deployment '${this.#options.deployment}': expected SSM and Secrets Manager ` +
          `to answer within ${this.#pollTimeoutMs} ms (pollTimeoutMs), got no answer in time`,
        { cause, retriable: true },
      );
      return { kind: 'failed', error };
    }
    if (stop?.aborted) return { kind: 'failed', error: new Error('ActiveConfigWatcher: stopped', { cause }) };
    return {
      kind: 'failed',
      error: cause instanceof Error ? cause : new Error(describeError(cause), { cause }),
    };
  }

  #load(
    signal: AbortSignal,
    tornReadDeadlineMs = this.#options.tornReadDeadlineMs ?? defaultTornReadDeadlineMs,
  ): Promise<ActiveClientConfig> {
    return loadActiveConfig({
      deployment: this.#options.deployment,
      stores: this.#options.stores,
      kafka: this.#options.kafka,
      tornReadDeadlineMs,
      signal,
      clock: this.#clock,
    });
  }

  #markSuccess(epoch: number): void {
    this.#status = {
      epoch,
      lastSuccessAt: this.#clock.now(),
      consecutiveFailures: 0,
      lastError: undefined,
    };
  }

  #fail(error: Error): PollOutcome {
    this.#status = {
      ...this.#status,
      consecutiveFailures: this.#status.consecutiveFailures + 1,
      lastError: error,
    };
    if (this.#options.onError) {
      try {
        this.#options.onError(error);
      } catch (e: unknown) {
        this.#logger.error('onError threw', { error: describeError(e) });
      }
    } else {
      this.#logger.warn('active configuration not refreshed; keeping the last good one', {
        deployment: this.#options.deployment,
        epoch: this.#current?.epoch,
        error: describeError(error),
      });
    }
    return { kind: 'failed', error };
  }
}

/** The one field a secret poll needs; the credentials beside it are left unparsed until the full read. */
const secretEpochSchema = z.looseObject({ epoch: z.int().min(0) });

function parseOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Create and start a watcher in one call. See {@link ActiveConfigWatcher}. */
export async function watchActiveConfig(options: WatchActiveConfigOptions): Promise<ActiveConfigWatcher> {
  const watcher = new ActiveConfigWatcher(options);
  await watcher.start();
  return watcher;
}
