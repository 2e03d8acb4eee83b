import type { Clock } from '../clock.ts';
import type { ClusterClient, FetchedRecord } from '../kafka/cluster-client.ts';
import { classifyKafkaError } from '../kafka/failure-reason.ts';
import {
  CheckpointReader,
  type Checkpoints,
  OffsetSyncReader,
  type OffsetSyncs,
} from '../kafka/mm2-internal-topics.ts';
import { decodeHeartbeatValue } from '../kafka/mm2-records.ts';
import type { Offset } from '../kafka/offset.ts';
import type { ReplicationPolicy } from '../kafka/replication-policy.ts';
import { type TopicPartition, tpKey } from '../kafka/topic-partition.ts';
import { isConnectionLevel, oneLine } from './cluster-probe.ts';
import type { Deadline } from './deadline.ts';
import type { ReplicationDirection } from './detection-policy.ts';
import type { ReplicationHealth, ReplicationReason } from './probe-result.ts';

/**
 * Replication of one direction (source → target), measured without consumer groups:
 *
 * - **Lag (seconds)**: the probe's canary is written to the source every cycle and mirrored by MM2 with its
 *   timestamp. The newest canary timestamp on the target is S; the first source canary newer than S (found with
 *   ListOffsets by timestamp) was written at U; lag = now − U, or 0 when the source holds nothing newer. That is
 *   how long the oldest not-yet-replicated canary has been waiting.
 * - **Backlog (records)**: per watched partition, source log end minus the next upstream offset MM2 will copy.
 *   The last offset sync (upstream u was written downstream at d) anchors it, and the target's progress since
 *   then counts forward: next = u + (targetEnd − d). Never "target end minus source end" (offsets diverge).
 *   Markers or compaction upstream make this over-estimate, never under-estimate, except briefly after an MM2
 *   restart re-sent records before emitting its first new sync.
 * - **Checkpoint lag (records)** per group: committed offset on the source minus the upstream offset of the last
 *   checkpoint for that partition: what the group would consume again after a failover.
 *
 * Offset syncs and checkpoints are read incrementally with readers kept in {@link ReplicationState} per
 * container, so each cycle reads only what MM2 appended.
 */
export interface ReplicationProbeInput {
  direction: ReplicationDirection;
  policy: ReplicationPolicy;
  /** Watched topics, as named on the source. */
  topics: readonly string[];
  groups: readonly string[];
  sourceCanaryTopic: string;
  remoteCanaryTopic: string;
}

export interface ReplicationProbeDeps {
  /** Undefined when the source cluster is down this cycle. */
  source?: ClusterClient;
  /** Undefined when the target cluster is down this cycle. */
  target?: ClusterClient;
  deadline: Deadline;
  clock: Pick<Clock, 'now'>;
  state: ReplicationState;
  /** Where a measurement that failed is reported (the result only says `measurement-failed`). */
  onProblem?: (what: string, detail: string) => void;
}

export interface ReplicationProbeOutcome {
  health: ReplicationHealth;
  sourceFailed: boolean;
  targetFailed: boolean;
}

/** Per-direction memory across cycles: incremental readers and the last complete measurement. */
export class ReplicationState {
  readonly offsetSyncReaders = new Map<string, OffsetSyncReader>();
  /** Where offset syncs were found last time ('target' is the DR-sane location, KIP-716). */
  offsetSyncsLocation: 'target' | 'source' | undefined;
  checkpointReader: CheckpointReader | undefined;
  checkpointReaderKey: string | undefined;
  lastGood: { measuredAt: string; lagSeconds?: number; backlogRecords?: number } | undefined;

  offsetSyncReader(topic: string): OffsetSyncReader {
    let reader = this.offsetSyncReaders.get(topic);
    if (!reader) {
      reader = new OffsetSyncReader(topic);
      this.offsetSyncReaders.set(topic, reader);
    }
    return reader;
  }

  checkpoints(topic: string, groups: readonly string[]): CheckpointReader {
    const key = `${topic}\u0000${[...groups].sort().join(',')}`;
    if (!this.checkpointReader || this.checkpointReaderKey !== key) {
      this.checkpointReader = new CheckpointReader(topic, { groups });
      this.checkpointReaderKey = key;
    }
    return this.checkpointReader;
  }
}

