import type { ClusterRole, DeploymentConfig } from '../config/schema.ts';
import { describeError } from '../errors.ts';
import { confirmedDown, isFitTarget, lagWithinBudget } from '../health/detection-policy.ts';
import type { TriggerEvidence } from '../health/trigger-request.ts';
import { findingSeverities } from '../readiness/finding-codes.ts';
import type { StoredReadiness } from '../readiness/stored-readiness.ts';
import type { FailoverRequest } from './input.ts';

/**
 * Preflight: what must hold before clients are moved. Every check runs and every failed one is listed, so an
 * operator sees all reasons at once. Nothing here writes.
 *
 * - the primary is re-probed `detection.confirmProbes` times, `confirmIntervalMs` apart, and every probe must say
 *   `down` (skipped when forced: the operator has decided). A probe's direct trigger whose evidence is fresh
 *   stands for the re-probes instead (see {@link confirmationFromEvidence});
 * - the secondary is probed and must not be `down` when `safety.requireHealthySecondary` (unless forced);
 * - the replication lag last measured must be within `safety.maxLagRecords` / `maxLagSeconds` (unless forced);
 * - an automatic trigger is refused within `safety.cooldownMinutes` of the last switch;
 * - the standby readiness audit the probe last stored (taken before the primary went down: the probe audits only
 *   while both clusters answer) is reported: its error findings as warnings, the kinds listed in
 *   `readiness.refuseFailoverOn` as refusals (unless forced).
 */

type Verdict = 'up' | 'degraded' | 'down';
export interface ProbeOutcome {
  verdict: Verdict;
  reasons: string[];
}
/** One fresh probe of one cluster with a hard deadline (the health module's per-cluster probe). */
export type ReprobeCluster = (role: ClusterRole) => Promise<ProbeOutcome>;

/** Replication lag as the prober last measured it, per topic and in total. */
export interface ReplicationLag {
  /** When it was measured (ISO 8601). */
  measuredAt: string;
  /** Records on the primary not yet on the secondary, all partitions; undefined when it could not be measured. */
  backlogRecords?: number;
  /** Age of the newest replicated data (seconds); undefined when unknown. */
  lagSeconds?: number;
  topics: Array<{ topic: string; backlogRecords?: number; lagSeconds?: number }>;
}
/** The last measured lag (the probe stores it in SSM), or undefined when none was ever stored. */
export type ReadReplicationLag = () => Promise<ReplicationLag | undefined>;
/** The last stored readiness audit (shared/readiness/stored-readiness.ts), or undefined when none was stored. */
export type ReadReadiness = () => Promise<StoredReadiness | undefined>;

type RefusalCode =
  | 'automation-disabled'
  | 'cooldown'
  | 'primary-not-down'
  | 'secondary-unhealthy'
  | 'lag-unknown'
  | 'lag-records'
  | 'lag-seconds'
  | 'standby-not-ready';

export interface Finding {
  code:
    | RefusalCode
    | 'secondary-degraded'
    | 'forced'
    | 'lag-read-failed'
    | 'readiness-unknown'
    | 'readiness-read-failed';
  message: string;
}

export interface PreflightReport {
  ok: boolean;
  refusals: Finding[];
  warnings: Finding[];
  /** The confirmation probes of the primary, in order (empty when forced). */
  primaryProbes: ProbeOutcome[];
  /** Whether the failover re-probed the primary or took the probe trigger's fresh cycles as the confirmation. */
  confirmedBy?: 'reprobe' | 'probe-evidence';
  secondary?: ProbeOutcome;
  lag?: ReplicationLag;
  /** The readiness audit the findings come from: when it ran, its verdict, a count per finding kind. */
  readiness?: Pick<StoredReadiness, 'auditedAt' | 'ready' | 'counts'>;
}

export interface PreflightInput {
  request: Pick<FailoverRequest, 'trigger' | 'force' | 'evidence'>;
  config: Pick<DeploymentConfig, 'detection' | 'safety'> & Partial<Pick<DeploymentConfig, 'readiness'>>;
  /** The last switch, when there was one (epoch > 0): the cooldown runs from it. */
  lastSwitchAt?: string;
  now: number;
}

export interface PreflightDeps {
  reprobe: ReprobeCluster;
  readLag: ReadReplicationLag;
  /** Absent: readiness is not judged (a wiring without the audit's parameter). */
  readReadiness?: ReadReadiness;
  sleep(ms: number): Promise<void>;
}

