import type { Clock } from '../clock.ts';
import type { ClusterCredentials } from '../config/contract.ts';
import { automationSchema } from '../config/contract.ts';
import type { DeploymentPaths } from '../config/paths.ts';
import type { DeploymentConfig } from '../config/schema.ts';
import { parseOrThrow } from '../config/validate.ts';
import { describeError, type RefusedAnswer } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Notifier, RegionOutcome } from '../notify/notification.ts';
import {
  type GroupOffsetOutcome,
  type GroupOffsetPlan,
  planGroupOffsets,
  type SecondaryGroupOffsets,
} from '../offsets/offset-translation.ts';
import { type ClusterDefinition, readClusterDefinition, type Stores } from '../store/active-config.ts';
import type { JournalEntry, RunJournal } from '../store/dynamo-journal.ts';
import type { DeploymentLock } from '../store/dynamo-lock.ts';
import type { Redacted } from '../store/redacted.ts';
import { extraRegions } from '../store/regional-stores.ts';
import type { SecretVersions } from '../store/stores.ts';
import { type Current, readCurrent } from '../switch/current.ts';
import type { CredentialSources, EpochAuthority } from '../switch/epoch-authority.ts';
import type { MappingMove } from '../switch/event-source-mappings.ts';
import { readCredentials } from '../switch/maintenance.ts';
import { type RepairResult, repairActive } from '../switch/repair.ts';
import { type ExecuteDeps, type ExecutionOutcome, executePlan } from './execute.ts';
import type { FailoverRequest } from './input.ts';
import { refusedNotification } from './notification.ts';
import { buildPlan, type FailoverPlan, failoverPlanSchema, type TopicRpo } from './plan.ts';
import {
  type Finding,
  type PreflightReport,
  preflight,
  type ReadReadiness,
  type ReadReplicationLag,
  type ReprobeCluster,
} from './preflight.ts';

/**
 * The failover: validate (done by the caller with `parseFailoverInput`), check the automation switch, take the
 * lock, decide (resume an interrupted run, nothing to do, refuse, or switch), act on the decision as journaled
 * steps, notify, release. Exactly one switch however many triggers arrive: the lock serialises them, the journal's
 * run id is the target epoch (a run starts once), and a trigger that finds the secondary active reports and stops.
 * A dry run takes no lock and reports the very decision a real run would act on.
 */

export interface FailoverDeps {
  config: DeploymentConfig;
  /** Where the deployment's parameters and secrets live, derived once by the wiring. */
  paths: DeploymentPaths;
  /** SSM and Secrets Manager of the function's own region. */
  stores: Stores;
  /** Stores in an extra region from `config.regions`. */
  regionStores(region: string): Stores;
  /** The function's own region: skipped if the config lists it among the extra regions. */
  homeRegion?: string;
  lock: DeploymentLock;
  journal: RunJournal;
  /** The one authority over the active configuration's epoch (same table as the lock and the journal). */
  authority: EpochAuthority;
  /** Secrets Manager's current version of a secret (recorded in each claim, to notice rotations). */
  versions: SecretVersions;
  reprobe: ReprobeCluster;
  readLag: ReadReplicationLag;
  /** The probe's last readiness audit of the secondary (its findings become warnings or refusals). */
  readReadiness?: ReadReadiness;
  secondaryGroups: SecondaryGroupOffsets;
  notifier: Notifier;
  clock: Pick<Clock, 'now' | 'sleep'>;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Moves the config's Lambda event source mappings as a step of the claimed switch. */
  moveMappings?: ExecuteDeps['moveMappings'];
}

export interface FailoverInvocation extends FailoverRequest {
  /** Lock holder id: the Lambda request id, which an async retry of the same event keeps. */
  invocationId: string;
}

interface SwitchedResult {
  status: 'switched';
  resumed: boolean;
  epoch: number;
  from: FailoverPlan['from'];
  to: { cluster: 'primary' | 'secondary'; alias: string; bootstrapServers: string[] };
  switchMs: number;
  durationMs: number;
  groups: GroupOffsetOutcome[];
  rpo: TopicRpo[];
  rpoTotal: FailoverPlan['rpoTotal'];
  regions: RegionOutcome[];
  /** Present when the config lists Lambda event source mappings: where each one was moved. */
  eventSourceMappings?: MappingMove[];
  notified: boolean;
  warnings: string[];
}

