import { parseOrThrow } from '../config/validate.ts';
import { describeError, type Reason, type RefusedAnswer } from '../errors.ts';
import { executePlan } from '../failover/execute.ts';
import {
  type FailoverDeps,
  type FailoverInvocation,
  failoverRunId,
  interruptedRunVerdict,
  planOffsetsSafely,
} from '../failover/failover.ts';
import { buildPlan, type FailoverPlan } from '../failover/plan.ts';
import type { ReplicationLag } from '../failover/preflight.ts';
import { replicationPolicy } from '../kafka/replication-policy.ts';
import type { RegionOutcome } from '../notify/notification.ts';
import type { GroupOffsetOutcome } from '../offsets/offset-translation.ts';
import { readClusterDefinition } from '../store/active-config.ts';
import type { JournalEntry, RunJournal } from '../store/dynamo-journal.ts';
import { extraRegions } from '../store/regional-stores.ts';
import { type Current, readCurrent } from '../switch/current.ts';
import { type DrainMeasure, type MeasureDrain, waitForDrain } from './backlog-drain.ts';
import { drainStepSchema, fenceStepSchema, type PlannedPlan, plannedPlanSchema } from './planned-plan.ts';
import type { TopicOverrides, WriteFence } from './write-fence.ts';

/**
 * The planned switchover: a maintenance move of the clients while both clusters are healthy, with nothing left
 * behind (RPO 0). Under the deployment lock, as journaled steps:
 *
 * 1. `fence`: the primary's watched topics reject every write (a broker-side fence, write-fence.ts), whoever writes;
 * 2. `drain`: wait until MM2 copied every record the fenced primary holds and checkpointed every group
 *    (backlog-drain.ts), at most `safety.plannedDrainTimeoutSeconds`; then plan the group offsets from those
 *    checkpoints. Not drained in time: the fence is lowered and the switchover refused, with the figures;
 * 3. the failover's own steps (shared/failover/execute.ts): offsets, the claim of epoch N+1 from the one epoch
 *    authority, the fenced writes of the active configuration, extra regions, notify;
 * 4. `lift`: the fence is lowered. Clients are on the secondary by then; MM2 still mirrors the primary, so a writer
 *    that did not follow the switch writes where MM2 picks it up rather than into a cluster nobody reads.
 *
 * The plan records every override the fence replaces, so an invocation that finds the run interrupted resumes it
 * (or, when the active configuration moved on meanwhile or the run is too old, abandons it and lowers the fence).
 */

export interface PlannedDeps extends Omit<FailoverDeps, 'journal'> {
  /** The planned switchovers' own journal (same table; runs `planned-<epoch>`). */
  journal: RunJournal;
  fence: WriteFence;
  /**
   * The same fence on the secondary, used only to find and clear a fence MM2's topic-config sync copied there
   * (MM2 must exclude `max.message.bytes` from `config.properties.exclude`; see docs/design.md).
   */
  secondaryFence: WriteFence;
  measureDrain: MeasureDrain;
  /** Between two drain measurements; default 250 ms. */
  drainIntervalMs?: number;
}

interface PlannedSwitched {
  status: 'switched';
  planned: true;
  resumed: boolean;
  epoch: number;
  from: FailoverPlan['from'];
  to: FailoverPlan['to'];
  /** Records on the primary that the secondary does not hold when clients moved: 0 by construction. */
  rpoRecords: number;
  /** From the fence acknowledged by the broker to the active configuration written on the secondary. */
  writesStoppedMs: number;
  /** The figures that prove `rpoRecords`: per partition, the fenced primary's end vs what MM2 copied. */
  drain: { waitedMs: number; measure: DrainMeasure };
  switchMs: number;
  durationMs: number;
  groups: GroupOffsetOutcome[];
  regions: RegionOutcome[];
  notified: boolean;
  fenceLifted: boolean;
  warnings: string[];
}