export async function preflight(input: PreflightInput, deps: PreflightDeps): Promise<PreflightReport> {
  const { request, config, now } = input;
  const forced = request.trigger === 'manual' && request.force;
  const refusals: Finding[] = [];
  const warnings: Finding[] = [];
  if (forced) {
    warnings.push({
      code: 'forced',
      message: 'forced by hand: primary confirmation, lag budget and healthy-secondary rule not enforced',
    });
  }

  if (request.trigger !== 'manual' && input.lastSwitchAt !== undefined) {
    const since = now - Date.parse(input.lastSwitchAt);
    const cooldownMs = config.safety.cooldownMinutes * 60_000;
    if (since < cooldownMs) {
      refusals.push({
        code: 'cooldown',
        message: `the last switch was ${Math.round(since / 1000)} s ago, within the ${config.safety.cooldownMinutes} min cooldown for automatic failover`,
      });
    }
  }

  // The secondary and the primary are probed at the same time: the confirmation takes seconds on its own.
  const readiness = config.readiness?.enabled !== false ? deps.readReadiness : undefined;
  const fromEvidence = forced ? undefined : confirmationFromEvidence(request.evidence, config.detection, now);
  const [primaryProbes, secondary, lag, stored] = await Promise.all([
    forced ? Promise.resolve([]) : (fromEvidence ?? confirmDown(config.detection, deps)),
    probeSafely(deps.reprobe, 'secondary'),
    readLagSafely(deps.readLag),
    readiness ? readReadinessSafely(readiness) : Promise.resolve(undefined),
  ]);

  if (!forced && !confirmedDown(primaryProbes, config.detection.confirmProbes)) {
    const notDown = primaryProbes.find((p) => p.verdict !== 'down');
    refusals.push({
      code: 'primary-not-down',
      message: notDown
        ? `the primary is not confirmed down: re-probe ${primaryProbes.length} of ${config.detection.confirmProbes} says '${notDown.verdict}'${notDown.reasons.length ? ` (${notDown.reasons.join('; ')})` : ''}`
        : `the primary is not confirmed down: ${primaryProbes.length} of ${config.detection.confirmProbes} re-probes ran`,
    });
  }

  if (!isFitTarget(secondary)) {
    const finding: Finding = {
      code: 'secondary-unhealthy',
      message: `the secondary is down${secondary.reasons.length ? ` (${secondary.reasons.join('; ')})` : ''}`,
    };
    if (config.safety.requireHealthySecondary && !forced) refusals.push(finding);
    else warnings.push(finding);
  } else if (secondary.verdict === 'degraded') {
    warnings.push({
      code: 'secondary-degraded',
      message: `the secondary is degraded${secondary.reasons.length ? ` (${secondary.reasons.join('; ')})` : ''}`,
    });
  }

  const lagFindings = judgeLag(lag.value, config.safety);
  if (lag.error) warnings.push({ code: 'lag-read-failed', message: lag.error });
  if (forced) warnings.push(...lagFindings);
  else refusals.push(...lagFindings);

  if (stored) {
    const judged = judgeReadiness(stored, config.readiness?.refuseFailoverOn ?? []);
    warnings.push(...judged.warnings);
    if (forced) warnings.push(...judged.refusals);
    else refusals.push(...judged.refusals);
  }

  const report: PreflightReport = { ok: refusals.length === 0, refusals, warnings, primaryProbes, secondary };
  if (!forced) report.confirmedBy = fromEvidence ? 'probe-evidence' : 'reprobe';
  if (lag.value) report.lag = lag.value;
  if (stored?.value) {
    const { auditedAt, ready, counts } = stored.value;
    report.readiness = { auditedAt, ready, counts };
  }
  return report;
}

/**
 * The confirmation re-probes exist because a trigger can be stale: a CloudWatch alarm fires a period or more after
 * the datapoints it judged, and an event can wait in a queue. The probe's direct trigger carries its own down
 * cycles with their times. When its last `confirmProbes` cycles are consecutive and the newest started within one
 * probe interval plus one cycle deadline of now (no later cycle can have finished and said otherwise), they are
 * what the re-probes would have been, and newer: the failover takes them instead of probing a hung cluster again
 * (each re-probe of a hung cluster costs a full cycle deadline). Anything less fresh or less complete is
 * re-probed as usual.
 */
function confirmationFromEvidence(
  evidence: TriggerEvidence | undefined,
  detection: Pick<
    DeploymentConfig['detection'],
    'confirmProbes' | 'probeIntervalSeconds' | 'cycleDeadlineMs'
  >,
  now: number,
): ProbeOutcome[] | undefined {
  if (!evidence) return undefined;
  const cycles = evidence.cycles.slice(-detection.confirmProbes);
  if (cycles.length < detection.confirmProbes || cycles.length === 0) return undefined;
  const consecutive = cycles.every((c, i) => i === 0 || c.cycle === (cycles[i - 1]?.cycle ?? -2) + 1);
  // A second of skew between the probe's clock and this one is tolerated; more means the times cannot be trusted.
  const newestStart = Date.parse(cycles.at(-1)?.startedAt ?? '');
  const ageMs = now - newestStart;
  const freshForMs = detection.probeIntervalSeconds * 1000 + detection.cycleDeadlineMs;
  if (!consecutive || !(ageMs >= -1_000 && ageMs <= freshForMs)) return undefined;
  return cycles.map((c) => ({
    verdict: 'down' as const,
    reasons: [`probe cycle ${c.cycle} at ${c.startedAt}`, ...c.reasons],
  }));
}