/** The one refusal shape ({@link RefusedAnswer}); failover's reasons are its preflight findings, with the report. */
interface FailoverRefused extends RefusedAnswer {
  reasons: Finding[];
  warnings: Finding[];
  preflight?: PreflightReport;
}

/** An interrupted run whose plan is history: a real run marks it abandoned before acting. */
interface StaleRun {
  runId: string;
  reason: string;
}

export type FailoverResult =
  | SwitchedResult
  | {
      status: 'already-active';
      epoch: number;
      cluster: 'secondary';
      switchedAt: string;
      /** The stores did not hold what the authority says (a switch left half-written): rolled forward first. */
      repaired?: Extract<RepairResult, { status: 'repaired' }>;
    }
  | FailoverRefused
  | {
      status: 'dry-run';
      /** What a real run would do now. */
      wouldDo:
        | 'switch'
        | 'refuse'
        | 'nothing: the secondary is already active'
        | 'repair: the secondary is active but the stores do not hold it consistently'
        | 'resume an interrupted switch';
      /** What is at rest that a real run would replace or repair. */
      replaces?: string;
      preflight?: PreflightReport;
      plan?: FailoverPlan;
      inProgress?: { runId: string; stepsDone: string[] };
      /** The interrupted run a real run would mark abandoned first. */
      abandons?: StaleRun;
    };

/** What the preflight decided from, and the plan's inputs, read while it probed. */
interface Preflighted {
  current: Current;
  /** The journal's newest run id, if any: a new run never reuses it. */
  latestRunId?: string;
  report: PreflightReport;
  inputs: Promise<PlanInputs>;
  abandon?: StaleRun;
}

/**
 * What an invocation does now, decided once by {@link decide} for the real run and the dry run alike. `refuse`
 * and `switch` carry the plan's inputs: a switch plans from them, a dry run shows the plan a forced run would
 * execute. `abandon` is an interrupted run the decision set aside.
 */
type FailoverDecision =
  | { kind: 'resume'; run: JournalEntry; plan: FailoverPlan; current: Current }
  | { kind: 'already-active'; current: Current; abandon?: StaleRun }
  | { kind: 'repair'; current: Current; abandon?: StaleRun }
  | ({ kind: 'refuse' } & Preflighted)
  | ({ kind: 'switch' } & Preflighted);

/**
 * The journal's run id of the switch to `epoch`: zero-padded so that the newest sorts last. A run of the same
 * epoch that was abandoned before it claimed the epoch keeps its id (the journal starts an id once), so the next
 * attempt at that epoch takes a numbered suffix, padded to sort after it.
 */
export function failoverRunId(epoch: number, latestRunId?: string): string {
  const base = String(epoch).padStart(10, '0');
  if (latestRunId === undefined || (latestRunId !== base && !latestRunId.startsWith(`${base}-`))) return base;
  const previous = Number(latestRunId.slice(base.length + 1));
  const attempt = (Number.isInteger(previous) && previous > 0 ? previous : 1) + 1;
  return `${base}-${String(attempt).padStart(4, '0')}`;
}

export async function runFailover(request: FailoverInvocation, deps: FailoverDeps): Promise<FailoverResult> {
  const startedAt = deps.clock.now();
  const { paths } = deps;

  if (request.trigger !== 'manual') {
    const refusal = await automationRefusal(deps.stores, paths);
    if (refusal) {
      deps.logger.warn('automatic failover refused', { code: refusal.code });
      await notifyRefusal(deps, request, [refusal], []);
      return { status: 'refused', reasons: [refusal], warnings: [] };
    }
  }
  if (request.dryRun) return dryRun(await decide(request, paths, deps), request, startedAt, paths, deps);

  const lease = await deps.lock.acquire(request.invocationId, 'failover');
  if (lease.tookOverFrom)
    deps.logger.warn('took the lock over from a holder whose lease ran out', { from: lease.tookOverFrom });
  try {
    return await act(await decide(request, paths, deps), request, startedAt, paths, deps);
  } finally {
    await deps.lock.release(request.invocationId).catch((e: unknown) => {
      // The lease runs out on its own; a failed release must not hide the run's own outcome or error.
      deps.logger.warn('could not release the failover lock', { error: describeError(e) });
    });
  }
}

