import { type ActiveConfig, activeConfigFormat, type ClientRole } from '../config/contract.ts';
import type { DeploymentPaths } from '../config/paths.ts';
import type { ClusterRole, DeploymentConfig } from '../config/schema.ts';
import { topicRouting } from '../config/topic-mapping.ts';
import { describeError, RefusedError } from '../errors.ts';
import { tpKey } from '../kafka/topic-partition.ts';
import {
  commitGroupOffsets,
  type GroupOffsetOutcome,
  planGroupOffsets,
} from '../offsets/offset-translation.ts';
import {
  type ActiveWriteCredentials,
  type ClusterDefinition,
  readClusterDefinition,
  writeActive,
} from '../store/active-config.ts';
import { extraRegions } from '../store/regional-stores.ts';
import { describeAtRest, inspectAtRest, matchesAuthority } from '../switch/at-rest.ts';
import type { AuthorityRecord, Claim } from '../switch/epoch-authority.ts';
import { mappingKey } from '../switch/event-source-mappings.ts';
import { writeClaimed } from '../switch/fenced-write.ts';
import { credentialSources } from '../switch/refresh-credentials.ts';
import { translateCopiedGroups } from './copy-back.ts';
import { awaitGroupsIdle } from './groups-idle.ts';
import type { PhaseContext, PhaseOutcome } from './phase-context.ts';
import { copiesBack } from './phases.ts';
import { lastReplicatedPositions, offsetSyncsLocations } from './salvage.ts';
import type { FailbackState, RegionWrite } from './state.ts';

/**
 * Switch: clients back to the primary in two fenced stages (each epoch + 1, written secret → parameter → plain
 * parameters like failover). Stage 1 moves the first role of `failback.switchOrder` and keeps the other role on the
 * secondary through the active configuration's `holdback`, the secondary's credentials going into the
 * active-credentials secret's `holdback` in the same write (applications may read only the active secret, never
 * the operator's cluster secrets); stage 2, `failback.switchStageSeconds` later, moves everyone. Consumers move
 * with their offsets translated back from the reverse mirror's checkpoints on the primary (committed where the
 * group has no members there and is behind, like failover does on the secondary).
 *
 * The moment producers move is the cut: the primary's log ends then are journaled, and the forward mirror
 * restarts there (restore), so it copies what clients write to the primary and not what the reverse mirror wrote.
 *
 * After each stage's home-region write, the same epoch (holdback included) goes to each extra region of the
 * config, like failover does: best effort, since a region that cannot be written must not undo or hold up the
 * switch the home region already made; its outcome is journaled per stage (a resumed invocation skips a region
 * that has one) and reported in the phase summary and the notification.
 */
