import { type Clock, systemClock } from '../clock.ts';
import { KafkaOperationError } from '../errors.ts';

/**
 * A point in time every step of a probe cycle must finish by. kafkajs' own timeouts bound each request, but
 * connect + auth + retries can add up, and a hung broker must be judged in seconds: every step goes through
 * {@link Deadline.run}, which stops waiting at the deadline (or the step's own budget) whatever kafkajs does.
 * The abandoned work keeps running in the background until kafkajs' request timeout ends it; the caller
 * forgets that client so nothing reuses its half-dead connection.
 */
export class Deadline {
  readonly at: number;
  readonly #clock: Pick<Clock, 'now'>;

  constructor(at: number, clock: Pick<Clock, 'now'> = systemClock) {
    this.at = at;
    this.#clock = clock;
  }

  static in(ms: number, clock: Pick<Clock, 'now'> = systemClock): Deadline {
    return new Deadline(clock.now() + ms, clock);
  }

  remainingMs(): number {
    return Math.max(0, this.at - this.#clock.now());
  }

  expired(): boolean {
    return this.remainingMs() <= 0;
  }

  /** A deadline no later than this one and at most `ms` away. */
  within(ms: number): Deadline {
    return new Deadline(Math.min(this.at, this.#clock.now() + ms), this.#clock);
  }

  /**
   * Run `work`, rejecting with `KafkaOperationError('timeout')` naming `step` if it has not settled within
   * `min(budgetMs, remaining)`. Never starts work once the deadline has passed.
   */
  run<T>(step: string, work: () => Promise<T>, budgetMs?: number): Promise<T> {
    const ms = Math.min(this.remainingMs(), budgetMs ?? Number.POSITIVE_INFINITY);
    if (ms <= 0) {
      return Promise.reject(new KafkaOperationError('timeout', `${step}: no time left in the cycle`));
    }
    return withTimeout(work(), ms, step);
  }
}

/** Settle with `promise`, or reject with a timeout after `ms`; the timer never outlives the race. */
export function withTimeout<T>(promise: Promise<T>, ms: number, step: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new KafkaOperationError('timeout', `${step} did not answer within ${Math.round(ms)} ms`));
    }, ms);
  });
  // The loser of the race must not become an unhandled rejection.
  promise.catch(() => {});
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