/**
 * Decide what to do, reading only: an interrupted run is resumed or set aside ({@link interruptedRunVerdict});
 * with the secondary already active there is nothing to do (or only its stores to repair); otherwise the
 * preflight decides between refusing and switching, while the plan's inputs are read.
 */
async function decide(
  request: FailoverInvocation,
  paths: DeploymentPaths,
  deps: FailoverDeps,
): Promise<FailoverDecision> {
  const [latest, current] = await Promise.all([deps.journal.latest(), readCurrent(deps, paths)]);
  let abandon: StaleRun | undefined;
  if (latest?.status === 'in-progress') {
    const plan = storedPlan(latest);
    const maxAgeMs = deps.config.safety.resumeMaxAgeMinutes * 60_000;
    const verdict = interruptedRunVerdict(latest, plan, current, { now: deps.clock.now(), maxAgeMs });
    if (verdict.verdict === 'resume') return { kind: 'resume', run: latest, plan, current };
    abandon = { runId: latest.runId, reason: verdict.reason };
  }
  const aside = abandon ? { abandon } : {};
  if (current.cluster === 'secondary' && current.authority !== undefined) {
    return current.consistent
      ? { kind: 'already-active', current, ...aside }
      : { kind: 'repair', current, ...aside };
  }
  if (current.cluster === 'secondary' && current.consistent)
    return { kind: 'already-active', current, ...aside };

  const inputs = gatherPlanInputs(paths, deps);
  const report = await preflight(
    { request, config: deps.config, now: deps.clock.now(), ...lastSwitch(current) },
    {
      reprobe: deps.reprobe,
      readLag: deps.readLag,
      sleep: deps.clock.sleep,
      ...(deps.readReadiness ? { readReadiness: deps.readReadiness } : {}),
    },
  );
  const preflighted: Preflighted = {
    current,
    report,
    inputs,
    ...aside,
    ...(latest ? { latestRunId: latest.runId } : {}),
  };
  return report.ok ? { kind: 'switch', ...preflighted } : { kind: 'refuse', ...preflighted };
}

/**
 * The rule for an interrupted run (a journal entry still in progress). It is resumed, without a new preflight
 * (the decision to switch was taken and part of it may be written), only from its own plan's state and while it
 * is young:
 * - the authority names the run as the writer of its target epoch (its own partial write), or
 * - nothing was claimed since the run's starting point and the stores still hold exactly that starting point.
 * Anything else (another writer's epoch, a different state at rest, an old run) is abandoned and reported, and
 * the decision is made afresh.
 */
export function interruptedRunVerdict(
  run: Pick<JournalEntry, 'runId' | 'startedAt'>,
  plan: Pick<FailoverPlan, 'next' | 'from'>,
  current: Pick<Current, 'authority' | 'epoch' | 'cluster' | 'consistent' | 'assumed'>,
  limits: { now: number; maxAgeMs: number },
): { verdict: 'resume' } | { verdict: 'abandon'; reason: string } {
  const ageMs = limits.now - Date.parse(run.startedAt);
  if (ageMs > limits.maxAgeMs) {
    return {
      verdict: 'abandon',
      reason: `the run is ${Math.round(ageMs / 60_000)} min old, past the ${Math.round(limits.maxAgeMs / 60_000)} min resume limit: decided afresh with a new preflight`,
    };
  }
  const { authority } = current;
  if (authority?.epoch === plan.next.epoch && authority.writer.runId === run.runId)
    return { verdict: 'resume' };
  const atStart =
    (authority === undefined || authority.state === 'written') &&
    current.epoch === plan.from.epoch &&
    current.cluster === plan.from.cluster &&
    current.consistent;
  if (atStart) return { verdict: 'resume' };
  const found = authority
    ? `the authority holds epoch ${authority.epoch} (${authority.cluster}, ${authority.writer.kind} ${authority.writer.runId}, ${authority.state})`
    : `the stores hold epoch ${current.epoch} (${current.cluster}${current.consistent ? '' : ', not consistent'})`;
  return {
    verdict: 'abandon',
    reason: `${found}, not the run's starting point (epoch ${plan.from.epoch} on ${plan.from.cluster}) nor its own claim of epoch ${plan.next.epoch}`,
  };
}