interface PlannedRefused extends RefusedAnswer {
  /** The last drain measurement, when the backlog did not drain. */
  drain?: { waitedMs: number; measure: DrainMeasure | undefined };
  /** Whether the fence is down again (false only when lowering failed: see the reasons). */
  fenceLowered?: boolean;
}

export type PlannedResult =
  | PlannedSwitched
  | PlannedRefused
  | { status: 'already-active'; epoch: number; cluster: 'secondary'; switchedAt: string }
  | {
      status: 'dry-run';
      wouldDo: 'planned switchover' | 'refuse' | 'resume an interrupted planned switchover';
      reasons?: Reason[];
      fence?: TopicOverrides[];
      backlog?: DrainMeasure;
    };

const DEFAULT_DRAIN_INTERVAL_MS = 250;

export async function runPlannedSwitchover(
  request: FailoverInvocation,
  deps: PlannedDeps,
): Promise<PlannedResult> {
  const startedAt = deps.clock.now();
  if (request.dryRun) return dryRun(deps);
  const lease = await deps.lock.acquire(request.invocationId, 'planned-switchover');
  if (lease.tookOverFrom)
    deps.logger.warn('took the lock over from a holder whose lease ran out', { from: lease.tookOverFrom });
  try {
    return await underLock(request, startedAt, deps);
  } finally {
    await deps.lock.release(request.invocationId).catch((e: unknown) => {
      deps.logger.warn('could not release the planned-switchover lock', { error: describeError(e) });
    });
  }
}

async function underLock(
  request: FailoverInvocation,
  startedAt: number,
  deps: PlannedDeps,
): Promise<PlannedResult> {
  const { paths } = deps;
  const [latest, current] = await Promise.all([deps.journal.latest(), readCurrent(deps, paths)]);
  if (latest?.status === 'in-progress') {
    const plan = storedPlan(latest);
    const verdict = interruptedRunVerdict(latest, plan.switch, current, {
      now: deps.clock.now(),
      maxAgeMs: deps.config.safety.resumeMaxAgeMinutes * 60_000,
    });
    const refused = latest.steps.some((s) => s.name === 'refused');
    if (verdict.verdict === 'resume' && !refused) {
      deps.logger.info('resuming an interrupted planned switchover', {
        runId: latest.runId,
        done: latest.steps.map((s) => s.name),
      });
      return proceed(plan, latest, request.invocationId, current, startedAt, deps);
    }
    // Its decision is history; its fence must not outlive it.
    deps.logger.warn('abandoning a stale planned switchover and lowering its fence', { runId: latest.runId });
    await deps.fence.lower(plan.fence.topics);
    await deps.journal.finish(
      latest.runId,
      'abandoned',
      {
        reason: verdict.verdict === 'abandon' ? verdict.reason : 'refused: the backlog did not drain',
        fenceLowered: true,
      },
      request.invocationId,
    );
  }
  if (current.cluster === 'secondary') {
    return {
      status: 'already-active',
      epoch: current.epoch,
      cluster: 'secondary',
      switchedAt: current.switchedAt ?? '',
    };
  }
  const refusals = await healthRefusals(current, deps);
  if (refusals.length > 0) return { status: 'refused', reasons: refusals };

  const plan = await makePlan(request, startedAt, current, deps, await deps.fence.read(deps.config.topics));
  const runId = `planned-${failoverRunId(plan.switch.next.epoch, latest?.runId.replace(/^planned-/, ''))}`;
  await deps.journal.begin(runId, plan, request.invocationId);
  deps.logger.info('planned switchover planned', { runId, epoch: plan.switch.next.epoch });
  const entry: JournalEntry = {
    kind: 'planned',
    runId,
    status: 'in-progress',
    plan,
    steps: [],
    startedAt: plan.switch.startedAt,
    startedBy: request.invocationId,
    updatedAt: plan.switch.startedAt,
  };
  return proceed(plan, entry, request.invocationId, current, startedAt, deps);
}