/** Metadata answers younger than this are reused within a cycle (the cluster probe just fetched them). */
const METADATA_REUSE_MS = 5_000;
/** How far back from the end the newest canary is looked for (transaction markers, if MM2 uses EOS). */
const TAIL_RECORDS = 5;

type Side = 'source' | 'target';

export async function measureReplication(
  input: ReplicationProbeInput,
  deps: ReplicationProbeDeps,
): Promise<ReplicationProbeOutcome> {
  const { direction } = input;
  const { deadline, clock, state } = deps;
  const reasons = new Set<ReplicationReason>();
  const failed = { source: false, target: false };
  const measuredAt = new Date(clock.now()).toISOString();

  const base = {
    source: direction.source,
    target: direction.target,
    sourceAlias: direction.sourceAlias,
    targetAlias: direction.targetAlias,
    measuredAt,
  };
  const { target, source } = deps;
  if (!target) {
    return {
      health: {
        ...base,
        topics: [],
        groups: [],
        reasons: ['target-down', ...(source ? [] : (['source-down'] as const))],
        ...(state.lastGood ? { lastGood: state.lastGood } : {}),
      },
      sourceFailed: false,
      targetFailed: false,
    };
  }
  if (!source) reasons.add('source-down');

  /** Run a step on one side; a failure is classified, noted, and turns into `undefined`. */
  const on = async <T>(
    side: Side,
    what: string,
    work: (c: ClusterClient) => Promise<T>,
  ): Promise<T | undefined> => {
    const client = side === 'source' ? source : target;
    if (!client) return undefined;
    try {
      return await deadline.run(`${what} (${side})`, () => work(client));
    } catch (e: unknown) {
      const reason = classifyKafkaError(e);
      if (isConnectionLevel(reason)) failed[side] = true;
      reasons.add(reason === 'timeout' ? 'incomplete' : 'measurement-failed');
      deps.onProblem?.(
        `${what} on the ${side} (${direction.sourceAlias} -> ${direction.targetAlias})`,
        oneLine(e),
      );
      return undefined;
    }
  };

  const [lag, heartbeatAgeSeconds, backlog, groups] = await Promise.all([
    measureCanaryLag(input, on, clock, reasons),
    measureHeartbeatAge(input, on, clock),
    measureBacklog(input, on, state, deadline, reasons),
    measureCheckpointLag(input, on, state, deadline, reasons),
  ]);

  const health: ReplicationHealth = {
    ...base,
    ...(lag.lagSeconds === undefined ? {} : { lagSeconds: lag.lagSeconds }),
    ...(lag.canaryAgeSeconds === undefined ? {} : { canaryAgeSeconds: lag.canaryAgeSeconds }),
    ...(heartbeatAgeSeconds === undefined ? {} : { heartbeatAgeSeconds }),
    ...(backlog.total === undefined ? {} : { backlogRecords: backlog.total }),
    topics: backlog.topics,
    groups,
    reasons: [...reasons],
  };
  const complete =
    health.lagSeconds !== undefined && health.backlogRecords !== undefined && !reasons.has('incomplete');
  if (complete && source) {
    state.lastGood = {
      measuredAt,
      ...(health.lagSeconds === undefined ? {} : { lagSeconds: health.lagSeconds }),
      ...(health.backlogRecords === undefined ? {} : { backlogRecords: health.backlogRecords }),
    };
  } else if (state.lastGood) {
    health.lastGood = state.lastGood;
  }
  return { health, sourceFailed: failed.source, targetFailed: failed.target };
}

type On = <T>(side: Side, what: string, work: (c: ClusterClient) => Promise<T>) => Promise<T | undefined>;

async function partitionsOf(c: ClusterClient, topic: string): Promise<TopicPartition[] | undefined> {
  const md = await c.metadata([topic], { maxAgeMs: METADATA_REUSE_MS });
  const info = md.topics.get(topic);
  if (!info || info.error === 'UNKNOWN_TOPIC_OR_PARTITION' || info.partitions.length === 0) return undefined;
  return info.partitions.map((p) => ({ topic, partition: p.partition }));
}