export async function runSwitch(ctx: PhaseContext): Promise<PhaseOutcome> {
  const { deps, state } = ctx;
  const { config, stores, paths } = deps;
  const order: ClientRole[] =
    config.failback.switchOrder === 'consumers-first'
      ? ['consumers', 'producers']
      : ['producers', 'consumers'];
  state.switch ??= { stagesWritten: 0, epochs: [], groups: [], regions: [] };
  const sw = state.switch;
  const regions = extraRegions(config.regions, deps.homeRegion);
  const [primaryDef, secondaryDef] = await Promise.all([
    readClusterDefinition(stores, paths, 'primary', secretOf(config, paths, 'primary')),
    readClusterDefinition(stores, paths, 'secondary', secretOf(config, paths, 'secondary')),
  ]);

  for (let stage = sw.stagesWritten + 1; stage <= 2; stage += 1) {
    const epoch = state.startEpoch + stage;
    const role = order[stage - 1] as ClientRole;
    const credentials: ActiveWriteCredentials = {
      active: primaryDef.credentials,
      ...(stage === 1 ? { holdback: secondaryDef.credentials } : {}),
    };
    const standing = await stageStanding(ctx, stage, epoch);
    let written: { claim: Claim; config: ActiveConfig };
    if (standing.kind === 'ours') {
      // An earlier invocation of this failback claimed this stage's epoch: finish its write, or reuse it.
      const claim = await deps.authority.takeOver(standing.record, ctx.holder);
      written =
        standing.record.state === 'written' && standing.atRestMatches
          ? {
              claim: await deps.authority.complete(
                claim,
                standing.record.writtenAt ?? new Date(deps.clock.now()).toISOString(),
              ),
              config: standing.record.config,
            }
          : await writeClaimed({ claim, credentials }, fencedDeps(ctx));
    } else {
      const ready = await beforeStage(ctx, sw, stage, role);
      if (ready !== undefined) return ready;
      const next = activeConfigFor(config, {
        epoch,
        primary: primaryDef,
        activeCredentialsSecret: paths.activeCredentialsSecret,
        reason: `failback ${state.runId} stage ${stage}/2 (${role} to the primary): ${state.reason}`,
        switchedAt: new Date(deps.clock.now()).toISOString(),
        holdback: stage === 1 ? { role: order[1] as ClientRole, secondary: secondaryDef } : undefined,
      });
      const claim = await deps.authority.claim({
        expected: standing.expected,
        epoch,
        writer: { kind: 'failback', runId: state.runId },
        holder: ctx.holder,
        config: next,
        credentials: await credentialSources(
          deps.versions,
          secretOf(config, paths, 'primary'),
          stage === 1 ? secretOf(config, paths, 'secondary') : undefined,
        ),
      });
      written = await writeClaimed({ claim, credentials }, fencedDeps(ctx));
      deps.logger.info('failback switch: stage written', { stage, epoch, moved: role });
    }
    await writeExtraRegions(ctx, sw, regions, { stage, epoch }, written, credentials);
    if (role === 'consumers') await moveMappings(ctx, sw, written);
    sw.stagesWritten = stage;
    sw.epochs = [...new Set([...sw.epochs, epoch])];
    if (stage === 1) sw.firstStageAt ??= new Date(deps.clock.now()).toISOString();
    await ctx.save();
  }
  return {
    kind: 'done',
    summary: {
      order: config.failback.switchOrder,
      epochs: sw.epochs,
      groups: sw.groups,
      producerCut: sw.producerCut,
      regions: sw.regions.map(({ region, stage, epoch, ok, error }) => ({
        region,
        stage,
        epoch,
        ok,
        ...(error === undefined ? {} : { error }),
      })),
      ...(sw.eventSourceMappings === undefined ? {} : { eventSourceMappings: sw.eventSourceMappings }),
    },
  };
}

/** The Lambda event source mappings follow the consumers, under this stage's claim; each outcome is journaled. */
async function moveMappings(
  ctx: PhaseContext,
  sw: NonNullable<FailbackState['switch']>,
  written: { claim: Claim; config: ActiveConfig },
): Promise<void> {
  await ctx.deps.moveMappings?.({
    claim: written.claim,
    target: written.config,
    done: (key) => (sw.eventSourceMappings ?? []).some((m) => mappingKey(m) === key),
    onMoved: async (_key, move) => {
      sw.eventSourceMappings = [...(sw.eventSourceMappings ?? []), move];
      await ctx.save();
    },
  });
}

/**
 * One stage's epoch into each extra region that has no outcome for this stage yet, journaling each outcome as it
 * comes.
 */
async function writeExtraRegions(
  ctx: PhaseContext,
  sw: NonNullable<FailbackState['switch']>,
  regions: readonly string[],
  step: { stage: number; epoch: number },
  written: { claim: Claim; config: ActiveConfig },
  credentials: ActiveWriteCredentials,
): Promise<void> {
  const { deps } = ctx;
  for (const region of regions) {
    if (sw.regions.some((r) => r.region === region && r.stage === step.stage)) continue;
    // The claim is checked before this write too: a failback that lost its lease writes no region either.
    await deps.authority.check(written.claim);
    let outcome: Pick<RegionWrite, 'ok' | 'error'>;
    try {
      await writeActive(deps.regionStores(region), deps.paths, written.config, credentials);
      outcome = { ok: true };
      deps.logger.info('failback switch: extra region written', { region, ...step });
    } catch (e: unknown) {
      outcome = { ok: false, error: describeError(e) };
      deps.logger.warn('failback switch could not write an extra region', {
        region,
        ...step,
        error: outcome.error,
      });
    }
    const at = new Date(deps.clock.now()).toISOString();
    sw.regions = [...sw.regions, { region, ...step, ...outcome, at }];
    await ctx.save();
  }
}

