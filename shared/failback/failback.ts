import { randomUUID } from 'node:crypto';
import { describeError, RefusedError } from '../errors.ts';
import type { DeploymentLock } from '../store/dynamo-lock.ts';
import { readCurrent } from '../switch/current.ts';
import { abandonFailback } from './abandon.ts';
import { runCatchUp } from './catch-up.ts';
import { runCopyBack, runCopyBackCatchUp, runCopyBackRestore } from './copy-back.ts';
import type { FailbackJournal } from './journal.ts';
import { failbackNotification } from './notification.ts';
import type { ExecutablePhase, FailbackRequest, MirrorStep } from './payload.ts';
import {
  type CatchUpProgress,
  type FailbackDeps,
  LEASE_RENEW_MS,
  type PhaseContext,
  type PhaseOutcome,
  type PhaseRunners,
} from './phase-context.ts';
import { copiesBack, judgePhaseRequest, nextPhase, phasesFor } from './phases.ts';
import { planFailback } from './plan.ts';
import { runPrepare } from './prepare.ts';
import { runPurge } from './purge.ts';
import { runRestore } from './restore.ts';
import { runReverse } from './reverse.ts';
import { runSalvage } from './salvage.ts';
import type { FailbackState } from './state.ts';
import { runSwitch } from './switch.ts';

const phaseRunners: PhaseRunners = {
  prepare: runPrepare,
  salvage: runSalvage,
  reverse: runReverse,
  purge: runPurge,
  'catch-up': runCatchUp,
  switch: runSwitch,
  restore: runRestore,
};

/** Active-passive with the default policy: the records come back through copy-back, not a reverse MM2 flow. */
const copyBackRunners: PhaseRunners = {
  ...phaseRunners,
  reverse: (ctx) => runCopyBack(ctx),
  'catch-up': runCopyBackCatchUp,
  restore: runCopyBackRestore,
};

export interface FailbackInvocation {
  journal: FailbackJournal;
  lock: DeploymentLock;
  /** Who holds the lock for this invocation (the Lambda request id). */
  holder: string;
  /** Epoch ms after which no new unit of work starts (the Lambda deadline minus a margin). */
  deadlineAt: number;
  runners?: PhaseRunners;
}

type FailbackStatus = 'planned' | 'in-progress' | 'waiting' | 'completed' | 'abandoned';

export interface FailbackResult {
  status: FailbackStatus;
  runId?: string;
  mode: 'active-passive' | 'active-active';
  phases: readonly ExecutablePhase[];
  completedPhases: ExecutablePhase[];
  /** Phases finished by this invocation, with what each did. */
  ran: Array<{ phase: ExecutablePhase; summary: unknown }>;
  /** The phase due next (undefined when completed). */
  currentPhase?: ExecutablePhase;
  /** What the operator does next, in one sentence. */
  nextStep: string;
  waiting?: { reason: string; waitingFor?: string; instructions?: string[] };
  progress?: CatchUpProgress;
  /** The partial result of the phase the deadline interrupted. */
  partial?: unknown;
  plan?: unknown;
  /** `abandoned`: what the run leaves as it is (mirrors, deleted records, clients moved), one sentence each. */
  leftBehind?: string[];
}

/**
 * Run failback as far as it can go in this invocation. The request is parsed by the caller
 * (`parseFailbackRequest`); the phase order is judged before anything is written;
 * then the deployment lock (shared with failover) is taken, the run state loaded or started, and phases run
 * until one waits, the requested phase is done, or the deadline comes. Every unit of progress is journaled, so a
 * crash or a timeout loses nothing and repeats nothing.
 */
export async function runFailback(
  request: FailbackRequest,
  deps: FailbackDeps,
  invocation: FailbackInvocation,
): Promise<FailbackResult> {
  refuseUnsupported(request, deps.config);
  const phases = phasesFor(deps.config);
  if (request.phase === 'plan') return planned(deps, invocation, phases);

  await invocation.lock.acquire(invocation.holder, `failback: ${request.reason}`);
  let answer: FailbackResult;
  try {
    answer = request.abandon
      ? await abandoned(request, invocation, phases)
      : await advance(request, deps, invocation, phases);
  } catch (e: unknown) {
    await releaseLock(deps, invocation);
    throw e;
  }
  await releaseLock(deps, invocation);
  return answer;
}