/** The real run: act on the decision under the lock. */
async function act(
  decision: FailoverDecision,
  request: FailoverInvocation,
  startedAt: number,
  paths: DeploymentPaths,
  deps: FailoverDeps,
): Promise<FailoverResult> {
  const log = deps.logger;
  if (decision.kind !== 'resume' && decision.abandon) {
    // The active configuration moved past this run's epoch: its plan is history, not something to finish.
    const { runId, reason } = decision.abandon;
    log.warn('abandoning a stale failover run', { runId, activeEpoch: decision.current.epoch });
    await deps.journal.finish(runId, 'abandoned', { reason }, request.invocationId);
  }
  switch (decision.kind) {
    case 'resume': {
      const { run, plan, current } = decision;
      log.info('resuming an interrupted failover', { runId: run.runId, done: run.steps.map((s) => s.name) });
      const outcome = await execute(plan, run, request.invocationId, current, paths, deps);
      return switched(plan, outcome, startedAt);
    }
    case 'repair': {
      const { current } = decision;
      log.warn('the secondary is active but its stores are not consistent: repairing', {
        epoch: current.epoch,
        found: current.problem,
      });
      const repaired = await repairActive(
        { holder: request.invocationId, runId: `repair-${request.invocationId}` },
        repairDeps(paths, deps),
      );
      const epoch = repaired.status === 'nothing-claimed' ? current.epoch : repaired.epoch;
      return {
        status: 'already-active',
        epoch,
        cluster: 'secondary',
        switchedAt: current.switchedAt ?? '',
        ...(repaired.status === 'repaired' ? { repaired } : {}),
      };
    }
    case 'already-active': {
      const { current } = decision;
      log.info('the secondary is already active; nothing to do', { epoch: current.epoch });
      return {
        status: 'already-active',
        epoch: current.epoch,
        cluster: 'secondary',
        switchedAt: current.switchedAt ?? '',
      };
    }
    case 'refuse': {
      const { report } = decision;
      log.warn('failover refused by preflight', { codes: report.refusals.map((r) => r.code) });
      if (request.trigger !== 'manual') await notifyRefusal(deps, request, report.refusals, report.warnings);
      return { status: 'refused', reasons: report.refusals, warnings: report.warnings, preflight: report };
    }
    case 'switch':
      return switchNow(decision, request, startedAt, paths, deps);
  }
}

/** Plan, journal the run's start, and execute it. */
async function switchNow(
  decision: Preflighted,
  request: FailoverInvocation,
  startedAt: number,
  paths: DeploymentPaths,
  deps: FailoverDeps,
): Promise<SwitchedResult> {
  const plan = await makePlan(request, startedAt, decision, paths, deps);
  const runId = failoverRunId(plan.next.epoch, decision.latestRunId);
  await deps.journal.begin(runId, plan, request.invocationId);
  deps.logger.info('failover planned', {
    runId,
    from: plan.from.cluster,
    to: plan.to.cluster,
    epoch: plan.next.epoch,
  });
  const entry: JournalEntry = {
    kind: 'failover',
    runId,
    status: 'in-progress',
    plan,
    steps: [],
    startedAt: plan.startedAt,
    startedBy: request.invocationId,
    updatedAt: plan.startedAt,
  };
  const { credentials } = (await decision.inputs).target;
  const outcome = await execute(
    plan,
    entry,
    request.invocationId,
    decision.current,
    paths,
    deps,
    credentials,
  );
  return switched(plan, outcome, startedAt);
}

