import type { FakeClock } from '../../failover/fakes.ts';

/**
 * The model's scheduler: every store, authority, lock and journal call of every actor is an await point it
 * controls. A call parks at its gate; the scheduler lets all microtasks settle (every live actor is then parked or
 * finished), picks one parked call by the schedule and decides how it ends:
 * - `go`: the call runs against the fakes;
 * - `crash`: the actor never continues (a Lambda killed mid-call): none of its calls ever resolves again;
 * - `throttle`: the call fails at once without effect (ThrottlingException, a 5xx);
 * - `pause`: the actor freezes at the call (a Lambda sandbox frozen, a long GC) while its lease runs out; the
 *   others go on for `pick` steps or until nothing else can run, then the call goes ahead as if nothing happened;
 * - `hang`: no answer until the caller's deadline has passed on the fake clock, then an error; a write may still
 *   land later (it was on the wire), a transaction may have committed with its answer lost.
 * Between steps the clock moves by the schedule (a second, half a minute, past a lease), and a write left on the
 * wire lands when the schedule says: so a writer paused at a gate wakes after its lease expired.
 */

type Fault = 'go' | 'crash' | 'throttle' | 'hang' | 'pause';
export type CallKind = 'read' | 'write' | 'transaction' | 'timer';

/** One decision of a schedule; consumed one per step, the default (`go`, first parked call) once exhausted. */
export interface Choice {
  pick: number;
  fault: Fault;
  /** 0: no time passes; 1: a second; 2: half a minute; 3: past the lock's lease. */
  tick: 0 | 1 | 2 | 3;
  /** Land the oldest write left on the wire instead of running an actor. */
  land: boolean;
  /** A hung write lands later (true) or is lost; a hung transaction committed (true) or not. */
  hungLands: boolean;
}

/** What a store or DynamoDB call answers when throttled. */
export class ThrottledError extends Error {
  constructor(label: string) {
    super(`${label}: rate exceeded`);
    this.name = 'ThrottlingException';
  }
}

/** What a caller sees when a call hung past its deadline. */
export class HungCallError extends Error {
  constructor(label: string) {
    super(`${label}: no answer before the deadline`);
    this.name = 'TimeoutError';
  }
}

interface Parked {
  /** Not picked before this step (a paused actor). */
  wakeAt: number;
  /** Not picked before the clock reaches this (a timer). */
  notBefore: number;
  actor: string;
  label: string;
  kind: CallKind;
  fire(fault: Fault, hungLands: boolean): void;
}

/** How long a hung call keeps its caller waiting: the longest store call the fenced write allows, and a little. */
const HANG_MS = 10_001;
const TICKS = [0, 1_000, 30_000, 121_000] as const;

export class Scheduler {
  readonly trace: string[] = [];
  readonly crashed = new Set<string>();
  readonly #onCrash = new Map<string, () => void>();
  readonly #parked = new Map<number, Parked>();
  readonly #late: Array<{ label: string; apply: () => Promise<unknown> }> = [];
  #nextId = 0;
  #step = 0;
  gating = true;
  readonly #clock: FakeClock;
  readonly #choices: readonly Choice[];
  readonly #leaseMs: number;

  constructor(clock: FakeClock, choices: readonly Choice[], leaseMs: number) {
    this.#clock = clock;
    this.#choices = choices;
    this.#leaseMs = leaseMs;
  }

