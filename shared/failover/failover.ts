import type { Clock } from '../clock.ts';
import type { ClusterCredentials } from '../config/contract.ts';
import { activeConfigSchema, automationSchema } from '../config/contract.ts';
import type { DeploymentPaths } from '../config/paths.ts';
import type { DeploymentConfig } from '../config/schema.ts';
import { parseJsonOrThrow, parseOrThrow } from '../config/validate.ts';
import { describeError, Mm2FailoverError, type RefusedAnswer } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Notifier, RegionOutcome } from '../notify/notification.ts';
import {
  type GroupOffsetOutcome,
  type GroupOffsetPlan,
  planGroupOffsets,
  type SecondaryGroupOffsets,
} from '../offsets/offset-translation.ts';
import {
  type ClusterDefinition,
  readActiveOnce,
  readClusterDefinition,
  type Stores,
} from '../store/active-config.ts';
import type { JournalEntry, RunJournal } from '../store/dynamo-journal.ts';
import type { DeploymentLock } from '../store/dynamo-lock.ts';
import type { Redacted } from '../store/redacted.ts';
import { extraRegions } from '../store/regional-stores.ts';
import { type ExecutionOutcome, executePlan } from './execute.ts';
import type { FailoverRequest } from './input.ts';
import { refusedNotification } from './notification.ts';
import {
  buildPlan,
  type CurrentActive,
  type FailoverPlan,
  failoverPlanSchema,
  type TopicRpo,
} from './plan.ts';
import {
  type Finding,
  type PreflightReport,
  preflight,
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
  reprobe: ReprobeCluster;
  readLag: ReadReplicationLag;
  secondaryGroups: SecondaryGroupOffsets;
  notifier: Notifier;
  clock: Pick<Clock, 'now' | 'sleep'>;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
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
  | { status: 'already-active'; epoch: number; cluster: 'secondary'; switchedAt: string }
  | FailoverRefused
  | {
      status: 'dry-run';
      /** What a real run would do now. */
      wouldDo:
        | 'switch'
        | 'refuse'
        | 'nothing: the secondary is already active'
        | 'resume an interrupted switch';
      preflight?: PreflightReport;
      plan?: FailoverPlan;
      inProgress?: { runId: string; stepsDone: string[] };
      /** The interrupted run a real run would mark abandoned first. */
      abandons?: StaleRun;
    };

/** What the preflight decided from, and the plan's inputs, read while it probed. */
interface Preflighted {
  current: Current;
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
  | { kind: 'resume'; run: JournalEntry; plan: FailoverPlan }
  | { kind: 'already-active'; current: Current; abandon?: StaleRun }
  | ({ kind: 'refuse' } & Preflighted)
  | ({ kind: 'switch' } & Preflighted);

/** The journal's run id of the switch to `epoch`: zero-padded so that the newest sorts last. */
function failoverRunId(epoch: number): string {
  return String(epoch).padStart(10, '0');
}

export async function runFailover(request: FailoverInvocation, deps: FailoverDeps): Promise<FailoverResult> {
  const startedAt = deps.clock.now();
  const { paths } = deps;

  if (request.trigger === 'alarm') {
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
 * with the secondary already active there is nothing to do; otherwise the preflight decides between refusing and
 * switching, while the plan's inputs are read.
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
    if (interruptedRunVerdict(plan, current) === 'resume') return { kind: 'resume', run: latest, plan };
    abandon = {
      runId: latest.runId,
      reason: `active epoch ${current.epoch} is past the run's ${plan.next.epoch}`,
    };
  }
  const aside = abandon ? { abandon } : {};
  if (current.cluster === 'secondary' && !current.torn) return { kind: 'already-active', current, ...aside };

  const inputs = gatherPlanInputs(paths, deps);
  const report = await preflight(
    { request, config: deps.config, now: deps.clock.now(), ...lastSwitch(current) },
    { reprobe: deps.reprobe, readLag: deps.readLag, sleep: deps.clock.sleep },
  );
  const preflighted: Preflighted = { current, report, inputs, ...aside };
  return report.ok ? { kind: 'switch', ...preflighted } : { kind: 'refuse', ...preflighted };
}

/**
 * The rule for an interrupted run (a journal entry still in progress): it is resumed as long as the active
 * configuration has not moved past its target epoch, without a new preflight (the decision to switch was taken
 * and part of it may be written). Past it (written by hand or another tool), its plan is history: abandoned.
 */
export function interruptedRunVerdict(
  plan: Pick<FailoverPlan, 'next'>,
  current: Pick<Current, 'epoch'>,
): 'resume' | 'abandon' {
  return current.epoch <= plan.next.epoch ? 'resume' : 'abandon';
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
      const { run, plan } = decision;
      log.info('resuming an interrupted failover', { runId: run.runId, done: run.steps.map((s) => s.name) });
      return switched(plan, await execute(plan, run, request.invocationId, paths, deps), startedAt);
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
      if (request.trigger === 'alarm') await notifyRefusal(deps, request, report.refusals, report.warnings);
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
  const runId = failoverRunId(plan.next.epoch);
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
  const outcome = await execute(plan, entry, request.invocationId, paths, deps, credentials);
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
    case 'refuse':
    case 'switch': {
      // The plan is built even when preflight refuses: it shows what a forced run would change.
      const plan = await makePlan(request, startedAt, decision, paths, deps);
      const wouldDo = decision.kind === 'switch' ? 'switch' : 'refuse';
      return { status: 'dry-run', wouldDo, preflight: decision.report, plan, ...abandons };
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
      ...(current.torn
        ? [
            `the active configuration was torn (a switch left unfinished); epoch ${current.epoch + 1} supersedes it`,
          ]
        : []),
    ],
  });
}

