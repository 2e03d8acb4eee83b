import { describeError } from '#shared/errors.ts';
import type { Check } from './checks.ts';
import type { Moment, Sample } from './report.ts';
import type { Stopwatch } from './stopwatch.ts';

const stamp = (t: number): string => `${t.toFixed(1).padStart(6)}s`;

/** One finding of a run: part of its verdict (`ok`). */
export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

/** A speed target: reported, not part of the verdict. */
export interface TargetResult {
  name: string;
  met: boolean;
  detail: string;
}

/**
 * What a drill tells as it goes and keeps for its report: the progress lines, the moments and health samples
 * of the timeline, the checks and the targets. Every line goes out when it happens, so a run that hangs still
 * shows how far it got.
 */
export class DrillRecorder {
  readonly moments: Moment[] = [];
  readonly samples: Sample[] = [];
  readonly checks: CheckResult[] = [];
  readonly targets: TargetResult[] = [];
  readonly stopwatch: Stopwatch;
  readonly say: (line: string) => void;
  /** The latest time a moment was told at: the console's clock, which only moves forwards. */
  #toldUpTo = 0;

  constructor(stopwatch: Stopwatch, say: (line: string) => void) {
    this.stopwatch = stopwatch;
    this.say = say;
  }

  /**
   * A moment of the timeline, at `atMs` (by default now): `[  12.3s] label`. A moment learnt after a later one
   * was told (the first record acknowledged by the secondary is found by looking back) is told now, with its own
   * time after the label, so that the console's times never run backwards; the timeline keeps it in its place.
   */
  mark(label: string, atMs = Date.now()): void {
    const t = this.stopwatch.seconds(atMs);
    const before = this.moments.findIndex((m) => m.t > t);
    if (before < 0) this.moments.push({ t, label });
    else this.moments.splice(before, 0, { t, label });
    if (t >= this.#toldUpTo) {
      this.#toldUpTo = t;
      this.say(`[${stamp(t)}] ${label}`);
    } else {
      this.#toldUpTo = Math.max(this.#toldUpTo, this.stopwatch.seconds());
      this.say(`[${stamp(this.#toldUpTo)}] ${label} (at ${t.toFixed(1)} s)`);
    }
  }

  /** Judge what was observed by one check, keep the verdict and say it. */
  judge<Observed>(check: Check<Observed>, observed: Observed): void {
    const { ok, detail } = check.judge(observed);
    this.checks.push({ name: check.name, ok, detail });
    this.say(`  ${ok ? 'ok  ' : 'FAIL'} ${check.name}: ${detail}`);
  }

  target(result: TargetResult): void {
    this.targets.push(result);
    this.say(`  ${result.met ? 'met ' : 'MISS'} ${result.name}: ${result.detail}`);
  }

  /** The run stopped on an error: a failed check of its own, so the verdict cannot be ok. */
  stoppedBy(error: unknown): void {
    this.checks.push({ name: 'drill ran to the end', ok: false, detail: describeError(error) });
    this.say(`  FAIL ${describeError(error)}`);
  }

  /** Whether every check so far passed. */
  get ok(): boolean {
    return this.checks.every((c) => c.ok);
  }
}
