import * as z from 'zod';
import { drainGroupOf } from '../config/contract.ts';
import type { DeploymentConfig } from '../config/schema.ts';
import { topicMapping } from '../config/topic-mapping.ts';
import { describeError } from '../errors.ts';
import { checkpointKey, type Checkpoint as Mm2Checkpoint } from '../kafka/mm2-internal-topics.ts';
import type { Offset } from '../kafka/offset.ts';
import { tpKey } from '../kafka/topic-partition.ts';

/**
 * Consumer-group offsets for the cluster clients move to, with MirrorClient semantics
 * (`RemoteClusterUtils.translateOffsets`): read the flow's `<source alias>.checkpoints.internal` on that cluster
 * from the beginning, keep the last checkpoint per (group, topic, partition), and take its downstream offset. MM2's
 * own group-offset sync (KIP-545) may already have committed those offsets there; we commit only where the group
 * has no members and its committed offset is behind (or absent). Checkpoints are conservative (offset syncs are
 * sparse), so a consumer may see a record twice, never skip one.
 *
 * Written from failover's side ("the secondary"); failback translates back to the primary with the config's roles
 * swapped, through the same functions.
 */

/** What translation takes from an MM2 checkpoint; `topic` is the target-side name (`primary.orders`). */
export type Checkpoint = Pick<
  Mm2Checkpoint,
  'group' | 'topic' | 'partition' | 'upstreamOffset' | 'downstreamOffset'
>;

/** What offset translation needs from the secondary cluster. */
export interface SecondaryGroupOffsets {
  /** Every checkpoint of these groups in `<primary alias>.checkpoints.internal`, oldest first. */
  readCheckpoints(groups: readonly string[]): Promise<Checkpoint[]>;
  /** Group state as the coordinator reports it (`Empty`, `Stable`, `Dead` for an unknown group, ...). */
  describeGroup(group: string): Promise<{ state: string; members: number }>;
  /** Committed offsets of `group` for `topics`; absent partitions have none. */
  committedOffsets(
    group: string,
    topics: readonly string[],
  ): Promise<Array<{ topic: string; partition: number; offset: Offset }>>;
  /** Commit offsets for a group without members (refused by the coordinator while it has members). */
  commitOffsets(
    group: string,
    topic: string,
    partitions: Array<{ partition: number; offset: Offset }>,
  ): Promise<void>;
}

const partitionOffsetSchema = z
  .object({
    topic: z.string(),
    partition: z.int().min(0),
    /** The group's offset on the primary when MM2 last checkpointed it. */
    upstream: z.int(),
    /** Where the group resumes on the secondary. */
    translated: z.int().min(0),
    /** What the group has committed on the secondary now; null when nothing. */
    committed: z.int().nullable(),
    /** Behind (or nothing committed) and the group is empty: commit `translated`. */
    commit: z.boolean(),
  })
  .strict();
type PartitionOffset = z.output<typeof partitionOffsetSchema>;

const groupDecisions = ['commit', 'up-to-date', 'group-active', 'no-checkpoints', 'error'] as const;

export const groupOffsetPlanSchema = z
  .object({
    group: z.string(),
    state: z.string(),
    members: z.int().min(0),
    decision: z.enum(groupDecisions),
    partitions: z.array(partitionOffsetSchema),
    error: z.string().optional(),
  })
  .strict();
export type GroupOffsetPlan = z.output<typeof groupOffsetPlanSchema>;

export const groupOffsetOutcomeSchema = z
  .object({
    group: z.string(),
    outcome: z.enum(['committed', 'up-to-date', 'group-active', 'no-checkpoints', 'error']),
    /** Partitions whose offset this failover committed, with the offset committed. */
    committed: z.array(
      z
        .object({ topic: z.string(), partition: z.int(), offset: z.int(), previous: z.int().nullable() })
        .strict(),
    ),
    error: z.string().optional(),
  })
  .strict();
export type GroupOffsetOutcome = z.output<typeof groupOffsetOutcomeSchema>;

/**
 * The topics the groups read on the secondary once it is active: every topic of the mapping a consumer reads
 * there (subscribed, drained first, or read for the global view).
 */
export function secondarySideTopics(config: DeploymentConfig): string[] {
  const topics = new Set<string>();
  for (const route of Object.values(topicMapping(config, 'secondary'))) {
    for (const t of [...route.subscribe, ...(route.remote ?? []), ...(route.drain ?? [])]) topics.add(t);
  }
  return [...topics];
}

/** The topics read first, in each group's drain group ({@link drainGroupOf}), once the secondary is active. */
function secondarySideDrainTopics(config: DeploymentConfig): Set<string> {
  const topics = new Set<string>();
  for (const route of Object.values(topicMapping(config, 'secondary'))) {
    for (const t of route.drain ?? []) topics.add(t);
  }
  return topics;
}

/** MirrorClient semantics: the last checkpoint per (group, topic, partition) wins. */
export function latestCheckpoints(checkpoints: readonly Checkpoint[]): Map<string, Checkpoint> {
  const latest = new Map<string, Checkpoint>();
  for (const c of checkpoints) latest.set(checkpointKey(c), c);
  return latest;
}

