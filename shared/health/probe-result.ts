import * as z from 'zod';
import { failureReasons } from '../kafka/failure-reason.ts';
import { activeObservationSchema } from './active-watch.ts';

/**
 * What one probe cycle found, as logged, returned by the probe function, and stored (compacted, < 4 KB) in the
 * SSM parameter `deploymentPaths(name).lastProbeParameter` for the status function and the failover preflight.
 * Readers parse it with {@link probeResultSchema} (it is input from outside once it has been through SSM).
 */

const verdicts = ['up', 'degraded', 'down'] as const;
export type Verdict = (typeof verdicts)[number];

const role = z.enum(['primary', 'secondary']);
const nonNegInt = z.int().min(0);
const ms = z.number().min(0);

/** The canary has one partition per broker; a longer list would only crowd the stored result. */
export const MAX_UNWRITABLE = 12;

const canaryResultSchema = z
  .object({
    /** The canary topic on this cluster. */
    topic: z.string(),
    partitions: nonNegInt,
    /** Partitions that acknowledged the canary (with acks=all, or with acks=1 as counted in `leaderOnly`). */
    written: nonNegInt,
    /**
     * Of `written`, partitions whose leader took the canary only with acks=1: acks=all stalled on a replica still
     * in the ISR (typically a broker that died and is not fenced yet). Writes work with reduced durability.
     */
    leaderOnly: nonNegInt.optional(),
    /** written / partitions (0 when the canary could not be written at all). */
    writableRatio: z.number().min(0).max(1),
    /** Time to acks=all for the produce request(s). */
    latencyMs: ms.optional(),
    /** The probe created the canary topic in this cycle. */
    created: z.boolean(),
    /**
     * The partitions the canary could not be written to, and why (`BROKER_NOT_AVAILABLE` with the leader that could
     * not be reached, or the broker's error): the degraded part of a cluster that still takes writes elsewhere.
     */
    unwritable: z
      .array(
        z.object({ partition: nonNegInt, error: z.string().max(60), leader: z.int().optional() }).strict(),
      )
      .max(MAX_UNWRITABLE)
      .optional(),
  })
  .strict();

const clusterHealthSchema = z
  .object({
    role,
    alias: z.string(),
    verdict: z.enum(verdicts),
    /** Machine-readable, most severe first; empty when `up`. */
    reasons: z.array(z.enum(failureReasons)),
    /** The first error, in one line (host:port and Kafka error names; never credentials). */
    detail: z.string().max(300).optional(),
    /** Wall time of this cluster's probe. */
    latencyMs: ms,
    brokersAlive: nonNegInt,
    expectedBrokers: z.int().min(1),
    /** Partitions of the watched topics (and the canary): how many, without a leader, with ISR < replicas. */
    partitions: z.object({ watched: nonNegInt, leaderless: nonNegInt, underReplicated: nonNegInt }).strict(),
    /** Watched topics the cluster does not have. */
    missingTopics: z.array(z.string()),
    canary: canaryResultSchema.optional(),
  })
  .strict();
export type ClusterHealth = z.output<typeof clusterHealthSchema>;

const replicationReasons = [
  /** The source cluster did not answer: lag and backlog cannot be measured; `lastGood` holds the last. */
  'source-down',
  /** The target cluster did not answer: nothing measured. */
  'target-down',
  /** The replicated canary topic is absent on the target (MM2 not replicating it, or not yet). */
  'canary-not-replicated',
  /** No offset-syncs topic on either cluster: backlog is estimated from the whole log. */
  'offset-syncs-missing',
  /** A watched topic has no mirrored copy on the target. */
  'remote-topic-missing',
  /** A watched topic does not exist on the source: its backlog is not measured (it counts 0 partitions). */
  'source-topic-missing',
  /** No checkpoints topic on the target while consumer groups are configured. */
  'checkpoints-missing',
  /** The cycle deadline cut a measurement short. */
  'incomplete',
  /** A measurement failed for another reason (see the log). */
  'measurement-failed',
] as const;
export type ReplicationReason = (typeof replicationReasons)[number];

const topicBacklogSchema = z
  .object({
    topic: z.string(),
    remoteTopic: z.string(),
    partitions: nonNegInt,
    /** Source records not yet replicated, summed over partitions (see replication-probe.ts for how). */
    backlogRecords: nonNegInt,
    /** Partitions for which MM2 has not written an offset sync yet. */
    partitionsWithoutSync: nonNegInt,
  })
  .strict();

