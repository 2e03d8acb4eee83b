import type { ClusterCredentials } from '../config/contract.ts';
import type { DeploymentPaths } from '../config/paths.ts';
import { describeError } from '../errors.ts';
import type { Notifier, RegionOutcome } from '../notify/notification.ts';
import {
  commitGroupOffsets,
  type GroupOffsetOutcome,
  groupOffsetOutcomeSchema,
  type SecondaryGroupOffsets,
} from '../offsets/offset-translation.ts';
import { type ActiveWriteStep, type Stores, writeActive, writeActiveStep } from '../store/active-config.ts';
import type { RunJournal } from '../store/dynamo-journal.ts';
import type { Redacted } from '../store/redacted.ts';
import { switchedNotification } from './notification.ts';
import type { FailoverPlan } from './plan.ts';

/**
 * Execute a plan as journaled steps: offsets, secret, parameter, plain parameters (the fencing order), extra
 * regions, notify. A step is recorded in the journal after it succeeded; a run that is resumed skips recorded
 * steps and repeats at most the one that was interrupted, and every step is idempotent (the same epoch and values
 * are written again; offsets only move forward), so an interruption anywhere ends in exactly one switch.
 */

export interface ExecuteDeps {
  paths: DeploymentPaths;
  stores: Stores;
  regionStores(region: string): Stores;
  secondaryGroups: SecondaryGroupOffsets;
  journal: RunJournal;
  notifier: Notifier;
  /** The target cluster's credentials, read from its secret when needed (never from the journal). */
  readTargetCredentials(): Promise<Redacted<ClusterCredentials>>;
  now(): number;
  logger: {
    info(message: string, ...extra: Array<Record<string, unknown>>): void;
    warn(message: string, ...extra: Array<Record<string, unknown>>): void;
  };
}

export interface ExecuteInput {
  plan: FailoverPlan;
  runId: string;
  holder: string;
  /** Steps already recorded by an earlier invocation, with their results. */
  done: ReadonlyArray<{ name: string; result: unknown }>;
}

export interface ExecutionOutcome {
  resumed: boolean;
  switchedAt: number;
  completedAt: number;
  groups: GroupOffsetOutcome[];
  regions: RegionOutcome[];
  notified: boolean;
  notifyError?: string;
}

interface StepResult {
  at: string;
  [key: string]: unknown;
}

export async function executePlan(input: ExecuteInput, deps: ExecuteDeps): Promise<ExecutionOutcome> {
  const { plan, runId, holder } = input;
  const results = new Map<string, unknown>(input.done.map((s) => [s.name, s.result]));
  const resumed = results.size > 0;
  let credentials: Redacted<ClusterCredentials> | undefined;
  const targetCredentials = async (): Promise<Redacted<ClusterCredentials>> => {
    credentials ??= await deps.readTargetCredentials();
    return credentials;
  };

  // A step's journal record is written while the next step runs: steps still run one after another (the
  // fencing order), records are written in order and only after their step succeeded, and a holder that lost
  // its lease learns it at the next record, after at most one more (idempotent) write.
  let recording: Promise<void> = Promise.resolve();
  const run = async (step: string, action: () => Promise<Omit<StepResult, 'at'>>): Promise<void> => {
    if (results.has(step)) return;
    const [outcome] = await Promise.all([action(), recording]);
    const result: StepResult = { ...outcome, at: new Date(deps.now()).toISOString() };
    results.set(step, result);
    deps.logger.info('failover step done', { step, runId });
    recording = deps.journal.recordStep(runId, step, result, holder);
    // Awaited by the next step or at the end; never an unhandled rejection in between.
    recording.catch(() => {});
  };

  await run('offsets', async () => ({
    groups: await commitGroupOffsets(plan.offsets, deps.secondaryGroups),
  }));
  for (const step of ['secret', 'parameter', 'plain-parameters'] as const satisfies ActiveWriteStep[]) {
    await run(step, async () => {
      await writeActiveStep(deps.stores, deps.paths, step, plan.next, await targetCredentials());
      return {};
    });
  }
  const switchedAt = timeOf(results.get('plain-parameters')) ?? deps.now();

  for (const region of plan.regions) {
    await run(`region:${region}`, async () => {
      // A region that cannot be written must not undo or block the switch that already happened: it is
      // recorded and reported, and an operator re-runs the write there.
      try {
        await writeActive(deps.regionStores(region), deps.paths, plan.next, await targetCredentials());
        return { ok: true };
      } catch (e: unknown) {
        deps.logger.warn('failover could not write an extra region', { region, error: describeError(e) });
        return { ok: false, error: describeError(e) };
      }
    });
  }

  const groups = groupsOf(results.get('offsets'));
  const regions = plan.regions.map((region): RegionOutcome => {
    const r = results.get(`region:${region}`) as { ok?: unknown; error?: unknown } | undefined;
    return r?.ok === true
      ? { region, ok: true }
      : { region, ok: false, error: typeof r?.error === 'string' ? r.error : 'not written' };
  });
  const startedAt = Date.parse(plan.startedAt);

  // Notify only once everything before is on record, so a resumed run never notifies twice.
  await recording;
  await run('notify', async () => {
    const notification = switchedNotification({
      plan,
      resumed,
      switchMs: switchedAt - startedAt,
      durationMs: deps.now() - startedAt,
      groups,
      regions,
    });
    try {
      const { messageId } = await deps.notifier.publish(notification);
      return { ok: true, ...(messageId ? { messageId } : {}) };
    } catch (e: unknown) {
      // The switch is done; a lost message must not make the next invocation think otherwise.
      deps.logger.warn('failover notification failed', { error: describeError(e) });
      return { ok: false, error: describeError(e) };
    }
  });
  await recording;
  const notify = results.get('notify') as { ok?: unknown; error?: unknown } | undefined;
  const outcome: ExecutionOutcome = {
    resumed,
    switchedAt,
    completedAt: deps.now(),
    groups,
    regions,
    notified: notify?.ok === true,
  };
  if (typeof notify?.error === 'string') outcome.notifyError = notify.error;
  return outcome;
}

function timeOf(result: unknown): number | undefined {
  const at = (result as { at?: unknown } | undefined)?.at;
  return typeof at === 'string' ? Date.parse(at) : undefined;
}

/** The offsets step's result read back from the journal passes its schema; a bad one reports no groups. */
function groupsOf(result: unknown): GroupOffsetOutcome[] {
  const groups = (result as { groups?: unknown } | undefined)?.groups;
  const parsed = groupOffsetOutcomeSchema.array().safeParse(groups);
  return parsed.success ? parsed.data : [];
}
