import { type Clock, systemClock } from '../clock.ts';
import type { DeploymentPaths } from '../config/paths.ts';
import type { DeploymentConfig } from '../config/schema.ts';
import { describeError } from '../errors.ts';
import { withTimeout } from '../health/deadline.ts';
import type { AfterCycleCheck } from '../health/probe-loop.ts';
import { type MetricsSink, readinessMetrics } from '../health/probe-metrics.ts';
import type { Verdict } from '../health/probe-result.ts';
import type { Logger } from '../logger.ts';
import type { ParameterStore } from '../store/stores.ts';
import type { ReadinessReport } from './audit.ts';
import { toStoredReadiness } from './stored-readiness.ts';

export interface ProbeReadinessDeps {
  /** One audit of the deployment (auditReadiness with the container's clients). */
  audit(): Promise<ReadinessReport>;
  parameters: Pick<ParameterStore, 'put'>;
  paths: Pick<DeploymentPaths, 'readinessParameter'>;
  metrics: MetricsSink;
  logger: Pick<Logger, 'info' | 'warn'>;
  clock?: Pick<Clock, 'now'>;
}

/**
 * The readiness audit inside the probe, at its own cadence (`readiness.intervalSeconds`, measured per
 * container: a new container audits on its first cycle). An audit starts only when both clusters answered the
 * cycle: while one is down the audit could only say "unreachable", and the stored result must stay the last one
 * taken before the disaster, which is what the failover preflight wants to read. Only a complete audit is
 * stored and emitted (`StandbyReady`), so an unreachable side mid-audit does not overwrite it either.
 */
export class ProbeReadiness implements AfterCycleCheck {
  readonly #config: DeploymentConfig;
  readonly #deps: ProbeReadinessDeps;
  readonly #clock: Pick<Clock, 'now'>;
  #lastStarted: number | undefined;
  #running: Promise<void> | undefined;

  constructor(config: DeploymentConfig, deps: ProbeReadinessDeps) {
    this.#config = config;
    this.#deps = deps;
    this.#clock = deps.clock ?? systemClock;
  }

  afterCycle(
    result: { clusters: Record<'primary' | 'secondary', { verdict: Verdict }> },
    remainingMs: number,
  ): Promise<void> | undefined {
    const r = this.#config.readiness;
    const now = this.#clock.now();
    if (!r.enabled || this.#running !== undefined) return undefined;
    if (this.#lastStarted !== undefined && now - this.#lastStarted < r.intervalSeconds * 1000)
      return undefined;
    if (result.clusters.primary.verdict === 'down' || result.clusters.secondary.verdict === 'down')
      return undefined;
    if (remainingMs < r.timeoutMs) return undefined;
    this.#lastStarted = now;
    const running = this.#run().finally(() => {
      this.#running = undefined;
    });
    this.#running = running;
    return running;
  }

  async #run(): Promise<void> {
    const deps = this.#deps;
    const r = this.#config.readiness;
    const started = this.#clock.now();
    let report: ReadinessReport;
    try {
      report = await withTimeout(deps.audit(), r.timeoutMs, 'readiness audit');
    } catch (e: unknown) {
      deps.logger.warn('readiness audit failed; the last stored result stands', { error: describeError(e) });
      return;
    }
    if (!report.complete) {
      deps.logger.warn('readiness audit incomplete; the last stored result stands', {
        findings: report.findings.filter((f) => f.code === 'cluster-unreachable'),
      });
      return;
    }
    for (const batch of readinessMetrics(this.#config.name, report.ready)) {
      try {
        deps.metrics.emit(batch);
      } catch (e: unknown) {
        deps.logger.warn('could not emit the readiness metric', { error: describeError(e) });
      }
    }
    deps.logger.info('readiness audit', {
      ready: report.ready,
      durationMs: report.durationMs,
      findings: report.findings.map((f) => ({ code: f.code, topic: f.topic, found: f.found })),
    });
    const name = deps.paths.readinessParameter;
    try {
      const budget = Math.max(1_000, started + r.timeoutMs - this.#clock.now());
      await withTimeout(
        deps.parameters.put(name, toStoredReadiness(report), {
          description: 'mm2-failover: latest standby readiness audit',
        }),
        budget,
        `storing ${name}`,
      );
    } catch (e: unknown) {
      deps.logger.warn('could not store the readiness audit', { parameter: name, error: describeError(e) });
    }
  }
}