/**
 * Both clusters must answer: the primary to be fenced and drained, the secondary to take the clients. A cluster
 * is judged down only when a second probe agrees (one probe that timed out on a busy network is not a verdict).
 */
async function healthRefusals(current: Current, deps: PlannedDeps): Promise<Reason[]> {
  const refusals: Reason[] = [];
  if (!current.consistent) {
    refusals.push({
      code: 'not-consistent',
      message: `the active configuration at rest is not consistent (${current.problem ?? 'unknown'}): run repair first`,
    });
  }
  const probe = async (role: 'primary' | 'secondary') => {
    const first = await deps.reprobe(role);
    return first.verdict === 'down' ? deps.reprobe(role) : first;
  };
  const [primary, secondary] = await Promise.all([probe('primary'), probe('secondary')]);
  for (const [role, outcome] of [
    ['primary', primary],
    ['secondary', secondary],
  ] as const) {
    if (outcome.verdict === 'down') {
      refusals.push({
        code: `${role}-unhealthy`,
        message: `a planned switchover needs both clusters answering; the ${role} is down${outcome.reasons.length ? ` (${outcome.reasons.join('; ')})` : ''}${role === 'primary' ? ': use an unplanned failover' : ''}`,
      });
    }
  }
  return refusals;
}

async function makePlan(
  request: FailoverInvocation,
  startedAt: number,
  current: Current,
  deps: PlannedDeps,
  fence: TopicOverrides[],
): Promise<PlannedPlan> {
  const { config, paths } = deps;
  const credentialsSource = config.clusters.secondary.secretArn ?? paths.clusterSecret('secondary');
  const target = await readClusterDefinition(deps.stores, paths, 'secondary', credentialsSource);
  const regions = extraRegions(config.regions, deps.homeRegion);
  const switchPlan = buildPlan({
    config,
    paths,
    request: { ...request, reason: `planned switchover: ${request.reason}` },
    startedAt,
    now: deps.clock.now(),
    current,
    target,
    credentialsSource,
    // Planned once the backlog drained, from the checkpoints of that moment (the `drain` step).
    offsets: [],
    extraRegions: regions,
  });
  return {
    switch: switchPlan,
    fence: { topics: fence },
    drainTimeoutMs: config.safety.plannedDrainTimeoutSeconds * 1000,
    steps: ['fence', 'drain', ...switchPlan.steps, 'lift'],
  };
}

