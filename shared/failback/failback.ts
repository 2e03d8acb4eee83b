import { randomUUID } from 'node:crypto';
import { describeError, RefusedError } from '../errors.ts';
import { readActiveOnce } from '../store/active-config.ts';
import type { DeploymentLock } from '../store/dynamo-lock.ts';
import { runCatchUp } from './catch-up.ts';
import type { FailbackJournal } from './journal.ts';
import { failbackNotification } from './notification.ts';
import {
  type ExecutablePhase,
  type FailbackRequest,
  type MirrorStep,
  parseFailbackRequest,
} from './payload.ts';
import {
  type CatchUpProgress,
  type FailbackDeps,
  LEASE_RENEW_MS,
  type PhaseContext,
  type PhaseOutcome,
  type PhaseRunners,
} from './phase-context.ts';
import { judgePhaseRequest, nextPhase, phasesFor, unsupportedReasons } from './phases.ts';
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

export interface FailbackInvocation {
  journal: FailbackJournal;
  lock: DeploymentLock;
  /** Who holds the lock for this invocation (the Lambda request id). */
  holder: string;
  /** Epoch ms after which no new unit of work starts (the Lambda deadline minus a margin). */
  deadlineAt: number;
  runners?: PhaseRunners;
}

type FailbackStatus = 'planned' | 'in-progress' | 'waiting' | 'completed';

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
}

/**
 * Run failback as far as it can go in this invocation. Validation, the phase order and the default-policy rule are
 * judged before anything is written; then the deployment lock (shared with failover) is taken, the journal read,
 * and phases run until one waits, the requested phase is done, or the deadline comes. Every unit of progress is
 * journaled, so a crash or a timeout loses nothing and repeats nothing.
 */
export async function runFailback(
  input: unknown,
  deps: FailbackDeps,
  invocation: FailbackInvocation,
): Promise<FailbackResult> {
  const request = parseFailbackRequest(input);
  const { config } = deps;
  const unsupported = unsupportedReasons(config);
  if (unsupported.length > 0) throw new RefusedError('failback', unsupported);
  const phases = phasesFor(config);
  if (request.mirrorConfirmed !== undefined && config.mirror.kind !== 'manual') {
    throw new RefusedError('failback', [
      `mirrorConfirmed is for mirror.kind 'manual'; this deployment's mirror is '${config.mirror.kind}', which failback drives itself`,
    ]);
  }

  if (request.phase === 'plan') {
    const view = await invocation.journal.load();
    const state = view.kind === 'in-progress' ? view.state : undefined;
    const plan = await planFailback(deps, state);
    return {
      status: 'planned',
      mode: config.mode,
      phases,
      completedPhases: state?.completed ?? [],
      ran: [],
      ...(state ? { runId: state.runId } : {}),
      currentPhase: nextPhase(phases, state?.completed ?? []),
      nextStep: 'dry run only; invoke without phase (or with the phase due) to proceed',
      plan,
    };
  }

  await invocation.lock.acquire(invocation.holder, `failback: ${request.reason}`);
  try {
    return await advance(request, deps, invocation, phases);
  } finally {
    await invocation.lock.release(invocation.holder);
  }
}

