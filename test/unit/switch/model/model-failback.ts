import type { FailbackDeps, PhaseContext } from '#shared/failback/phase-context.ts';
import type { FailbackState } from '#shared/failback/state.ts';
import { runSwitch } from '#shared/failback/switch.ts';
import type { FailoverDeps } from '#shared/failover/failover.ts';
import type { RunJournal } from '#shared/store/dynamo-journal.ts';
import { MemoryCluster, MemoryMirror } from '../../failback/fakes.ts';
import type { FakeClock } from '../../failover/fakes.ts';
import type { Scheduler } from './model-scheduler.ts';

/**
 * The smallest failback the switch phase needs: every phase before it done (clusters empty, mirrors idle), its
 * state resumed from what the run journal last held (a crash after a stage's write but before its save resumes
 * through the authority's `ours` path, as a real retry does), every store, authority, lock and journal call
 * through the scheduler's gates.
 */

/** An invocation may start work for this long (the failback function's budget, less its margin). */
const BUDGET_MS = 600_000;
/** The real pause journals at least this often (LEASE_RENEW_MS), so a pause never lets the lease run out. */
const PAUSE_SLICE_MS = 30_000;

export interface FailbackSwitchRun {
  /** The run's state as the journal last saved it: undefined until the run began. */
  durable: FailbackState | undefined;
}

/**
 * One invocation of failback's switch phase as `holder`: take the lock, begin the run (recording the failover's
 * epoch it undoes) once the secondary is active, run the switch, release. Returns quietly when the secondary is not
 * active yet (nothing to fail back from).
 */
export async function invokeFailbackSwitch(o: {
  run: FailbackSwitchRun;
  /** The run's id, distinct per actor: `<start epoch>-<suffix>`. */
  suffix: string;
  holder: string;
  deps: FailoverDeps;
  journal: RunJournal;
  sched: Scheduler;
  clock: FakeClock;
}): Promise<void> {
  const { deps, holder } = o;
  await deps.lock.acquire(holder, 'failback: model');
  try {
    await switchPhase(o);
  } finally {
    // As runFailback does: the lock goes back whatever happened; a release that fails leaves the lease to run out.
    await deps.lock.release(holder).catch(() => {});
  }
}

async function switchPhase(o: Parameters<typeof invokeFailbackSwitch>[0]): Promise<void> {
  const { deps, journal, holder, run, sched, clock } = o;
  const invokedAt = clock.now();
  if (run.durable === undefined) {
    const record = await deps.authority.read();
    if (record?.cluster !== 'secondary' || record.state !== 'written') return;
    const state: FailbackState = {
      runId: `${String(record.epoch).padStart(10, '0')}-${o.suffix}`,
      mode: 'active-passive',
      startedAt: new Date(clock.now()).toISOString(),
      requestedBy: 'model',
      reason: 'model',
      startEpoch: record.epoch,
      completed: ['prepare', 'salvage', 'reverse', 'purge', 'catch-up'],
      mirrorConfirmed: [],
    };
    await journal.begin(state.runId, state, holder);
    run.durable = structuredClone(state);
  }
  const state = structuredClone(run.durable);
  const primary = new MemoryCluster('primary');
  const secondary = new MemoryCluster('secondary');
  for (const topic of deps.config.topics) {
    primary.createTopic(topic, 1);
    secondary.createTopic(topic, 1);
  }
  const mirror = new MemoryMirror(primary, secondary, deps.config.topics);
  const failbackDeps: FailbackDeps = {
    config: deps.config,
    paths: deps.paths,
    stores: deps.stores,
    regionStores: deps.regionStores,
    homeRegion: deps.homeRegion,
    primary,
    secondary,
    mirror: () => mirror,
    authority: deps.authority,
    versions: deps.versions,
    clock,
    sleep: (ms) => sched.wait(holder, clock.now() + ms),
    logger: { info: () => {}, warn: () => {} },
  };
  const save = async () => {
    const snapshot = structuredClone(state);
    await journal.recordStep(state.runId, 'switch', snapshot, holder);
    run.durable = snapshot;
  };
  const ctx: PhaseContext = {
    deps: failbackDeps,
    holder,
    request: { action: 'failback', requestedBy: 'model', reason: 'model' } as PhaseContext['request'],
    state,
    mirror,
    save,
    remainingMs: () => invokedAt + BUDGET_MS - clock.now(),
    pause: async (ms) => {
      const until = clock.now() + ms;
      while (clock.now() < until) {
        await sched.wait(holder, Math.min(until, clock.now() + PAUSE_SLICE_MS));
        await save();
      }
    },
  };
  await runSwitch(ctx);
}