/** Fence, drain, switch, lift: each step that is not yet on record. */
async function proceed(
  plan: PlannedPlan,
  entry: JournalEntry,
  holder: string,
  current: Current,
  invokedAt: number,
  deps: PlannedDeps,
): Promise<PlannedResult> {
  const { runId } = entry;
  const done = new Map(entry.steps.map((s) => [s.name, s.result]));
  const resumed = done.size > 0;
  const record = async (step: string, result: Record<string, unknown>): Promise<void> => {
    const full = { ...result, at: new Date(deps.clock.now()).toISOString() };
    await deps.journal.recordStep(runId, step, full, holder);
    done.set(step, full);
    deps.logger.info('planned switchover step done', { step, runId });
  };

  // Raised again on resume, even when on record: idempotent, and lowering may have run before a crash.
  if (!done.has('drain')) {
    await deps.fence.raise(plan.fence.topics);
    if (!done.has('fence')) await record('fence', { raisedAt: new Date(deps.clock.now()).toISOString() });
  }
  const fenceRaisedAt = Date.parse(
    parseOrThrow(fenceStepSchema, done.get('fence'), `fence step of ${runId}`).raisedAt,
  );

  if (!done.has('drain')) {
    const drained = await waitForDrain(
      deps.measureDrain,
      { timeoutMs: plan.drainTimeoutMs, intervalMs: deps.drainIntervalMs ?? DEFAULT_DRAIN_INTERVAL_MS },
      deps.clock,
    );
    const leaked = await leakedFence(deps);
    if (!drained.drained || leaked) return refuseUndrained(plan, runId, holder, drained, leaked, deps);
    const offsets = await planOffsetsSafely(deps.config, deps.secondaryGroups);
    await record('drain', { measure: drained.measure, waitedMs: drained.waitedMs, offsets });
  }
  const drain = parseOrThrow(drainStepSchema, done.get('drain'), `drain step of ${runId}`);

  const switchPlan: FailoverPlan = {
    ...plan.switch,
    offsets: drain.offsets,
    ...rpoOf(plan.switch, drain.measure),
  };
  const switchSteps = new Set(plan.switch.steps);
  const outcome = await executePlan(
    {
      plan: switchPlan,
      runId,
      holder,
      done: entry.steps.filter((s) => switchSteps.has(s.name) || s.name.startsWith('region:')),
      expectedEpoch: current.authority?.epoch,
    },
    {
      paths: deps.paths,
      stores: deps.stores,
      regionStores: deps.regionStores,
      secondaryGroups: deps.secondaryGroups,
      journal: deps.journal,
      authority: deps.authority,
      versions: deps.versions,
      notifier: deps.notifier,
      clock: deps.clock,
      logger: deps.logger,
      readTargetCredentials: async () =>
        (await readClusterDefinition(deps.stores, deps.paths, 'secondary', plan.switch.credentialsSource))
          .credentials,
    },
  );

  let fenceLifted = done.has('lift');
  const warnings = [...plan.switch.warnings];
  if (!fenceLifted) {
    try {
      await deps.fence.lower(plan.fence.topics);
      await record('lift', {});
      fenceLifted = true;
    } catch (e: unknown) {
      // The switch is done: a fence that could not be lowered is reported, and the next invocation lowers it.
      deps.logger.warn('could not lower the write fence after the switch', { error: describeError(e) });
      warnings.push(
        `the write fence on the primary is still up (${describeError(e)}): invoke again to lower it`,
      );
    }
  }
  if (fenceLifted) {
    await deps.journal.finish(
      runId,
      'completed',
      { switchedAt: new Date(outcome.switchedAt).toISOString() },
      holder,
    );
  }
  const runStart = resumed ? Date.parse(plan.switch.startedAt) : invokedAt;
  return {
    status: 'switched',
    planned: true,
    resumed: resumed || outcome.resumed,
    epoch: plan.switch.next.epoch,
    from: plan.switch.from,
    to: plan.switch.to,
    rpoRecords: drain.measure.recordsBehind,
    writesStoppedMs: outcome.switchedAt - fenceRaisedAt,
    drain: { waitedMs: drain.waitedMs, measure: drain.measure },
    switchMs: outcome.switchedAt - runStart,
    durationMs: outcome.completedAt - runStart,
    groups: outcome.groups,
    regions: outcome.regions,
    notified: outcome.notified,
    fenceLifted,
    warnings,
  };
}

/** The backlog did not drain in time: lower the fence (clients write to the primary again) and refuse. */
async function refuseUndrained(
  plan: PlannedPlan,
  runId: string,
  holder: string,
  drained: Awaited<ReturnType<typeof waitForDrain>>,
  leaked: Reason | undefined,
  deps: PlannedDeps,
): Promise<PlannedRefused> {
  const m = drained.measure;
  const reasons: Reason[] = leaked ? [leaked] : [];
  if (!drained.drained) {
    const behind = m
      ? `${m.recordsBehind} record(s) not on the secondary and ${m.groupsBehind} group partition(s) not checkpointed`
      : `no measurement succeeded (${drained.lastError ?? 'unknown error'})`;
    reasons.push({
      code: 'backlog-not-drained',
      message: `expected MM2 to copy everything of the fenced primary within ${plan.drainTimeoutMs} ms (safety.plannedDrainTimeoutSeconds); after ${drained.waitedMs} ms: ${behind}`,
    });
  }
  let fenceLowered = true;
  try {
    await deps.fence.lower(plan.fence.topics);
  } catch (e: unknown) {
    fenceLowered = false;
    reasons.push({
      code: 'fence-still-up',
      message: `could not lower the write fence on the primary (${describeError(e)}): invoke again to lower it`,
    });
  }
  deps.logger.warn('planned switchover refused: the backlog did not drain', {
    runId,
    recordsBehind: m?.recordsBehind,
    groupsBehind: m?.groupsBehind,
  });
  if (fenceLowered) {
    await deps.journal.finish(runId, 'abandoned', { reason: reasons[0]?.message, fenceLowered }, holder);
  } else {
    // Left in progress, marked refused, so that the next invocation lowers the fence rather than resuming.
    await deps.journal.recordStep(
      runId,
      'refused',
      { reasons, at: new Date(deps.clock.now()).toISOString() },
      holder,
    );
  }
  return { status: 'refused', reasons, drain: { waitedMs: drained.waitedMs, measure: m }, fenceLowered };
}