async function advance(
  request: FailbackRequest,
  deps: FailbackDeps,
  invocation: FailbackInvocation,
  phases: readonly ExecutablePhase[],
): Promise<FailbackResult> {
  const { config, clock } = deps;
  const view = await invocation.journal.load();
  let state: FailbackState;
  let begun = view.kind === 'in-progress';
  if (view.kind === 'in-progress') {
    state = view.state;
  } else {
    const active = await readActiveOnce(deps.stores, deps.paths);
    if (active.kind !== 'consistent') {
      throw new RefusedError('failback', [
        active.kind === 'absent'
          ? `no active configuration at ${deps.paths.activeParameter}: nothing to fail back`
          : `the active configuration is being switched right now (parameter epoch ${active.parameterEpoch}, secret epoch ${active.secretEpoch}); try again shortly`,
      ]);
    }
    if (active.config.cluster !== 'secondary') {
      const last =
        view.kind === 'finished'
          ? ` (failback ${view.state.runId} finished ${view.state.finishedAt ?? ''})`
          : '';
      throw new RefusedError('failback', [
        `the active cluster is already the primary (epoch ${active.config.epoch})${last}: nothing to fail back`,
      ]);
    }
    state = {
      runId: `${String(active.config.epoch).padStart(10, '0')}-${randomUUID().slice(0, 8)}`,
      mode: config.mode,
      startedAt: new Date(clock.now()).toISOString(),
      requestedBy: request.requestedBy,
      reason: request.reason,
      startEpoch: active.config.epoch,
      completed: [],
      mirrorConfirmed: [],
    };
  }

  // Judge the request against the journal before writing anything.
  let only: ExecutablePhase | undefined;
  if (request.phase !== undefined && request.phase !== 'plan') {
    const verdict = judgePhaseRequest(phases, state.completed, request.phase, config.mode);
    if (verdict.kind === 'refused') throw new RefusedError('failback', verdict.reasons);
    if (verdict.kind === 'already-done') {
      return result(state, phases, [], {
        status: state.completed.length === phases.length ? 'completed' : 'in-progress',
        nextStep: `phase '${request.phase}' is already done; ${describeNext(phases, state)}`,
      });
    }
    only = verdict.phase;
  }
  const due = nextPhase(phases, state.completed);
  if (request.confirm && due !== 'purge') {
    throw new RefusedError('failback', [
      `confirm is only accepted when 'purge' is due; '${due ?? 'nothing'}' is due`,
    ]);
  }

  const confirmed = new Set<MirrorStep>(state.mirrorConfirmed);
  if (request.mirrorConfirmed !== undefined && !confirmed.has(request.mirrorConfirmed)) {
    confirmed.add(request.mirrorConfirmed);
    state.mirrorConfirmed = [...confirmed];
  }
  const mirror = deps.mirror(confirmed);
  const holder = invocation.holder;
  let lastSaveAt = clock.now();
  const save = async (): Promise<void> => {
    if (!begun) {
      await invocation.journal.begin(state, holder);
      begun = true;
    } else {
      await invocation.journal.save(state, holder);
    }
    lastSaveAt = clock.now();
  };
  const ctx: PhaseContext = {
    deps,
    request,
    state,
    mirror,
    save,
    remainingMs: () => invocation.deadlineAt - clock.now(),
    pause: async (ms) => {
      let left = ms;
      while (left > 0) {
        const step = Math.min(left, LEASE_RENEW_MS / 2);
        await deps.sleep(step);
        left -= step;
        if (begun && clock.now() - lastSaveAt >= LEASE_RENEW_MS) await save();
      }
    },
  };
  if (request.mirrorConfirmed !== undefined) await ctx.save();

  const ran: Array<{ phase: ExecutablePhase; summary: unknown }> = [];
  const runners = invocation.runners ?? phaseRunners;
  for (;;) {
    const phase = nextPhase(phases, state.completed);
    if (phase === undefined) {
      state.finishedAt = new Date(clock.now()).toISOString();
      if (!begun) await ctx.save();
      await invocation.journal.finish(state, { ran }, holder);
      await notify(deps, 'completed', state, ran);
      return result(state, phases, ran, {
        status: 'completed',
        nextStep: 'failback completed: clients use the primary and the forward mirror runs again',
        progress: ctx.progress,
      });
    }
    if (only !== undefined && phase !== only) {
      return result(state, phases, ran, {
        status: 'in-progress',
        nextStep: describeNext(phases, state),
        progress: ctx.progress,
      });
    }
    if (ctx.remainingMs() <= 0) {
      return result(state, phases, ran, {
        status: 'in-progress',
        nextStep: `the invocation's time ran out; invoke again to continue with '${phase}'`,
        progress: ctx.progress,
      });
    }
    deps.logger.info('failback phase starting', { runId: state.runId, phase });
    const outcome: PhaseOutcome = await runners[phase](ctx);
    if (outcome.kind === 'done') {
      state.completed = [...state.completed, phase];
      if (!begun) await ctx.save();
      await invocation.journal.recordPhase(state, phase, outcome.summary, holder);
      ran.push({ phase, summary: outcome.summary });
      if (phase === 'switch') await notify(deps, 'switched', state, ran);
      deps.logger.info('failback phase done', { runId: state.runId, phase, summary: outcome.summary });
      continue;
    }
    if (outcome.kind === 'waiting') {
      return result(state, phases, ran, {
        status: 'waiting',
        nextStep: outcome.reason,
        waiting: {
          reason: outcome.reason,
          ...(outcome.waitingFor ? { waitingFor: outcome.waitingFor } : {}),
          ...(outcome.instructions ? { instructions: outcome.instructions } : {}),
        },
        progress: ctx.progress,
      });
    }
    return result(state, phases, ran, {
      status: 'in-progress',
      nextStep: `'${phase}' made progress until this invocation's deadline; invoke again to continue`,
      progress: ctx.progress,
      partial: outcome.summary,
    });
  }
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