/** All confirmation probes must say down; the first that does not ends the confirmation. */
async function confirmDown(
  detection: Pick<DeploymentConfig['detection'], 'confirmProbes' | 'confirmIntervalMs'>,
  deps: PreflightDeps,
): Promise<ProbeOutcome[]> {
  const outcomes: ProbeOutcome[] = [];
  for (let i = 0; i < detection.confirmProbes; i++) {
    if (i > 0) await deps.sleep(detection.confirmIntervalMs);
    const outcome = await probeSafely(deps.reprobe, 'primary');
    outcomes.push(outcome);
    if (outcome.verdict !== 'down') break;
  }
  return outcomes;
}

/**
 * A probe that throws has a bug, not an answer. For the secondary that means "not known healthy"; for the
 * primary it must not count as "down", so it is reported as `degraded`, which refuses the confirmation.
 */
async function probeSafely(reprobe: ReprobeCluster, role: ClusterRole): Promise<ProbeOutcome> {
  try {
    return await reprobe(role);
  } catch (e: unknown) {
    return {
      verdict: role === 'secondary' ? 'down' : 'degraded',
      reasons: [`the probe itself failed: ${describeError(e)}`],
    };
  }
}

async function readLagSafely(
  readLag: ReadReplicationLag,
): Promise<{ value?: ReplicationLag | undefined; error?: string }> {
  try {
    return { value: await readLag() };
  } catch (e: unknown) {
    return { error: `could not read the last measured lag: ${describeError(e)}` };
  }
}

/**
 * The budget rule is the health module's (`lagWithinBudget`: both figures must be known and within budget);
 * each of its problems becomes a finding with a code an operator or a test can act on.
 */
function judgeLag(lag: ReplicationLag | undefined, safety: DeploymentConfig['safety']): Finding[] {
  if (!lag) {
    return [
      { code: 'lag-unknown', message: 'no replication lag has been measured: the data loss is unknown' },
    ];
  }
  const judged = lagWithinBudget(
    {
      ...(lag.lagSeconds === undefined ? {} : { lagSeconds: lag.lagSeconds }),
      ...(lag.backlogRecords === undefined ? {} : { backlogRecords: lag.backlogRecords }),
    },
    safety,
  );
  return judged.problems.map((problem): Finding => {
    const code = problem.includes('unknown')
      ? 'lag-unknown'
      : problem.includes('backlog')
        ? 'lag-records'
        : 'lag-seconds';
    return { code, message: `${problem} (measured at ${lag.measuredAt})` };
  });
}

async function readReadinessSafely(
  read: ReadReadiness,
): Promise<{ value?: StoredReadiness | undefined; error?: string }> {
  try {
    return { value: await read() };
  } catch (e: unknown) {
    return { error: `could not read the last readiness audit: ${describeError(e)}` };
  }
}

/**
 * One finding per readiness kind (an audit of 1,000 topics can hold hundreds of one kind), with a few examples:
 * a refusal for the kinds the config lists, a warning for every other kind that makes the standby not ready.
 */
function judgeReadiness(
  stored: { value?: StoredReadiness | undefined; error?: string },
  refuseOn: readonly string[],
): { refusals: Finding[]; warnings: Finding[] } {
  if (stored.error)
    return { refusals: [], warnings: [{ code: 'readiness-read-failed', message: stored.error }] };
  const r = stored.value;
  if (!r) {
    return {
      refusals: [],
      warnings: [{ code: 'readiness-unknown', message: 'no standby readiness audit has been stored' }],
    };
  }
  const refusals: Finding[] = [];
  const warnings: Finding[] = [];
  for (const [code, count] of Object.entries(r.counts) as Array<[keyof typeof findingSeverities, number]>) {
    const refuse = refuseOn.includes(code);
    if (!refuse && findingSeverities[code] !== 'error') continue;
    const examples = r.findings
      .filter((f) => f.code === code)
      .slice(0, 3)
      .map((f) => `${f.topic ? `${f.topic}: ` : ''}expected ${f.expected}, found ${f.found}`);
    const finding: Finding = {
      code: 'standby-not-ready',
      message: `readiness audit of ${r.auditedAt}: ${count} ${code} finding${count === 1 ? '' : 's'}${examples.length ? ` (${examples.join('; ')})` : ''}`,
    };
    (refuse ? refusals : warnings).push(finding);
  }
  return { refusals, warnings };
}