const groupCheckpointLagSchema = z
  .object({
    group: z.string(),
    /** Σ over partitions of (committed offset on the source − upstream offset of the last checkpoint). */
    checkpointLagRecords: nonNegInt,
    partitions: nonNegInt,
    partitionsWithoutCheckpoint: nonNegInt,
  })
  .strict();

const replicationHealthSchema = z
  .object({
    source: role,
    target: role,
    sourceAlias: z.string(),
    targetAlias: z.string(),
    measuredAt: z.iso.datetime(),
    /** How long the oldest canary the source holds but the target does not has been waiting (0: caught up). */
    lagSeconds: z.number().min(0).optional(),
    /** Age of the newest canary on the target (measurable with the source down). */
    canaryAgeSeconds: z.number().min(0).optional(),
    /** Age of the newest replicated MM2 heartbeat on the target, when heartbeats reach it. */
    heartbeatAgeSeconds: z.number().min(0).optional(),
    /** Σ backlog of the watched topics. */
    backlogRecords: nonNegInt.optional(),
    topics: z.array(topicBacklogSchema),
    /** Topics left out of `topics` to keep the stored result small (the largest backlogs are kept). */
    topicsOmitted: nonNegInt.optional(),
    groups: z.array(groupCheckpointLagSchema),
    reasons: z.array(z.enum(replicationReasons)),
    /** The last complete measurement, kept while the source is unreachable (for the failover RPO estimate). */
    lastGood: z
      .object({
        measuredAt: z.iso.datetime(),
        lagSeconds: z.number().min(0).optional(),
        backlogRecords: nonNegInt.optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type ReplicationHealth = z.output<typeof replicationHealthSchema>;

export const probeResultSchema = z
  .object({
    version: z.literal(1),
    deployment: z.string(),
    /** Cycle number within the container (0 after a cold start). */
    cycle: nonNegInt,
    startedAt: z.iso.datetime(),
    durationMs: ms,
    deadlineMs: z.int().min(1),
    clusters: z.object({ primary: clusterHealthSchema, secondary: clusterHealthSchema }).strict(),
    /** One entry per replication direction (two in active-active). */
    replication: z.array(replicationHealthSchema),
    /** What the active configuration's stores hold against the epoch authority (absent: not looked at). */
    active: activeObservationSchema.optional(),
    /**
     * The primary's down streak the direct failover trigger counts (absent: the primary was not down). Stored so
     * that a probe in a new container continues a streak across the boundary between two invocations.
     */
    downStreak: z
      .object({
        /** Start of the streak's first down cycle. */
        since: z.iso.datetime(),
        /** Down cycles in the streak. */
        cycles: z.int().min(1),
        /** The probe asked the failover function to switch during this streak. */
        requested: z.boolean().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type ProbeResult = z.output<typeof probeResultSchema>;

/** SSM Standard parameters hold 4 KB. */
const LAST_PROBE_MAX_BYTES = 4096;

/**
 * The result as stored in the last-probe parameter: the same schema, made to fit 4 KB by keeping the topics
 * with the largest backlog (totals stay exact) and, if still too big, dropping groups and details.
 */
export function toLastProbeJson(result: ProbeResult, maxBytes = LAST_PROBE_MAX_BYTES): string {
  const size = (r: ProbeResult): number => Buffer.byteLength(JSON.stringify(r));
  let current: ProbeResult = structuredClone(result);
  if (size(current) <= maxBytes) return JSON.stringify(current);

  const keepTopics = (n: number): ProbeResult => ({
    ...current,
    replication: current.replication.map((r) => {
      const sorted = [...r.topics].sort((a, b) => b.backlogRecords - a.backlogRecords);
      const kept = sorted.slice(0, n);
      const omitted = r.topics.length - kept.length + (r.topicsOmitted ?? 0);
      return { ...r, topics: kept, ...(omitted > 0 ? { topicsOmitted: omitted } : {}) };
    }),
  });
  for (const n of [20, 10, 5, 2, 0]) {
    const candidate = keepTopics(n);
    if (size(candidate) <= maxBytes) return JSON.stringify(candidate);
  }
  current = keepTopics(0);
  current = {
    ...current,
    replication: current.replication.map((r) => ({ ...r, groups: r.groups.slice(0, 5) })),
  };
  if (size(current) <= maxBytes) return JSON.stringify(current);
  const clusters = Object.fromEntries(
    Object.entries(current.clusters).map(([k, c]) => {
      const { detail: _detail, ...rest } = c;
      return [k, { ...rest, missingTopics: c.missingTopics.slice(0, 3) }];
    }),
  ) as ProbeResult['clusters'];
  current = { ...current, clusters, replication: current.replication.map((r) => ({ ...r, groups: [] })) };
  return JSON.stringify(current);
}
