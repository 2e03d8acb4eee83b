import {
  type AlarmState,
  type Datapoint,
  datapointsFromEmf,
  evaluateAlarm,
  evaluateComposite,
} from '#shared/alarms/evaluate.ts';
import type { AlarmSpec } from '#shared/alarms/specs.ts';
import { describeError } from '#shared/errors.ts';
import type { DrillFunctions } from './functions.ts';
import type { DrillRecorder } from './recorder.ts';
import type { Sample } from './report.ts';
import { sleep } from './wait.ts';

type Recorder = Pick<DrillRecorder, 'mark' | 'say' | 'samples' | 'stopwatch'>;

/**
 * Lambda retries a failed asynchronous invocation twice, about one and two minutes later; the drill compresses
 * that as it compresses the probe's schedule.
 */
const LAMBDA_ASYNC_RETRY_DELAYS_MS: readonly number[] = [5_000, 10_000];

/**
 * Detection as the stack deploys it, run in-process: the probe on its schedule (compressed: each invocation
 * probes every 2 s for its 60 s, then the next starts), CloudWatch evaluating the deployed alarm rules every
 * second on the EMF lines the probe printed, and EventBridge invoking the failover function when the composite
 * goes to ALARM. It keeps what the run's figures and checks need: when detection and the switch happened,
 * which alarms fired, how often failover was invoked. A failover invocation that fails (throws) is retried as
 * Lambda retries the asynchronous invocation EventBridge made: twice, after a pause.
 */
export class Detection {
  readonly points: Datapoint[] = [];
  readonly fired = new Set<string>();
  readonly states: Partial<Record<AlarmSpec['id'], AlarmState>> = {};
  /** When failover was first invoked: by the probe's direct trigger or by the composite alarm. */
  detectedAtMs: number | undefined;
  /** When the composite alarm first went to ALARM. */
  alarmAtMs: number | undefined;
  /** When the probe's direct trigger first invoked failover. */
  probeTriggeredAtMs: number | undefined;
  /** Failover invocations that answered `switched`. */
  switches = 0;
  /** When a failover invocation first answered `switched`. */
  switchedAtMs: number | undefined;
  /** How often the composite alarm or the probe invoked failover (Lambda's retries of a failed one not counted). */
  failoverInvocations = 0;
  /** Lambda's retries of failover invocations that failed. */
  failoverRetries = 0;
  /** Every failover invocation so far, with its retries; the run awaits it before it reads the epoch. */
  failoverInFlight: Promise<void> | undefined;
  #composite: AlarmState = 'OK';
  #running = false;
  #stopped = false;
  #loops: Promise<void>[] = [];
  #failover: DrillFunctions['failover'] | undefined;
  readonly #specs: readonly AlarmSpec[];
  readonly #record: Recorder;
  readonly #retryDelaysMs: readonly number[];

  constructor(
    specs: readonly AlarmSpec[],
    record: Recorder,
    options: { retryDelaysMs?: readonly number[] } = {},
  ) {
    this.#specs = specs;
    this.#record = record;
    this.#retryDelaysMs = options.retryDelaysMs ?? LAMBDA_ASYNC_RETRY_DELAYS_MS;
  }

  /** A line the functions printed, as CloudWatch Logs ingests it: its EMF datapoints become metrics. */
  ingest(line: string): void {
    this.points.push(...datapointsFromEmf(line));
  }