/** Abandon the run in progress (failback --abandon): journaled, with what it leaves behind. */
async function abandoned(
  request: FailbackRequest,
  invocation: FailbackInvocation,
  phases: readonly ExecutablePhase[],
): Promise<FailbackResult> {
  const { state, leftBehind } = await abandonFailback(invocation.journal, invocation.holder, request.reason);
  return {
    ...result(state, phases, [], {
      status: 'abandoned',
      nextStep: 'abandoned: put right what it leaves behind, then start a new failback if one is needed',
    }),
    leftBehind,
  };
}

/**
 * Give the lock back. What the invocation did is journaled and is its answer, whatever happens here: a release
 * that fails is logged, and the lease runs out by itself.
 */
async function releaseLock(deps: FailbackDeps, invocation: FailbackInvocation): Promise<void> {
  try {
    await invocation.lock.release(invocation.holder);
  } catch (e: unknown) {
    deps.logger.warn('failback could not give the lock back; its lease runs out by itself', {
      holder: invocation.holder,
      error: describeError(e),
    });
  }
}

/** What no deployment state can change: refused before the lock, the journal or the clusters are touched. */
function refuseUnsupported(request: FailbackRequest, config: FailbackDeps['config']): void {
  if (request.mirrorConfirmed !== undefined && config.mirror.kind !== 'manual') {
    throw new RefusedError('failback', [
      {
        code: 'mirror-not-manual',
        message: `mirrorConfirmed is for mirror.kind 'manual'; this deployment's mirror is '${config.mirror.kind}', which failback drives itself`,
      },
    ]);
  }
}

/** The dry run (`phase: 'plan'`): no lock, nothing written. */
async function planned(
  deps: FailbackDeps,
  invocation: FailbackInvocation,
  phases: readonly ExecutablePhase[],
): Promise<FailbackResult> {
  const view = await invocation.journal.load();
  const state = view.kind === 'in-progress' ? view.state : undefined;
  const plan = await planFailback(deps, state);
  return {
    status: 'planned',
    mode: deps.config.mode,
    phases,
    completedPhases: state?.completed ?? [],
    ran: [],
    ...(state ? { runId: state.runId } : {}),
    currentPhase: nextPhase(phases, state?.completed ?? []),
    nextStep: 'dry run only; invoke without phase (or with the phase due) to proceed',
    plan,
  };
}

/** One invocation under the lock: load or start the run, judge the request, run phases, answer. */
async function advance(
  request: FailbackRequest,
  deps: FailbackDeps,
  invocation: FailbackInvocation,
  phases: readonly ExecutablePhase[],
): Promise<FailbackResult> {
  const { state, begun } = await loadOrStartRun(request, deps, invocation);
  const judged = judgeRequest(request, phases, state, deps.config.mode);
  if (judged.kind === 'already-done') {
    return result(state, phases, [], {
      status: state.completed.length === phases.length ? 'completed' : 'in-progress',
      nextStep: `phase '${judged.phase}' is already done; ${describeNext(phases, state)}`,
    });
  }
  const run = openRun(request, deps, invocation, state, begun);
  if (request.mirrorConfirmed !== undefined) await run.ctx.save();
  return runPhases(
    run,
    phases,
    judged.only,
    invocation.runners ?? (copiesBack(deps.config) ? copyBackRunners : phaseRunners),
  );
}

/** The run in progress from the journal, or a new one (not yet journaled) when the secondary is active. */
async function loadOrStartRun(
  request: FailbackRequest,
  deps: FailbackDeps,
  invocation: FailbackInvocation,
): Promise<{ state: FailbackState; begun: boolean }> {
  const view = await invocation.journal.load();
  if (view.kind === 'in-progress') return { state: view.state, begun: true };
  const current = await readCurrent(deps, deps.paths);
  if (current.assumed) {
    throw new RefusedError('failback', [
      {
        code: 'no-active-configuration',
        message: `no active configuration at ${deps.paths.activeParameter}: nothing to fail back`,
      },
    ]);
  }
  if (!current.consistent) {
    throw new RefusedError('failback', [
      {
        code: 'active-configuration-not-consistent',
        message: `the active configuration is not consistent (${current.problem ?? 'unknown'}): a switch is in flight or stopped half-way; try again shortly, or run mm2-failover repair`,
      },
    ]);
  }
  if (current.cluster !== 'secondary') {
    const last =
      view.kind === 'finished'
        ? ` (failback ${view.state.runId} finished ${view.state.finishedAt ?? ''})`
        : '';
    throw new RefusedError('failback', [
      {
        code: 'primary-already-active',
        message: `the active cluster is already the primary (epoch ${current.epoch})${last}: nothing to fail back`,
      },
    ]);
  }
  const state: FailbackState = {
    runId: `${String(current.epoch).padStart(10, '0')}-${randomUUID().slice(0, 8)}`,
    mode: deps.config.mode,
    startedAt: new Date(deps.clock.now()).toISOString(),
    requestedBy: request.requestedBy,
    reason: request.reason,
    startEpoch: current.epoch,
    completed: [],
    mirrorConfirmed: [],
  };
  return { state, begun: false };
}