/** The dry run: report the decision, with the plan it would execute; write nothing. */
async function dryRun(
  decision: FailoverDecision,
  request: FailoverInvocation,
  startedAt: number,
  paths: DeploymentPaths,
  deps: FailoverDeps,
): Promise<FailoverResult> {
  const abandons = decision.kind !== 'resume' && decision.abandon ? { abandons: decision.abandon } : {};
  switch (decision.kind) {
    case 'resume':
      return {
        status: 'dry-run',
        wouldDo: 'resume an interrupted switch',
        plan: decision.plan,
        inProgress: { runId: decision.run.runId, stepsDone: decision.run.steps.map((s) => s.name) },
      };
    case 'already-active':
      return { status: 'dry-run', wouldDo: 'nothing: the secondary is already active', ...abandons };
    case 'repair':
      return {
        status: 'dry-run',
        wouldDo: 'repair: the secondary is active but the stores do not hold it consistently',
        ...(decision.current.problem ? { replaces: decision.current.problem } : {}),
        ...abandons,
      };
    case 'refuse':
    case 'switch': {
      // The plan is built even when preflight refuses: it shows what a forced run would change.
      const plan = await makePlan(request, startedAt, decision, paths, deps);
      const wouldDo = decision.kind === 'switch' ? 'switch' : 'refuse';
      const replaces = decision.current.problem ? { replaces: decision.current.problem } : {};
      return { status: 'dry-run', wouldDo, preflight: decision.report, plan, ...replaces, ...abandons };
    }
  }
}

interface PlanInputs {
  target: ClusterDefinition;
  credentialsSource: string;
  offsets: GroupOffsetPlan[];
}

/**
 * Everything the plan reads (the secondary's definition, the checkpoints and group offsets): started before the
 * preflight and read while the confirmation probes wait, so that a confirmed failover only has to write.
 * Reads only; when preflight refuses, the result is dropped.
 */
function gatherPlanInputs(paths: DeploymentPaths, deps: FailoverDeps): Promise<PlanInputs> {
  const config = deps.config;
  const credentialsSource = config.clusters.secondary.secretArn ?? paths.clusterSecret('secondary');
  const gathered = Promise.all([
    readClusterDefinition(deps.stores, paths, 'secondary', credentialsSource),
    planOffsetsSafely(config, deps.secondaryGroups),
  ]).then(([target, offsets]) => ({ target, credentialsSource, offsets }));
  // Awaited only when preflight passes; a failure then is reported there, never as an unhandled rejection.
  gathered.catch(() => {});
  return gathered;
}

async function makePlan(
  request: FailoverInvocation,
  startedAt: number,
  decision: Preflighted,
  paths: DeploymentPaths,
  deps: FailoverDeps,
): Promise<FailoverPlan> {
  const config = deps.config;
  const { current, report } = decision;
  const { target, credentialsSource, offsets } = await decision.inputs;
  return buildPlan({
    config,
    paths,
    request,
    startedAt,
    now: deps.clock.now(),
    current,
    target,
    credentialsSource,
    offsets,
    lag: report.lag,
    extraRegions: extraRegions(config.regions, deps.homeRegion),
    warnings: [
      ...report.warnings.map((w) => w.message),
      ...(current.problem === undefined
        ? []
        : [
            `the active configuration at rest was not consistent (${current.problem}); epoch ${current.nextEpoch} replaces it`,
          ]),
    ],
  });
}

/** Offsets must not stop a switch: a cluster-level failure marks every group as not translated. */
export async function planOffsetsSafely(
  config: DeploymentConfig,
  secondary: SecondaryGroupOffsets,
): Promise<GroupOffsetPlan[]> {
  try {
    return await planGroupOffsets(config, secondary);
  } catch (e: unknown) {
    const error = `could not read MM2 checkpoints on the secondary: ${describeError(e)}`;
    return config.consumerGroups.map((group) => ({
      group,
      state: 'unknown',
      members: 0,
      decision: 'error',
      partitions: [],
      error,
    }));
  }
}