/**
 * A fence MM2 copied to the secondary's remote topics (its topic-config sync, when `max.message.bytes` is not
 * excluded) would stop MM2 and every client after the switch: found, cleared there, and turned into a refusal.
 */
async function leakedFence(deps: PlannedDeps): Promise<Reason | undefined> {
  const policy = replicationPolicy(deps.config);
  const remote = deps.config.topics.map((t) =>
    policy.formatRemoteTopic(deps.config.clusters.primary.alias, t),
  );
  const leaked = await deps.secondaryFence.fenced(remote);
  if (leaked.length === 0) return undefined;
  await deps.secondaryFence.lower(await deps.secondaryFence.read(leaked));
  return {
    code: 'fence-synced-to-secondary',
    message: `MM2 copied the write fence (max.message.bytes=0) to ${leaked.join(', ')} on the secondary (cleared there now): add max.message.bytes to the source connector's config.properties.exclude before a planned switchover`,
  };
}

/** The switch's RPO from the drain: what the notification and the plan report. */
function rpoOf(plan: FailoverPlan, m: DrainMeasure): Pick<FailoverPlan, 'rpo' | 'rpoTotal'> {
  const lag: ReplicationLag = {
    measuredAt: m.measuredAt,
    backlogRecords: m.recordsBehind,
    lagSeconds: 0,
    topics: [],
  };
  return {
    rpo: plan.rpo.map((t) => ({
      ...t,
      backlogRecords: m.partitions.filter((p) => p.topic === t.topic).reduce((n, p) => n + p.behind, 0),
      lagSeconds: 0,
      measuredAt: m.measuredAt,
    })),
    rpoTotal: {
      backlogRecords: lag.backlogRecords ?? null,
      lagSeconds: lag.lagSeconds ?? null,
      measuredAt: lag.measuredAt,
    },
  };
}

/** What a real run would do now; fences nothing, writes nothing. */
async function dryRun(deps: PlannedDeps): Promise<PlannedResult> {
  const [latest, current] = await Promise.all([deps.journal.latest(), readCurrent(deps, deps.paths)]);
  if (latest?.status === 'in-progress')
    return { status: 'dry-run', wouldDo: 'resume an interrupted planned switchover' };
  if (current.cluster === 'secondary') {
    return {
      status: 'dry-run',
      wouldDo: 'refuse',
      reasons: [{ code: 'already-active', message: 'the secondary is already active' }],
    };
  }
  const reasons = await healthRefusals(current, deps);
  if (reasons.length > 0) return { status: 'dry-run', wouldDo: 'refuse', reasons };
  const [fence, backlog] = await Promise.all([deps.fence.read(deps.config.topics), deps.measureDrain()]);
  return { status: 'dry-run', wouldDo: 'planned switchover', fence, backlog };
}

function storedPlan(entry: JournalEntry): PlannedPlan {
  return parseOrThrow(
    plannedPlanSchema,
    entry.plan,
    `plan of planned switchover ${entry.runId} in the journal`,
  );
}