  start(functions: Pick<DrillFunctions, 'probe' | 'failover'>): void {
    this.#running = true;
    this.#failover = functions.failover;
    this.#loops = [this.#probeSchedule(functions.probe), this.#alarmLoop(functions.failover)];
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#stopped = true;
    await Promise.allSettled(this.#loops);
  }

  /** Both clusters probed, the secondary up, replication lag measured, and every alarm OK. */
  get steady(): boolean {
    return (
      this.points.some((p) => p.metricName === 'ClusterUp' && p.cluster === 'secondary' && p.value === 1) &&
      this.points.some((p) => p.metricName === 'ReplicationLagSeconds') &&
      this.#specs.every((spec) => this.states[spec.id] === 'OK')
    );
  }

  /** One evaluation at `nowMs`: every alarm and the composite, whose change to ALARM invokes `failover`. */
  evaluate(nowMs: number, failover: DrillFunctions['failover']): void {
    for (const spec of this.#specs) {
      const state = evaluateAlarm(spec, this.points, nowMs);
      if (state === 'ALARM' && this.states[spec.id] !== 'ALARM') {
        this.fired.add(spec.id);
        this.#record.mark(`alarm ${spec.id} -> ALARM`);
      } else if (state !== 'ALARM' && this.states[spec.id] === 'ALARM') {
        this.#record.mark(`alarm ${spec.id} -> OK`);
      }
      this.states[spec.id] = state;
    }
    const next = evaluateComposite(this.states);
    if (next === 'ALARM' && this.#composite !== 'ALARM') {
      this.detectedAtMs ??= nowMs;
      this.alarmAtMs ??= nowMs;
      this.fired.add('FailoverComposite');
      this.#record.mark('composite alarm -> ALARM: EventBridge invokes the failover function');
      this.failoverInvocations++;
      this.#inFlight(this.#invokeFailover(failover));
    }
    this.#composite = next;
  }

  /**
   * An asynchronous invocation the probe made (drill/lambda-endpoint.ts): its direct failover trigger runs the
   * failover function as Lambda would; a maintenance ask (repair, refresh-credentials) is only noted, as before.
   */
  probeInvoked(payload: unknown): void {
    const request = (payload ?? {}) as { action?: unknown; trigger?: unknown };
    if (request.action !== 'failover' || request.trigger !== 'probe' || !this.#failover || this.#stopped) {
      this.#record.mark(`the probe asked for ${String(request.action)} (not run by the drill)`);
      return;
    }
    const nowMs = Date.now();
    this.detectedAtMs ??= nowMs;
    this.probeTriggeredAtMs ??= nowMs;
    this.#record.mark('the probe saw the primary down for the window: it invokes the failover function');
    this.failoverInvocations++;
    const failover = this.#failover;
    this.#inFlight(this.#invokeFailover(() => failover(payload)));
  }

  /** The alarm's and the probe's invocations may overlap: the run awaits all of them. */
  #inFlight(invocation: Promise<void>): void {
    const before = this.failoverInFlight;
    this.failoverInFlight = before ? Promise.all([before, invocation]).then(() => {}) : invocation;
  }

  /** The health the report draws at `nowMs`: a cluster counts as up or down only on a probe of the last 5 s. */
  sample(nowMs: number): Sample {
    const latest = (metric: string, cluster?: string) =>
      this.points.findLast(
        (p) => p.metricName === metric && (cluster === undefined || p.cluster === cluster),
      );
    const up = (cluster: string) => {
      const p = latest('ClusterUp', cluster);
      return p && nowMs - p.timestampMs < 5_000 ? p.value === 1 : undefined;
    };
    return {
      t: this.#record.stopwatch.seconds(nowMs),
      primaryUp: up('primary'),
      secondaryUp: up('secondary'),
      replicationLagSeconds: latest('ReplicationLagSeconds')?.value,
    };
  }

  async #invokeFailover(failover: DrillFunctions['failover']): Promise<void> {
    for (let retry = 0; ; retry++) {
      try {
        const result = await failover();
        if (result.status === 'switched') {
          this.switchedAtMs ??= Date.now();
          this.switches++;
          this.#record.mark(`failover switched clients to the secondary (epoch ${result.epoch})`);
        } else {
          const codes = (result.reasons ?? []).map((r) => r.code).join(', ');
          this.#record.mark(`failover answered ${result.status}${codes ? ` (${codes})` : ''}`);
        }
        return;
      } catch (e: unknown) {
        const delay = this.#retryDelaysMs[retry];
        if (delay === undefined || this.#stopped) {
          this.#record.mark(`failover failed: ${describeError(e)}`);
          return;
        }
        this.#record.mark(
          `failover failed: ${describeError(e)}; Lambda retries the asynchronous invocation in ${delay / 1000} s`,
        );
        this.failoverRetries++;
        await sleep(delay);
      }
    }
  }

  async #probeSchedule(probe: DrillFunctions['probe']): Promise<void> {
    while (this.#running) {
      try {
        await probe();
      } catch (e: unknown) {
        this.#record.say(`  probe invocation failed: ${describeError(e)}`);
        await sleep(1_000);
      }
    }
  }

  async #alarmLoop(failover: DrillFunctions['failover']): Promise<void> {
    while (this.#running) {
      const now = Date.now();
      this.evaluate(now, failover);
      this.#record.samples.push(this.sample(now));
      await sleep(1_000);
    }
  }
}