async function execute(
  plan: FailoverPlan,
  entry: JournalEntry,
  holder: string,
  current: Current,
  paths: DeploymentPaths,
  deps: FailoverDeps,
  /** The target's credentials when this invocation just read them for the plan; a resumed run reads afresh. */
  credentials?: Redacted<ClusterCredentials>,
): Promise<ExecutionOutcome> {
  const outcome = await executePlan(
    { plan, runId: entry.runId, holder, done: entry.steps, expectedEpoch: current.authority?.epoch },
    {
      paths,
      stores: deps.stores,
      regionStores: deps.regionStores,
      secondaryGroups: deps.secondaryGroups,
      journal: deps.journal,
      authority: deps.authority,
      versions: deps.versions,
      notifier: deps.notifier,
      clock: deps.clock,
      logger: deps.logger,
      ...(deps.moveMappings ? { moveMappings: deps.moveMappings } : {}),
      readTargetCredentials: async () =>
        credentials ??
        (await readClusterDefinition(deps.stores, paths, plan.to.cluster, plan.credentialsSource))
          .credentials,
    },
  );
  await deps.journal.finish(
    entry.runId,
    'completed',
    {
      switchedAt: new Date(outcome.switchedAt).toISOString(),
      groups: outcome.groups.map((g) => ({ group: g.group, outcome: g.outcome })),
      regions: outcome.regions,
      notified: outcome.notified,
    },
    holder,
  );
  return outcome;
}

/** What a repair needs: the stores, the authority, and the credentials it names (the operator's cluster secrets). */
function repairDeps(paths: DeploymentPaths, deps: FailoverDeps) {
  return {
    authority: deps.authority,
    stores: deps.stores,
    paths,
    clock: deps.clock,
    readCredentials: (sources: CredentialSources) => readCredentials(deps.stores, sources),
  };
}

function switched(plan: FailoverPlan, outcome: ExecutionOutcome, invokedAt: number): SwitchedResult {
  const runStart = outcome.resumed ? Date.parse(plan.startedAt) : invokedAt;
  return {
    status: 'switched',
    resumed: outcome.resumed,
    epoch: plan.next.epoch,
    from: plan.from,
    to: plan.to,
    switchMs: outcome.switchedAt - runStart,
    durationMs: outcome.completedAt - runStart,
    groups: outcome.groups,
    rpo: plan.rpo,
    rpoTotal: plan.rpoTotal,
    regions: outcome.regions,
    ...(outcome.eventSourceMappings.length > 0 ? { eventSourceMappings: outcome.eventSourceMappings } : {}),
    notified: outcome.notified,
    warnings: plan.warnings,
  };
}

function storedPlan(entry: JournalEntry): FailoverPlan {
  return parseOrThrow(failoverPlanSchema, entry.plan, `plan of failover run ${entry.runId} in the journal`);
}

function lastSwitch(current: Current): { lastSwitchAt?: string } {
  // Epoch 0 is the initial activation, not a switch: it starts no cooldown.
  return current.epoch > 0 && current.switchedAt ? { lastSwitchAt: current.switchedAt } : {};
}

/**
 * The automation switch: alarm-triggered failovers run only when it says `enabled`. Absent means enabled (the
 * stack creates it so; deleting it must not silently disarm failover). Anything else is refused: a hand-edited
 * `Enabled` is not a decision to automate.
 */
async function automationRefusal(stores: Stores, paths: DeploymentPaths): Promise<Finding | undefined> {
  const param = await stores.parameters.get(paths.automationParameter);
  if (!param) return undefined;
  const state = automationSchema.safeParse(param.value.trim());
  if (state.success && state.data === 'enabled') return undefined;
  return {
    code: 'automation-disabled',
    message: state.success
      ? `automation is disabled (parameter ${paths.automationParameter}); manual failover still runs`
      : `parameter ${paths.automationParameter} holds neither 'enabled' nor 'disabled' (got ${JSON.stringify(param.value.slice(0, 20))}): automatic failover stays off`,
  };
}

async function notifyRefusal(
  deps: FailoverDeps,
  request: FailoverRequest,
  refusals: Finding[],
  warnings: Finding[],
): Promise<void> {
  try {
    await deps.notifier.publish(
      refusedNotification({
        deployment: deps.config.name,
        reason: request.reason,
        requestedBy: request.requestedBy,
        refusals,
        warnings,
      }),
    );
  } catch (e: unknown) {
    deps.logger.warn('could not publish the refusal notification', { error: describeError(e) });
  }
}