/** The newest record (by offset) at the end of each partition, looking back a few offsets. */
async function newestRecords(
  c: ClusterClient,
  partitions: readonly TopicPartition[],
): Promise<Map<number, FetchedRecord>> {
  const ends = await c.listOffsets(partitions, 'latest');
  const wanted = ends.filter((e) => e.offset !== undefined && e.offset > 0);
  const out = new Map<number, FetchedRecord>();
  if (wanted.length === 0) return out;
  const fetched = await c.fetch(
    wanted.map((e) => {
      const end = e.offset ?? 0;
      return {
        topic: e.topic,
        partition: e.partition,
        offset: end > TAIL_RECORDS ? end - TAIL_RECORDS : 0,
        maxBytes: 64 * 1024,
      };
    }),
  );
  for (const f of fetched) {
    const last = f.records[f.records.length - 1];
    if (last) out.set(f.partition, last);
  }
  return out;
}

async function measureCanaryLag(
  input: ReplicationProbeInput,
  on: On,
  clock: Pick<Clock, 'now'>,
  reasons: Set<ReplicationReason>,
): Promise<{ lagSeconds?: number; canaryAgeSeconds?: number }> {
  const seen = await on('target', 'canary freshness', async (t) => {
    const parts = await partitionsOf(t, input.remoteCanaryTopic);
    return parts ? { newest: await newestRecords(t, parts) } : { newest: undefined };
  });
  const out: { lagSeconds?: number; canaryAgeSeconds?: number } = {};
  if (seen === undefined) return out; // the step failed (already noted)
  if (seen.newest === undefined) {
    reasons.add('canary-not-replicated');
    return out;
  }
  const targetNewest = seen.newest;
  const now = clock.now();
  const newestTarget = Math.max(
    ...[...targetNewest.values()].map((r) => r.timestamp),
    Number.NEGATIVE_INFINITY,
  );
  if (Number.isFinite(newestTarget)) out.canaryAgeSeconds = Math.max(0, (now - newestTarget) / 1000);

  const waiting = await on('source', 'canary lag', async (s) => {
    const parts = await partitionsOf(s, input.sourceCanaryTopic);
    if (!parts) return [];
    // Per partition: the first source canary newer than the newest replicated one.
    const byTimestamp = new Map<number, TopicPartition[]>();
    for (const p of parts) {
      const seen = targetNewest.get(p.partition)?.timestamp;
      const from = seen === undefined ? 0 : seen + 1;
      byTimestamp.set(from, [...(byTimestamp.get(from) ?? []), p]);
    }
    const offsets = (
      await Promise.all([...byTimestamp].map(([ts, ps]) => s.listOffsets(ps, { timestamp: ts })))
    ).flat();
    const pending = offsets.filter((o) => o.offset !== undefined);
    if (pending.length === 0) return [];
    const fetched = await s.fetch(
      pending.map((o) => ({
        topic: o.topic,
        partition: o.partition,
        offset: o.offset ?? 0,
        maxBytes: 16 * 1024,
      })),
    );
    return fetched.map((f) => f.records[0]?.timestamp).filter((t): t is number => t !== undefined);
  });
  if (waiting !== undefined) {
    out.lagSeconds = waiting.length === 0 ? 0 : Math.max(0, (now - Math.min(...waiting)) / 1000);
  }
  return out;
}

async function measureHeartbeatAge(
  input: ReplicationProbeInput,
  on: On,
  clock: Pick<Clock, 'now'>,
): Promise<number | undefined> {
  const topic = input.policy.formatRemoteTopic(input.direction.sourceAlias, input.policy.heartbeatsTopic());
  const newest = await on('target', 'heartbeats', async (t) => {
    const parts = await partitionsOf(t, topic);
    if (!parts) return undefined;
    let best: number | undefined;
    for (const r of (await newestRecords(t, parts)).values()) {
      try {
        const ts = Number(decodeHeartbeatValue(r.value).timestamp);
        best = best === undefined ? ts : Math.max(best, ts);
      } catch {
        // Not a heartbeat: ignore it; heartbeats are an extra signal, the canary is the measure.
      }
    }
    return best;
  });
  return newest === undefined ? undefined : Math.max(0, (clock.now() - newest) / 1000);
}