/** Work out, per configured group, what to commit on the secondary. Reads only. */
export async function planGroupOffsets(
  config: DeploymentConfig,
  secondary: SecondaryGroupOffsets,
): Promise<GroupOffsetPlan[]> {
  const groups = config.consumerGroups;
  if (groups.length === 0) return [];
  const topics = secondarySideTopics(config);
  const wanted = new Set(topics);
  // A negative downstream offset is MM2 saying "no translation"; it must never be committed.
  const checkpoints = [...latestCheckpoints(await secondary.readCheckpoints(groups)).values()].filter(
    (c) => wanted.has(c.topic) && c.downstreamOffset >= 0,
  );
  // Drained topics are read in the drain group, whose offsets come from the group's checkpoints: in active-active
  // the group itself is busy on the secondary (its own consumers), so its offsets could not be committed anyway.
  const drainTopics = secondarySideDrainTopics(config);
  const targets = groups.flatMap((group) => {
    const own = { group, from: group, topics: undefined as Set<string> | undefined };
    return drainTopics.size === 0
      ? [own]
      : [own, { group: drainGroupOf(group), from: group, topics: drainTopics }];
  });
  return Promise.all(
    targets.map(async ({ group, from, topics: only }): Promise<GroupOffsetPlan> => {
      const mine = checkpoints
        .filter((c) => c.group === from && (only === undefined || only.has(c.topic)))
        .sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
      try {
        const { state, members } = await secondary.describeGroup(group);
        if (mine.length === 0) return { group, state, members, decision: 'no-checkpoints', partitions: [] };
        // Only topics MM2 checkpointed: they exist on the secondary (asking about one that does not fails).
        const committed = await committedMap(secondary, group, [...new Set(mine.map((c) => c.topic))]);
        const active = members > 0;
        const partitions = mine.map((c): PartitionOffset => {
          const translated = c.downstreamOffset;
          const current = committed.get(tpKey(c.topic, c.partition)) ?? null;
          return {
            topic: c.topic,
            partition: c.partition,
            upstream: c.upstreamOffset,
            translated,
            committed: current,
            commit: !active && (current === null || current < translated),
          };
        });
        const behind = partitions.some((p) => p.committed === null || p.committed < p.translated);
        const decision = !behind ? 'up-to-date' : active ? 'group-active' : 'commit';
        return { group, state, members, decision, partitions };
      } catch (e: unknown) {
        return {
          group,
          state: 'unknown',
          members: 0,
          decision: 'error',
          partitions: [],
          error: describeError(e),
        };
      }
    }),
  );
}

/**
 * Commit what the plan says, re-checking each group first: MM2's sync or the group's own consumers may have
 * moved it since the plan was made, and an offset is only ever moved forward. One group's failure does not stop
 * the others (or the switch): it is reported.
 */
export async function commitGroupOffsets(
  plans: readonly GroupOffsetPlan[],
  secondary: SecondaryGroupOffsets,
): Promise<GroupOffsetOutcome[]> {
  return Promise.all(
    plans.map(async (plan): Promise<GroupOffsetOutcome> => {
      const base = { group: plan.group, committed: [] };
      if (plan.decision === 'error')
        return { ...base, outcome: 'error', error: plan.error ?? 'planning failed' };
      if (plan.decision === 'no-checkpoints') return { ...base, outcome: 'no-checkpoints' };
      if (plan.decision === 'group-active') return { ...base, outcome: 'group-active' };
      if (plan.decision === 'up-to-date') return { ...base, outcome: 'up-to-date' };
      try {
        const { members } = await secondary.describeGroup(plan.group);
        if (members > 0) return { ...base, outcome: 'group-active' };
        const topics = [...new Set(plan.partitions.map((p) => p.topic))];
        const committed = await committedMap(secondary, plan.group, topics);
        const done: GroupOffsetOutcome['committed'] = [];
        for (const topic of topics) {
          const todo = plan.partitions
            .filter((p) => p.topic === topic)
            .map((p) => ({ p, previous: committed.get(tpKey(topic, p.partition)) ?? null }))
            .filter(({ p, previous }) => previous === null || previous < p.translated);
          if (todo.length === 0) continue;
          await secondary.commitOffsets(
            plan.group,
            topic,
            todo.map(({ p }) => ({ partition: p.partition, offset: p.translated })),
          );
          done.push(
            ...todo.map(({ p, previous }) => ({
              topic,
              partition: p.partition,
              offset: p.translated,
              previous,
            })),
          );
        }
        return { ...base, outcome: done.length > 0 ? 'committed' : 'up-to-date', committed: done };
      } catch (e: unknown) {
        return { ...base, outcome: 'error', error: describeError(e) };
      }
    }),
  );
}

async function committedMap(
  secondary: SecondaryGroupOffsets,
  group: string,
  topics: readonly string[],
): Promise<Map<string, Offset>> {
  const committed = new Map<string, Offset>();
  for (const c of await secondary.committedOffsets(group, topics)) {
    // kafkajs reports "no committed offset" as -1.
    if (c.offset >= 0) committed.set(tpKey(c.topic, c.partition), c.offset);
  }
  return committed;
}