type Standing =
  /** This failback claimed the stage's epoch in an earlier invocation. */
  | { kind: 'ours'; record: AuthorityRecord; atRestMatches: boolean }
  /** The stage's starting point holds: claim the stage's epoch from `expected`. */
  | { kind: 'ready'; expected: number | undefined };

/**
 * Where the stage stands against the epoch authority. A stage is written only from its own starting point, as the
 * authority records it and as the stores hold it: stage 1 from the failover's epoch on the secondary, stage 2 from
 * this failback's stage 1. Anything else (another writer's epoch, a torn or absent configuration) is refused with
 * what was found; nothing is written.
 */
async function stageStanding(ctx: PhaseContext, stage: number, epoch: number): Promise<Standing> {
  const { deps, state } = ctx;
  const [record, atRest] = await Promise.all([deps.authority.read(), inspectAtRest(deps.stores, deps.paths)]);
  if (record?.epoch === epoch && record.writer.runId === state.runId) {
    return { kind: 'ours', record, atRestMatches: matchesAuthority(atRest, record) };
  }
  const from = epoch - 1;
  const expectedStart =
    stage === 1
      ? `epoch ${from} on the secondary (the failover this failback undoes)`
      : `epoch ${from} (this failback's first stage)`;
  if (record === undefined) {
    // Nothing was ever claimed (a failover by a version before the epoch authority): stage 1 may claim the first
    // epoch, from exactly the failback's starting point at rest.
    const { parameter, secret } = atRest;
    const atStart =
      stage === 1 &&
      parameter.state === 'ok' &&
      secret.state === 'ok' &&
      parameter.epoch === from &&
      secret.epoch === from &&
      parameter.cluster === 'secondary' &&
      secret.cluster === 'secondary' &&
      atRest.plainMatches;
    if (atStart) return { kind: 'ready', expected: undefined };
    throw switchRefused(
      parameter.state === 'absent' && secret.state === 'absent'
        ? 'active-configuration-absent'
        : 'active-configuration-not-consistent',
      `expected the active configuration at ${expectedStart}, found ${describeAtRest(atRest)}`,
    );
  }
  const startsHere = stage === 1 ? record.cluster === 'secondary' : record.writer.runId === state.runId;
  if (record.epoch !== from || !startsHere) {
    throw switchRefused(
      'active-epoch-moved',
      `expected the epoch authority at ${expectedStart}, found epoch ${record.epoch} on ${record.cluster} (${record.writer.kind} ${record.writer.runId}): someone else switched; check, then run failback again`,
    );
  }
  if (record.state !== 'written' || !matchesAuthority(atRest, record)) {
    throw switchRefused(
      'active-configuration-not-consistent',
      `the epoch authority holds ${expectedStart}, but the stores hold ${describeAtRest(atRest)}: run mm2-failover repair, then failback again`,
    );
  }
  return { kind: 'ready', expected: from };
}

function switchRefused(code: string, message: string): RefusedError {
  return new RefusedError('failback switch', [{ code, message }]);
}

/**
 * What must happen before a stage is claimed: the pause between the stages, the consumer groups idle on the
 * primary and translated back (consumers' stage), the producer cut (producers' stage). Returns the phase outcome
 * when the invocation's deadline comes first.
 */