interface BacklogOutcome {
  total?: number;
  topics: ReplicationHealth['topics'];
}

async function measureBacklog(
  input: ReplicationProbeInput,
  on: On,
  state: ReplicationState,
  deadline: Deadline,
  reasons: Set<ReplicationReason>,
): Promise<BacklogOutcome> {
  const { policy, direction } = input;
  if (input.topics.length === 0) return { total: 0, topics: [] };
  const remoteOf = (t: string) => policy.formatRemoteTopic(direction.sourceAlias, t);
  // Leave a little time for assembling the result: stop reading syncs 100 ms before the deadline.
  const shouldContinue = () => deadline.remainingMs() > 100;

  const [sourceOffsets, targetEnds, syncs] = await Promise.all([
    on('source', 'source offsets', async (s) => {
      const md = await s.metadata(input.topics, { maxAgeMs: METADATA_REUSE_MS });
      const parts = input.topics.flatMap((topic) =>
        (md.topics.get(topic)?.partitions ?? []).map((p) => ({ topic, partition: p.partition })),
      );
      const [ends, starts] = await Promise.all([
        s.listOffsets(parts, 'latest'),
        s.listOffsets(parts, 'earliest'),
      ]);
      return { parts, ends: toMap(ends), starts: toMap(starts) };
    }),
    on('target', 'target offsets', async (t) => {
      const remotes = input.topics.map(remoteOf);
      const md = await t.metadata(remotes, { maxAgeMs: METADATA_REUSE_MS });
      const parts = remotes.flatMap((topic) =>
        (md.topics.get(topic)?.partitions ?? []).map((p) => ({ topic, partition: p.partition })),
      );
      return {
        existing: new Set(remotes.filter((r) => (md.topics.get(r)?.partitions.length ?? 0) > 0)),
        ends: toMap(await t.listOffsets(parts, 'latest')),
      };
    }),
    readOffsetSyncs(input, on, state, shouldContinue),
  ]);
  if (!sourceOffsets || !targetEnds) return { topics: [] };
  if (syncs === undefined) reasons.add('offset-syncs-missing');
  else if (!syncs.complete) reasons.add('incomplete');

  const topics: ReplicationHealth['topics'] = [];
  let total = 0;
  for (const topic of input.topics) {
    const remoteTopic = remoteOf(topic);
    const remoteExists = targetEnds.existing.has(remoteTopic);
    if (!remoteExists) reasons.add('remote-topic-missing');
    let backlogRecords = 0;
    let partitions = 0;
    let partitionsWithoutSync = 0;
    for (const { partition } of sourceOffsets.parts.filter((p) => p.topic === topic)) {
      partitions += 1;
      const sourceEnd = sourceOffsets.ends.get(tpKey(topic, partition));
      const sourceStart = sourceOffsets.starts.get(tpKey(topic, partition)) ?? 0;
      if (sourceEnd === undefined) continue; // no leader: nothing readable, nothing measurable
      const sync = syncs?.byPartition.get(tpKey(topic, partition));
      const targetEnd = targetEnds.ends.get(tpKey(remoteTopic, partition));
      let next: Offset;
      if (sync && targetEnd !== undefined && targetEnd > sync.downstreamOffset) {
        next = sync.upstreamOffset + (targetEnd - sync.downstreamOffset);
      } else {
        if (!sync) partitionsWithoutSync += 1;
        // Nothing known replicated (or the target was recreated since the sync): everything readable is behind.
        next = sourceStart;
      }
      const behind = sourceEnd - (next > sourceStart ? next : sourceStart);
      if (behind > 0) backlogRecords += behind;
    }
    // No partitions on the source (the topic is missing, or metadata has not caught up with its creation):
    // say so rather than report a backlog of 0 that looks like "caught up".
    if (partitions === 0) reasons.add('source-topic-missing');
    total += backlogRecords;
    topics.push({ topic, remoteTopic, partitions, backlogRecords, partitionsWithoutSync });
  }
  return { total, topics };
}

