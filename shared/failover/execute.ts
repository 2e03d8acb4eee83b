import type { ActiveConfig, ClusterCredentials } from '../config/contract.ts';
import type { DeploymentPaths } from '../config/paths.ts';
import { describeError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Notifier, RegionOutcome } from '../notify/notification.ts';
import {
  commitGroupOffsets,
  type GroupOffsetOutcome,
  groupOffsetOutcomeSchema,
  type SecondaryGroupOffsets,
} from '../offsets/offset-translation.ts';
import { type Stores, writeActive } from '../store/active-config.ts';
import type { RunJournal } from '../store/dynamo-journal.ts';
import type { Redacted } from '../store/redacted.ts';
import type { SecretVersions } from '../store/stores.ts';
import type { Claim, EpochAuthority } from '../switch/epoch-authority.ts';
import {
  journaledMappingMoves,
  type MappingMove,
  type MoveMappingsInput,
} from '../switch/event-source-mappings.ts';
import { writeClaimed } from '../switch/fenced-write.ts';
import { credentialSources } from '../switch/refresh-credentials.ts';
import { switchedNotification } from './notification.ts';
import type { FailoverPlan } from './plan.ts';

/**
 * Execute a plan as journaled steps, one after the other: offsets; the claim of the plan's epoch from the epoch
 * authority; the secret, the parameter and the plain parameter (fenced: the claim and the lease are checked
 * before each write, each write is read back); the extra regions; notify. A step is recorded in the journal after
 * it succeeded and before the next one starts.
 *
 * A resumed run (its claim found in the authority) takes its claim over and writes all three stores again rather
 * than trusting its journal for them: a stalled writer's late write may have changed a store since. Every step is
 * idempotent (the same epoch and values; offsets only move forward), so an interruption anywhere ends in exactly
 * one switch.
 */

export interface ExecuteDeps {
  paths: DeploymentPaths;
  stores: Stores;
  regionStores(region: string): Stores;
  secondaryGroups: SecondaryGroupOffsets;
  journal: RunJournal;
  authority: EpochAuthority;
  /** The target's secret version goes into the claim, so a later rotation of it is noticed. */
  versions: SecretVersions;
  notifier: Notifier;
  /** The target cluster's credentials, read from its secret when needed (never from the journal). */
  readTargetCredentials(): Promise<Redacted<ClusterCredentials>>;
  clock: { now(): number };
  logger: Pick<Logger, 'info' | 'warn'>;
  /** Moves the config's Lambda event source mappings to the new cluster (shared/switch/event-source-mappings.ts). */
  moveMappings?: (input: MoveMappingsInput) => Promise<MappingMove[]>;
}

export interface ExecuteInput {
  plan: FailoverPlan;
  runId: string;
  holder: string;
  /** Steps already recorded by an earlier invocation, with their results. */
  done: ReadonlyArray<{ name: string; result: unknown }>;
  /** The authority's epoch the decision was made on (`undefined`: nothing was ever claimed). */
  expectedEpoch: number | undefined;
}

export interface ExecutionOutcome {
  resumed: boolean;
  /** When the active parameter was written (its `switchedAt`). */
  switchedAt: number;
  completedAt: number;
  groups: GroupOffsetOutcome[];
  regions: RegionOutcome[];
  /** One per configured Lambda event source mapping, as journaled. */
  eventSourceMappings: MappingMove[];
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
  const record = async (step: string, result: Omit<StepResult, 'at'>): Promise<void> => {
    const full: StepResult = { ...result, at: new Date(deps.clock.now()).toISOString() };
    await deps.journal.recordStep(runId, step, full, holder);
    results.set(step, full);
    deps.logger.info('failover step done', { step, runId });
  };

  if (!results.has('offsets')) {
    await record('offsets', { groups: await commitGroupOffsets(plan.offsets, deps.secondaryGroups) });
  }
  const credentials = await deps.readTargetCredentials();
  const { claim, config } = await writeStores(
    input,
    results.has('plain-parameters'),
    credentials,
    deps,
    record,
  );
  const switchedAt = Date.parse(config.switchedAt);

  for (const region of plan.regions) {
    if (results.has(`region:${region}`)) continue;
    await record(`region:${region}`, await writeRegion(region, claim, config, credentials, deps));
  }
  // Part of the claimed switch: each mapping is moved after the authority's check, and journaled.
  await deps.moveMappings?.({
    claim,
    target: config,
    done: (key) => results.has(key),
    onMoved: (key, move) => record(key, move),
  });
  const groups = groupsOf(results.get('offsets'));
  const regions = plan.regions.map((region): RegionOutcome => {
    const r = results.get(`region:${region}`) as { ok?: unknown; error?: unknown } | undefined;
    return r?.ok === true
      ? { region, ok: true }
      : { region, ok: false, error: typeof r?.error === 'string' ? r.error : 'not written' };
  });