/**
 * Judge the request against the run's state before writing anything: a phase asked for must be the one due (one
 * already done is reported), and `confirm` is accepted only when a phase that asks for it (purge, restore) is due.
 */
function judgeRequest(
  request: FailbackRequest,
  phases: readonly ExecutablePhase[],
  state: FailbackState,
  mode: FailbackState['mode'],
): { kind: 'already-done'; phase: ExecutablePhase } | { kind: 'run'; only?: ExecutablePhase } {
  let only: ExecutablePhase | undefined;
  if (request.phase !== undefined && request.phase !== 'plan') {
    const verdict = judgePhaseRequest(phases, state.completed, request.phase, mode);
    if (verdict.kind === 'refused') throw new RefusedError('failback', verdict.reasons);
    if (verdict.kind === 'already-done') return verdict;
    only = verdict.phase;
  }
  const due = nextPhase(phases, state.completed);
  if (request.confirm && due !== 'purge' && due !== 'restore') {
    throw new RefusedError('failback', [
      {
        code: 'confirm-not-due',
        message: `confirm is only accepted when 'purge' or 'restore' is due; '${due ?? 'nothing'}' is due`,
      },
    ]);
  }
  return only === undefined ? { kind: 'run' } : { kind: 'run', only };
}

/** A run being advanced: the phases' context, and what this invocation has finished so far. */
interface OpenRun {
  ctx: PhaseContext;
  state: FailbackState;
  deps: FailbackDeps;
  invocation: FailbackInvocation;
  ran: Array<{ phase: ExecutablePhase; summary: unknown }>;
  /** Journal the run's start if nothing has been journaled yet. */
  ensureBegun(): Promise<void>;
}

/**
 * The context phases run in. The first save begins the run in the journal; every save renews the lock's lease,
 * and a pause saves often enough that the lease never runs out while a phase waits.
 */
function openRun(
  request: FailbackRequest,
  deps: FailbackDeps,
  invocation: FailbackInvocation,
  state: FailbackState,
  begunAlready: boolean,
): OpenRun {
  const { clock } = deps;
  const { holder } = invocation;
  let begun = begunAlready;
  let lastSaveAt = clock.now();
  const save = async (): Promise<void> => {
    if (begun) await invocation.journal.save(state, holder);
    else await invocation.journal.begin(state, holder);
    begun = true;
    lastSaveAt = clock.now();
  };
  const confirmed = new Set<MirrorStep>(state.mirrorConfirmed);
  if (request.mirrorConfirmed !== undefined && !confirmed.has(request.mirrorConfirmed)) {
    confirmed.add(request.mirrorConfirmed);
    state.mirrorConfirmed = [...confirmed];
  }
  const ctx: PhaseContext = {
    deps,
    holder: invocation.holder,
    request,
    state,
    mirror: deps.mirror(confirmed),
    save,
    remainingMs: () => invocation.deadlineAt - clock.now(),
    pause: async (ms) => {
      for (let left = ms; left > 0; ) {
        const step = Math.min(left, LEASE_RENEW_MS / 2);
        await deps.sleep(step);
        left -= step;
        if (begun && clock.now() - lastSaveAt >= LEASE_RENEW_MS) await save();
      }
    },
  };
  const ensureBegun = async (): Promise<void> => {
    if (!begun) await save();
  };
  return { ctx, state, deps, invocation, ran: [], ensureBegun };
}