/** Offsets must not stop a switch: a cluster-level failure marks every group as not translated. */
async function planOffsetsSafely(
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
  paths: DeploymentPaths,
  deps: FailoverDeps,
  /** The target's credentials when this invocation just read them for the plan; a resumed run reads afresh. */
  credentials?: Redacted<ClusterCredentials>,
): Promise<ExecutionOutcome> {
  return executePlan(
    { plan, runId: entry.runId, holder, done: entry.steps },
    {
      paths,
      stores: deps.stores,
      regionStores: deps.regionStores,
      secondaryGroups: deps.secondaryGroups,
      journal: deps.journal,
      notifier: deps.notifier,
      now: deps.clock.now,
      logger: deps.logger,
      readTargetCredentials: async () =>
        credentials ??
        (await readClusterDefinition(deps.stores, paths, plan.to.cluster, plan.credentialsSource))
          .credentials,
    },
  ).then(async (outcome) => {
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
  });
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
    notified: outcome.notified,
    warnings: plan.warnings,
  };
}

function storedPlan(entry: JournalEntry): FailoverPlan {
  return parseOrThrow(failoverPlanSchema, entry.plan, `plan of failover run ${entry.runId} in the journal`);
}

/** The active configuration before the switch; `torn` when the parameter and the secret disagree. */
export interface Current extends CurrentActive {
  torn: boolean;
}

/**
 * Read the active configuration. Absent: the primary is active by definition at epoch 0 (the very first
 * activation). Torn after a few reads: a switch was left unfinished by something that kept no journal; the
 * next epoch is past both halves, so this switch supersedes it.
 */
async function readCurrent(
  deps: Pick<FailoverDeps, 'stores' | 'clock' | 'config'>,
  paths: DeploymentPaths,
): Promise<Current> {
  const { stores, clock } = deps;
  for (let attempt = 0; ; attempt++) {
    const read = await readActiveOnce(stores, paths);
    if (read.kind === 'absent') {
      return {
        cluster: 'primary',
        alias: deps.config.clusters.primary.alias,
        epoch: 0,
        assumed: true,
        torn: false,
      };
    }
    if (read.kind === 'consistent') {
      const c = read.config;
      return {
        cluster: c.cluster,
        alias: c.alias,
        epoch: c.epoch,
        assumed: false,
        switchedAt: c.switchedAt,
        torn: false,
      };
    }
    if (attempt >= 2) {
      const param = await stores.parameters.get(paths.activeParameter);
      if (!param)
        throw new Mm2FailoverError(`parameter ${paths.activeParameter} vanished while being read`, {
          retriable: true,
        });
      const c = parseJsonOrThrow(activeConfigSchema, param.value, `parameter ${paths.activeParameter}`);
      return {
        cluster: c.cluster,
        alias: c.alias,
        epoch: Math.max(read.parameterEpoch, read.secretEpoch),
        assumed: false,
        switchedAt: c.switchedAt,
        torn: true,
      };
    }
    await clock.sleep(200);
  }
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