/** Offset syncs from the target (`offset-syncs.topic.location=target`) or else the source (the default). */
async function readOffsetSyncs(
  input: ReplicationProbeInput,
  on: On,
  state: ReplicationState,
  shouldContinue: () => boolean,
): Promise<OffsetSyncs | undefined> {
  const { policy, direction } = input;
  // MirrorSourceConfig.offsetSyncsTopic(): the topic is named after the *other* cluster of the flow.
  const onTarget = policy.offsetSyncsTopicName(direction.sourceAlias);
  const onSource = policy.offsetSyncsTopicName(direction.targetAlias);
  const order: Side[] = state.offsetSyncsLocation === 'source' ? ['source', 'target'] : ['target', 'source'];
  for (const side of order) {
    const topic = side === 'target' ? onTarget : onSource;
    const syncs = await on(side, 'offset syncs', (c) =>
      state.offsetSyncReader(topic).read(c, { shouldContinue, metadataMaxAgeMs: METADATA_REUSE_MS }),
    );
    if (syncs?.exists) {
      state.offsetSyncsLocation = side;
      return syncs;
    }
  }
  return undefined;
}

async function measureCheckpointLag(
  input: ReplicationProbeInput,
  on: On,
  state: ReplicationState,
  deadline: Deadline,
  reasons: Set<ReplicationReason>,
): Promise<ReplicationHealth['groups']> {
  if (input.groups.length === 0) return [];
  const { policy, direction } = input;
  const topics = new Set(input.topics);
  const checkpointsTopic = policy.checkpointsTopic(direction.sourceAlias);
  const [checkpoints, committed, starts] = await Promise.all([
    on(
      'target',
      'checkpoints',
      (t): Promise<Checkpoints> =>
        state.checkpoints(checkpointsTopic, input.groups).read(t, {
          shouldContinue: () => deadline.remainingMs() > 100,
          metadataMaxAgeMs: METADATA_REUSE_MS,
        }),
    ),
    on(
      'source',
      'group offsets',
      async (s) =>
        new Map(
          await Promise.all(
            input.groups.map(
              async (g) => [g, (await s.groupOffsets(g)).filter((o) => topics.has(o.topic))] as const,
            ),
          ),
        ),
    ),
    on('source', 'source start offsets', async (s) => {
      const md = await s.metadata(input.topics, { maxAgeMs: METADATA_REUSE_MS });
      const parts = input.topics.flatMap((topic) =>
        (md.topics.get(topic)?.partitions ?? []).map((p) => ({ topic, partition: p.partition })),
      );
      return toMap(await s.listOffsets(parts, 'earliest'));
    }),
  ]);
  if (checkpoints && !checkpoints.exists) reasons.add('checkpoints-missing');
  if (checkpoints && !checkpoints.complete) reasons.add('incomplete');
  if (!checkpoints || !committed) return [];
  return input.groups.map((group) => {
    const byPartition = new Map(
      (checkpoints.byGroup.get(group) ?? []).map((c) => [tpKey(c.topic, c.partition), c]),
    );
    let lag = 0;
    let partitionsWithoutCheckpoint = 0;
    const offsets = committed.get(group) ?? [];
    for (const o of offsets) {
      if (o.offset === undefined) continue;
      const cp = byPartition.get(
        tpKey(policy.formatRemoteTopic(direction.sourceAlias, o.topic), o.partition),
      );
      if (!cp) partitionsWithoutCheckpoint += 1;
      const from = cp ? cp.upstreamOffset : (starts?.get(tpKey(o.topic, o.partition)) ?? 0);
      if (o.offset > from) lag += o.offset - from;
    }
    return {
      group,
      checkpointLagRecords: lag,
      partitions: offsets.length,
      partitionsWithoutCheckpoint,
    };
  });
}

function toMap(
  offsets: readonly { topic: string; partition: number; offset?: Offset }[],
): Map<string, Offset> {
  const m = new Map<string, Offset>();
  for (const o of offsets) if (o.offset !== undefined) m.set(tpKey(o.topic, o.partition), o.offset);
  return m;
}