/** Run phases until one waits, the run completes, the requested phase is done, or the deadline comes. */
async function runPhases(
  run: OpenRun,
  phases: readonly ExecutablePhase[],
  only: ExecutablePhase | undefined,
  runners: PhaseRunners,
): Promise<FailbackResult> {
  const { ctx, state, deps, ran } = run;
  const answer = (extra: Parameters<typeof result>[3]) =>
    result(state, phases, ran, { ...extra, progress: ctx.progress });
  for (;;) {
    const phase = nextPhase(phases, state.completed);
    if (phase === undefined) return finishRun(run, phases);
    if (only !== undefined && phase !== only) {
      return answer({ status: 'in-progress', nextStep: describeNext(phases, state) });
    }
    if (ctx.remainingMs() <= 0) {
      return answer({
        status: 'in-progress',
        nextStep: `the invocation's time ran out; invoke again to continue with '${phase}'`,
      });
    }
    deps.logger.info('failback phase starting', { runId: state.runId, phase });
    const outcome: PhaseOutcome = await runners[phase](ctx);
    if (outcome.kind === 'waiting') {
      const { reason, waitingFor, instructions } = outcome;
      return answer({
        status: 'waiting',
        nextStep: reason,
        waiting: { reason, ...(waitingFor ? { waitingFor } : {}), ...(instructions ? { instructions } : {}) },
      });
    }
    if (outcome.kind === 'deadline') {
      return answer({
        status: 'in-progress',
        nextStep: `'${phase}' made progress until this invocation's deadline; invoke again to continue`,
        partial: outcome.summary,
      });
    }
    await recordPhaseDone(run, phase, outcome.summary);
  }
}

async function recordPhaseDone(run: OpenRun, phase: ExecutablePhase, summary: unknown): Promise<void> {
  const { state, deps, invocation } = run;
  state.completed = [...state.completed, phase];
  await run.ensureBegun();
  await invocation.journal.recordPhase(state, phase, summary, invocation.holder);
  run.ran.push({ phase, summary });
  if (phase === 'switch') await notify(deps, 'switched', state, run.ran);
  deps.logger.info('failback phase done', { runId: state.runId, phase, summary });
}

async function finishRun(run: OpenRun, phases: readonly ExecutablePhase[]): Promise<FailbackResult> {
  const { state, deps, invocation, ran } = run;
  state.finishedAt = new Date(deps.clock.now()).toISOString();
  await run.ensureBegun();
  await invocation.journal.finish(state, { ran }, invocation.holder);
  await notify(deps, 'completed', state, ran);
  return result(state, phases, ran, {
    status: 'completed',
    nextStep: 'failback completed: clients use the primary and the forward mirror runs again',
    progress: run.ctx.progress,
  });
}

/** A notification that fails is logged, not thrown: what it reports has already happened and is journaled. */
async function notify(
  deps: FailbackDeps,
  event: 'switched' | 'completed',
  state: FailbackState,
  ran: ReadonlyArray<{ phase: ExecutablePhase; summary: unknown }>,
): Promise<void> {
  if (!deps.notifier) return;
  try {
    await deps.notifier.publish(failbackNotification(event, deps.config.name, state, ran));
  } catch (e: unknown) {
    deps.logger.warn('failback notification failed', { error: describeError(e) });
  }
}

function describeNext(phases: readonly ExecutablePhase[], state: FailbackState): string {
  const next = nextPhase(phases, state.completed);
  if (next === undefined) return 'failback completed';
  if (next === 'purge')
    return "invoke with { phase: 'purge', confirm: true } to delete the primary's stale records";
  return `invoke again to run '${next}'`;
}

function result(
  state: FailbackState,
  phases: readonly ExecutablePhase[],
  ran: Array<{ phase: ExecutablePhase; summary: unknown }>,
  extra: Pick<FailbackResult, 'status' | 'nextStep' | 'waiting' | 'progress' | 'partial'>,
): FailbackResult {
  const out: FailbackResult = {
    status: extra.status,
    runId: state.runId,
    mode: state.mode,
    phases,
    completedPhases: state.completed,
    ran,
    nextStep: extra.nextStep,
  };
  const current = nextPhase(phases, state.completed);
  if (current !== undefined) out.currentPhase = current;
  if (extra.waiting) out.waiting = extra.waiting;
  if (extra.progress) out.progress = extra.progress;
  if (extra.partial !== undefined) out.partial = extra.partial;
  return out;
}