async function beforeStage(
  ctx: PhaseContext,
  sw: NonNullable<FailbackState['switch']>,
  stage: number,
  role: ClientRole,
): Promise<PhaseOutcome | undefined> {
  const { deps } = ctx;
  const { config } = deps;
  if (stage === 2 && sw.firstStageAt !== undefined) {
    const waitMs = Date.parse(sw.firstStageAt) + config.failback.switchStageSeconds * 1000 - deps.clock.now();
    if (waitMs > 0) {
      if (waitMs > ctx.remainingMs()) {
        return {
          kind: 'deadline',
          summary: { stagesWritten: sw.stagesWritten, secondStageInSeconds: Math.ceil(waitMs / 1000) },
        };
      }
      await ctx.pause(waitMs);
    }
  }
  if (role === 'consumers') {
    const idle = await awaitGroupsIdle(ctx, sw);
    if (idle.kind === 'deadline') {
      return {
        kind: 'deadline',
        summary: {
          stagesWritten: sw.stagesWritten,
          waitingForGroups: idle.busy,
          giveUpInSeconds: idle.secondsLeft,
        },
      };
    }
    if (copiesBack(config)) {
      const copied = await translateCopiedGroups(ctx);
      if (copied.kind === 'copying') return copied.outcome;
      sw.groups = copied.groups;
    } else {
      sw.groups = summarise(await translateGroupsBack(ctx));
    }
  }
  if (role === 'producers') {
    sw.producerCut = Object.fromEntries(
      (await deps.primary.offsets(config.topics)).map((o) => [tpKey(o.topic, o.partition), o.high]),
    );
    if (!copiesBack(config)) {
      const reverse = await lastReplicatedPositions(
        ctx.mirror,
        'reverse',
        offsetSyncsLocations(ctx, 'reverse'),
      );
      sw.reverseAtCut = Object.fromEntries(reverse.positions);
    }
  }
  await ctx.save();
  return undefined;
}

function secretOf(config: DeploymentConfig, paths: DeploymentPaths, role: ClusterRole): string {
  return config.clusters[role].secretArn ?? paths.clusterSecret(role);
}

function fencedDeps(ctx: PhaseContext) {
  const { authority, stores, paths, clock } = ctx.deps;
  return { authority, stores, paths, clock };
}

export function activeConfigFor(
  config: DeploymentConfig,
  o: {
    epoch: number;
    primary: ClusterDefinition;
    activeCredentialsSecret: string;
    reason: string;
    switchedAt: string;
    /** The role kept on the secondary; its credentials go into the active-credentials secret (see runSwitch). */
    holdback: { role: ClientRole; secondary: ClusterDefinition } | undefined;
  },
): ActiveConfig {
  const p = o.primary.parameter;
  const next: ActiveConfig = {
    epoch: o.epoch,
    cluster: 'primary',
    alias: config.clusters.primary.alias,
    bootstrapServers: p.bootstrapServers,
    securityProtocol: p.securityProtocol,
    ...(p.sasl ? { sasl: p.sasl } : {}),
    credentialsSecret: o.activeCredentialsSecret,
    format: activeConfigFormat,
    routing: topicRouting(config, 'primary'),
    switchedAt: o.switchedAt,
    reason: o.reason.slice(0, 1000),
  };
  if (o.holdback !== undefined) {
    const s = o.holdback.secondary.parameter;
    next.holdback = {
      role: o.holdback.role,
      cluster: 'secondary',
      alias: config.clusters.secondary.alias,
      bootstrapServers: s.bootstrapServers,
      securityProtocol: s.securityProtocol,
      ...(s.sasl ? { sasl: s.sasl } : {}),
      // The held-back role's credentials live in the active-credentials secret too, under `holdback`.
      credentialsSecret: o.activeCredentialsSecret,
      routing: topicRouting(config, 'secondary'),
    };
  }
  return next;
}

/**
 * Offsets translated back with the same translation as failover's (MirrorClient semantics), seen from the primary:
 * the config's roles swapped, so "the secondary side" is the primary, and the primary cluster adapter reads the
 * reverse mirror's `<secondary alias>.checkpoints.internal`.
 */
async function translateGroupsBack(ctx: PhaseContext): Promise<GroupOffsetOutcome[]> {
  const { config, primary } = ctx.deps;
  const swapped: DeploymentConfig = {
    ...config,
    clusters: { primary: config.clusters.secondary, secondary: config.clusters.primary },
  };
  const plans = await planGroupOffsets(swapped, primary);
  return commitGroupOffsets(plans, primary);
}

function summarise(outcomes: GroupOffsetOutcome[]) {
  return outcomes.map((o) => ({
    group: o.group,
    committed: o.committed.length,
    untranslated: [],
    ...(o.outcome === 'committed' || o.outcome === 'up-to-date' ? {} : { skipped: o.error ?? o.outcome }),
  }));
}