  // Notify only once everything before is on record, so a resumed run never notifies twice.
  if (!results.has('notify')) {
    await record('notify', await notify(plan, { resumed, switchedAt, groups, regions }, deps));
  }
  const notified = results.get('notify') as { ok?: unknown; error?: unknown } | undefined;
  const outcome: ExecutionOutcome = {
    resumed,
    switchedAt,
    completedAt: deps.clock.now(),
    groups,
    regions,
    eventSourceMappings: journaledMappingMoves(results),
    notified: notified?.ok === true,
  };
  if (typeof notified?.error === 'string') outcome.notifyError = notified.error;
  return outcome;
}

/**
 * Claim the plan's epoch and write it to the stores, fenced. A run the authority already names (an earlier
 * invocation claimed its epoch) takes its claim over and writes all three stores again, unless that invocation
 * completed them (the authority says `written` and the journal has the last store step).
 */
async function writeStores(
  input: ExecuteInput,
  storesDone: boolean,
  credentials: Redacted<ClusterCredentials>,
  deps: ExecuteDeps,
  record: (step: string, result: Record<string, unknown>) => Promise<void>,
): Promise<{ claim: Claim; config: ActiveConfig }> {
  const { plan, runId, holder } = input;
  const current = await deps.authority.read();
  const ours = current?.epoch === plan.next.epoch && current.writer.runId === runId;
  if (ours && current.state === 'written' && storesDone) {
    return { claim: await deps.authority.takeOver(current, holder), config: current.config };
  }
  const claim = ours
    ? await deps.authority.takeOver(current, holder)
    : await deps.authority.claim({
        expected: input.expectedEpoch,
        epoch: plan.next.epoch,
        writer: { kind: 'failover', runId },
        holder,
        config: plan.next,
        credentials: await credentialSources(deps.versions, plan.credentialsSource),
      });
  await record('claim', { epoch: claim.record.epoch });
  const written = await writeClaimed(
    {
      claim,
      credentials: { active: credentials },
      onStep: (step, c) => record(step, { epoch: c.record.epoch }),
    },
    { authority: deps.authority, stores: deps.stores, paths: deps.paths, clock: deps.clock },
  );
  return written;
}

/**
 * One extra region, best effort: a region that cannot be written must not undo or block the switch that already
 * happened; it is recorded and reported, and an operator re-runs the write there. The claim is checked first, as
 * before every write.
 */
async function writeRegion(
  region: string,
  claim: Claim,
  config: ActiveConfig,
  credentials: Redacted<ClusterCredentials>,
  deps: ExecuteDeps,
): Promise<{ ok: boolean; error?: string }> {
  await deps.authority.check(claim);
  try {
    await writeActive(deps.regionStores(region), deps.paths, config, credentials);
    return { ok: true };
  } catch (e: unknown) {
    deps.logger.warn('failover could not write an extra region', { region, error: describeError(e) });
    return { ok: false, error: describeError(e) };
  }
}

async function notify(
  plan: FailoverPlan,
  done: { resumed: boolean; switchedAt: number; groups: GroupOffsetOutcome[]; regions: RegionOutcome[] },
  deps: ExecuteDeps,
): Promise<{ ok: boolean; messageId?: string; error?: string }> {
  const startedAt = Date.parse(plan.startedAt);
  const notification = switchedNotification({
    plan,
    resumed: done.resumed,
    switchMs: done.switchedAt - startedAt,
    durationMs: deps.clock.now() - startedAt,
    groups: done.groups,
    regions: done.regions,
  });
  try {
    const { messageId } = await deps.notifier.publish(notification);
    return { ok: true, ...(messageId ? { messageId } : {}) };
  } catch (e: unknown) {
    // The switch is done; a lost message must not make the next invocation think otherwise.
    deps.logger.warn('failover notification failed', { error: describeError(e) });
    return { ok: false, error: describeError(e) };
  }
}

/** The offsets step's result read back from the journal passes its schema; a bad one reports no groups. */
function groupsOf(result: unknown): GroupOffsetOutcome[] {
  const groups = (result as { groups?: unknown } | undefined)?.groups;
  const parsed = groupOffsetOutcomeSchema.array().safeParse(groups);
  return parsed.success ? parsed.data : [];
}