  /** Park `apply` (the real call on the fakes) until the scheduler picks it. */
  gate<T>(actor: string, label: string, kind: CallKind, apply: () => Promise<T>): Promise<T> {
    if (this.crashed.has(actor)) return new Promise<T>(() => {});
    if (!this.gating) return apply();
    return new Promise<T>((resolve, reject) => {
      const id = this.#nextId++;
      this.#parked.set(id, {
        wakeAt: 0,
        notBefore: 0,
        actor,
        label,
        kind,
        fire: (fault, hungLands) => {
          switch (fault) {
            case 'go':
              apply().then(resolve, reject);
              return;
            case 'crash':
            case 'pause':
              return;
            case 'throttle':
              reject(new ThrottledError(label));
              return;
            case 'hang':
              this.#clock.t += HANG_MS;
              if (kind === 'write' && hungLands) this.#late.push({ label, apply });
              if (kind === 'transaction' && hungLands) {
                // Committed, the answer lost: the effect is there, the caller sees a failure.
                apply().then(
                  () => reject(new HungCallError(label)),
                  () => reject(new HungCallError(label)),
                );
                return;
              }
              reject(new HungCallError(label));
              return;
          }
        },
      });
    });
  }

  /**
   * Wait until the clock reaches `at` (a retry's backoff, the next probe cycle): picked only once time has passed
   * there, or when nothing else can run (then the clock jumps to it).
   */
  wait(actor: string, at: number): Promise<void> {
    if (!this.gating) return Promise.resolve();
    if (this.crashed.has(actor)) return new Promise<void>(() => {});
    return new Promise<void>((resolve) => {
      this.#parked.set(this.#nextId++, {
        wakeAt: 0,
        notBefore: at,
        actor,
        label: 'wait',
        kind: 'timer',
        fire: () => resolve(),
      });
    });
  }

  /** Resolves when `actor` crashes (so whatever invokes it, as Lambda's retry, can carry on). */
  crash(actor: string): Promise<void> {
    return new Promise<void>((resolve) => this.#onCrash.set(actor, resolve));
  }

  /** Let every actor run until it parks at a gate or finishes (the fakes resolve in microtasks only). */
  async settle(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  get parkedCount(): number {
    return this.#parked.size;
  }

  /**
   * One step: advance the clock, then land a write from the wire or fire one parked call. False when nothing is
   * parked and nothing is on the wire.
   */
  step(noCrash: ReadonlySet<string>): boolean {
    const choice: Choice = this.#choices[this.#step] ?? {
      pick: 0,
      fault: 'go',
      tick: 0,
      land: false,
      hungLands: false,
    };
    this.#step++;
    const tick = choice.tick === 3 ? this.#leaseMs + 1_000 : TICKS[choice.tick];
    if (this.#parked.size === 0 && this.#late.length === 0) return false;
    this.#clock.t += tick;
    if ((choice.land || this.#parked.size === 0) && this.#late.length > 0) {
      const late = this.#late.shift() as { label: string; apply: () => Promise<unknown> };
      this.trace.push(`+${tick} land late ${late.label}`);
      late.apply().catch(() => {});
      return true;
    }
    if (this.#parked.size === 0) return false;
    const now = this.#clock.t;
    const awake = [...this.#parked.entries()].filter(([, p]) => p.wakeAt <= this.#step && p.notBefore <= now);
    const ids = (
      awake.length > 0
        ? awake
        : [...this.#parked.entries()]
            .sort(([, a], [, b]) => a.wakeAt - b.wakeAt || a.notBefore - b.notBefore)
            .slice(0, 1)
    ).map(([id]) => id);
    const id = ids[choice.pick % ids.length] as number;
    const parked = this.#parked.get(id) as Parked;
    let fault = choice.fault;
    if (parked.kind === 'timer') {
      this.#parked.delete(id);
      this.#clock.t = Math.max(this.#clock.t, parked.notBefore);
      this.trace.push(`+${tick} ${parked.actor} waited`);
      parked.fire('go', false);
      return true;
    }
    if (fault === 'pause' && parked.wakeAt > 0) fault = 'go'; // woken: it goes ahead
    if (fault === 'pause') {
      this.#clock.t += this.#leaseMs + 1_000;
      parked.wakeAt = this.#step + 2 + choice.pick * 4;
      this.trace.push(`+${tick} ${parked.actor} ${parked.label}: paused past its lease`);
      return true;
    }
    this.#parked.delete(id);
    if (noCrash.has(parked.actor) && (fault === 'crash' || fault === 'hang')) fault = 'throttle';
    this.trace.push(
      `+${tick} ${parked.actor} ${parked.label}: ${fault}${fault === 'hang' ? (choice.hungLands ? ' (lands)' : ' (lost)') : ''}`,
    );
    if (fault === 'crash') {
      this.crashed.add(parked.actor);
      this.#onCrash.get(parked.actor)?.();
      for (const [other, p] of this.#parked) if (p.actor === parked.actor) this.#parked.delete(other);
    }
    parked.fire(fault, choice.hungLands);
    return true;
  }

  /** The schedule is over: every write still on the wire lands, every parked call is abandoned. */
  async drain(): Promise<void> {
    for (const p of this.#parked.values()) this.crashed.add(p.actor);
    this.#parked.clear();
    this.gating = false;
    while (this.#late.length > 0) {
      const late = this.#late.shift() as { label: string; apply: () => Promise<unknown> };
      this.trace.push(`drain: land late ${late.label}`);
      await late.apply().catch(() => {});
    }
  }
}
