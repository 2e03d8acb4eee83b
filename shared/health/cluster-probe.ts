import type { Clock } from '../clock.ts';
import type { ClusterRole } from '../config/schema.ts';
import { describeError } from '../errors.ts';
import type {
  ClusterClient,
  ClusterMetadata,
  ProduceRecord,
  ProduceResult,
} from '../kafka/cluster-client.ts';
import { classifyKafkaError, type FailureReason, reasonForErrorType } from '../kafka/failure-reason.ts';
import type { Deadline } from './deadline.ts';
import { type ClusterHealth, MAX_UNWRITABLE } from './probe-result.ts';
import { judgeCluster } from './verdict.ts';

/**
 * One cluster, one cycle: metadata (brokers alive; leaderless and under-replicated partitions of the watched
 * topics, counted from metadata that kafkajs would have refused), then a canary written with acks=all to every
 * partition of the canary topic (created if missing, one partition per broker), with acks=1 to the partitions whose
 * leader answered but whose replicas did not in time (a broker dead but not yet fenced), then the verdict.
 * Every step runs under the cycle's {@link Deadline}; nothing here throws.
 */
export interface ClusterProbeInput {
  role: ClusterRole;
  alias: string;
  deployment: string;
  expectedBrokers: number;
  /** Topics whose partitions must have leaders and full ISR. */
  watchedTopics: readonly string[];
  canaryTopic: string;
  /** More topics to fetch metadata for in the same request (the replication step reuses it). */
  extraTopics?: readonly string[];
  /** Broker-side acks=all timeout for the canary. */
  requestTimeoutMs: number;
}

export interface ClusterProbeDeps {
  client: ClusterClient;
  deadline: Deadline;
  clock: Pick<Clock, 'now'>;
}

export interface ClusterProbeOutcome {
  health: ClusterHealth;
  /** The metadata seen, when the cluster answered. */
  metadata?: ClusterMetadata;
  /** The client failed at the connection level (timeout, refused, closed): forget it and build a new one. */
  clientFailed: boolean;
}

/** Errors after which a produce is retried once, after fresh metadata (a new topic's leaders settling). */
const RETRY_PRODUCE = new Set([
  'NOT_LEADER_FOR_PARTITION',
  'NOT_LEADER_OR_FOLLOWER',
  'LEADER_NOT_AVAILABLE',
  'UNKNOWN_TOPIC_OR_PARTITION',
  // The leader could not be reached: a dead broker's partitions get new leaders once the controller fences it.
  'BROKER_NOT_AVAILABLE',
]);
/**
 * The share of the remaining cycle acks=all may wait for (broker-side timeout): the rest is kept for asking leaders
 * whose replicas stalled to take the canary with acks=1. Afterwards, not beside it: a broker serves one request per
 * connection at a time, so an acks=1 sent while acks=all waits would wait behind it.
 */
const ACKS_ALL_SHARE = 0.5;
/** The canary is small and only its newest records matter. */
const CANARY_TOPIC_CONFIGS = { 'retention.ms': String(24 * 3600 * 1000), 'cleanup.policy': 'delete' };

export async function probeCluster(
  input: ClusterProbeInput,
  deps: ClusterProbeDeps,
): Promise<ClusterProbeOutcome> {
  const { client, deadline, clock } = deps;
  const started = clock.now();
  const base = { role: input.role, alias: input.alias, expectedBrokers: input.expectedBrokers };
  const finish = (
    partial: Omit<ClusterHealth, 'role' | 'alias' | 'expectedBrokers' | 'latencyMs' | 'verdict' | 'reasons'>,
    judged: Pick<ClusterHealth, 'verdict' | 'reasons'>,
  ): ClusterHealth => ({ ...base, ...judged, ...partial, latencyMs: clock.now() - started });

  let metadata: ClusterMetadata;
  try {
    const topics = [...new Set([...input.watchedTopics, input.canaryTopic, ...(input.extraTopics ?? [])])];
    metadata = await deadline.run('metadata', () => client.metadata(topics));
  } catch (e: unknown) {
    const reason = classifyKafkaError(e);
    const health = finish(
      {
        detail: oneLine(e),
        brokersAlive: 0,
        partitions: { watched: 0, leaderless: 0, underReplicated: 0 },
        missingTopics: [],
      },
      judgeCluster({
        failure: reason,
        brokersAlive: 0,
        expectedBrokers: input.expectedBrokers,
        watchedPartitions: 0,
        leaderless: 0,
        underReplicated: 0,
        missingTopics: [],
      }),
    );
    return { health, clientFailed: true };
  }

  let watched = 0;
  let leaderless = 0;
  let underReplicated = 0;
  const missingTopics: string[] = [];
  for (const topic of new Set(input.watchedTopics)) {
    const info = metadata.topics.get(topic);
    if (!info || info.error === 'UNKNOWN_TOPIC_OR_PARTITION' || info.partitions.length === 0) {
      missingTopics.push(topic);
      continue;
    }
    for (const p of info.partitions) {
      watched += 1;
      if (p.leader < 0) leaderless += 1;
      if (p.isr.length < p.replicas.length) underReplicated += 1;
    }
  }

  const canary = await writeCanary(input, deps, metadata);
  const observation = {
    brokersAlive: metadata.brokers.length,
    expectedBrokers: input.expectedBrokers,
    watchedPartitions: watched,
    leaderless,
    underReplicated,
    missingTopics,
    ...(canary.result
      ? {
          canary: {
            partitions: canary.result.partitions,
            written: canary.result.written,
            ...(canary.result.leaderOnly ? { leaderOnly: canary.result.leaderOnly } : {}),
            ...(canary.failure ? { failure: canary.failure } : {}),
          },
        }
      : {}),
  };
  const health = finish(
    {
      ...(canary.detail ? { detail: canary.detail } : {}),
      brokersAlive: metadata.brokers.length,
      partitions: { watched, leaderless, underReplicated },
      missingTopics,
      ...(canary.result ? { canary: canary.result } : {}),
    },
    judgeCluster(observation),
  );
  return { health, metadata, clientFailed: canary.clientFailed };
}

interface CanaryOutcome {
  result?: NonNullable<ClusterHealth['canary']>;
  failure?: FailureReason;
  detail?: string;
  clientFailed: boolean;
}

async function writeCanary(
  input: ClusterProbeInput,
  deps: ClusterProbeDeps,
  metadata: ClusterMetadata,
): Promise<CanaryOutcome> {
  const { client, deadline, clock } = deps;
  const topic = input.canaryTopic;
  let created = false;
  let partitions = metadata.topics.get(topic)?.partitions.map((p) => p.partition) ?? [];
  try {
    if (partitions.length === 0) {
      const brokers = Math.max(1, metadata.brokers.length);
      await deadline.run('create canary topic', () =>
        client.createTopic({
          topic,
          numPartitions: brokers,
          replicationFactor: Math.min(3, brokers),
          configs: CANARY_TOPIC_CONFIGS,
          timeoutMs: Math.min(input.requestTimeoutMs, deadline.remainingMs()),
        }),
      );
      created = true;
      partitions = await waitForLeaders(
        client,
        topic,
        deadline.within(Math.max(0, deadline.remainingMs() / 2)),
      );
      if (partitions.length === 0) {
        return {
          result: { topic, partitions: 0, written: 0, writableRatio: 0, created },
          failure: 'no-leader',
          detail: `canary topic ${topic} has no partitions with a leader yet`,
          clientFailed: false,
        };
      }
    }
  } catch (e: unknown) {
    const failure = classifyKafkaError(e);
    return {
      // Without a canary topic writability is unknown: say so, but do not call the cluster down for it.
      failure,
      detail: `canary topic ${topic}: ${oneLine(e)}`,
      clientFailed: isConnectionLevel(failure),
    };
  }

  const now = clock.now();
  const value = JSON.stringify({ deployment: input.deployment, cluster: input.role, at: now });
  const records = (ps: readonly number[]): ProduceRecord[] =>
    ps.map((partition) => ({ partition, key: input.deployment, value, timestamp: now }));
  const produce = (ps: readonly number[], acks: -1 | 1, share: number) =>
    deadline.run(acks === 1 ? 'canary produce (acks=1)' : 'canary produce', () =>
      client.produce(topic, records(ps), {
        acks,
        timeoutMs: Math.max(100, Math.min(input.requestTimeoutMs, (deadline.remainingMs() - 50) * share)),
      }),
    );

  const t0 = clock.now();
  let results: ProduceResult[];
  let leaderOnly: number[] = [];
  let stalledAfterMs: number | undefined;
  try {
    // Half the time at most for acks=all: a live leader waits for every ISR replica, and a broker that died but
    // is not yet fenced stays in the ISR, so acks=all stalls until the broker-side timeout on every partition
    // it follows. The other half is left to ask those leaders with acks=1.
    results = await produce(partitions, -1, ACKS_ALL_SHARE);
    const retry = results.filter((r) => r.error && RETRY_PRODUCE.has(r.error)).map((r) => r.partition);
    if (retry.length > 0 && deadline.remainingMs() > 200) {
      // The first answers stand if the retry fails as a whole (the retried partitions may all sit on a dead
      // broker, so the retry reaches no live leader): what was written was written.
      const again = await deadline
        .run('canary metadata', () => client.metadata([topic]))
        .then(() => produce(retry, -1, ACKS_ALL_SHARE))
        .catch(() => undefined);
      if (again) results = results.filter((r) => !retry.includes(r.partition)).concat(again);
    }
    const stalled = results.filter((r) => r.error === 'REQUEST_TIMED_OUT').map((r) => r.partition);
    if (stalled.length > 0 && deadline.remainingMs() > 100) {
      // The leaders answered, only their replicas did not: if they take the record alone, producers can still
      // write (with acks=1 at once, with acks=all once the controller fences the dead broker and the ISR
      // shrinks), so the cluster is degraded, not down. Nothing stands if this fails too.
      stalledAfterMs = clock.now() - t0;
      const alone = await produce(stalled, 1, 1).catch(() => undefined);
      const accepted = new Set(alone?.filter((r) => !r.error).map((r) => r.partition));
      leaderOnly = stalled.filter((p) => accepted.has(p));
      results = results.map((r) =>
        accepted.has(r.partition) ? { topic: r.topic, partition: r.partition } : r,
      );
    }
  } catch (e: unknown) {
    const failure = classifyKafkaError(e);
    return {
      result: { topic, partitions: partitions.length, written: 0, writableRatio: 0, created },
      failure,
      detail: `canary produce: ${oneLine(e)}`,
      clientFailed: isConnectionLevel(failure),
    };
  }
  const latencyMs = clock.now() - t0;
  const written = results.filter((r) => !r.error).length;
  const failed = results
    .filter((r): r is ProduceResult & { error: string } => r.error !== undefined)
    .sort((a, b) => a.partition - b.partition);
  const common = mostCommon(failed.map((r) => r.error));
  const reason = mostCommon(failed.map((r): FailureReason => r.reason ?? reasonForErrorType(r.error)));
  const unreachable = [...new Set(failed.flatMap((r) => (r.leader === undefined ? [] : [r.leader])))];
  const problems = [
    ...(leaderOnly.length > 0
      ? [
          `acks=all stalled on ${leaderOnly.length} of ${partitions.length} partitions ` +
            `(no answer within ${Math.round(stalledAfterMs ?? 0)} ms); their leaders accepted acks=1`,
        ]
      : []),
    ...(common
      ? [
          `${failed.length} of ${partitions.length} partitions failed (${common})` +
            (unreachable.length > 0
              ? `; leader${unreachable.length > 1 ? 's' : ''} ${unreachable.join(', ')} unreachable (${reason})`
              : ''),
        ]
      : []),
  ];
  return {
    result: {
      topic,
      partitions: partitions.length,
      written,
      writableRatio: partitions.length === 0 ? 0 : written / partitions.length,
      latencyMs,
      created,
      ...(leaderOnly.length > 0 ? { leaderOnly: leaderOnly.length } : {}),
      ...(failed.length > 0
        ? {
            unwritable: failed.slice(0, MAX_UNWRITABLE).map((r) => ({
              partition: r.partition,
              error: r.error.slice(0, 60),
              ...(r.leader === undefined ? {} : { leader: r.leader }),
            })),
          }
        : {}),
    },
    ...(reason ? { failure: reason } : {}),
    ...(problems.length > 0 ? { detail: `canary produce: ${problems.join('; ')}`.slice(0, 280) } : {}),
    // Some leaders answered: the client's connections to the cluster work, only a broker is gone.
    clientFailed: false,
  };
}

/** A new topic's partitions get leaders a moment after CreateTopics answers; poll briefly for them. */
async function waitForLeaders(client: ClusterClient, topic: string, deadline: Deadline): Promise<number[]> {
  for (;;) {
    const md = await deadline.run('canary metadata', () => client.metadata([topic]));
    const ps = md.topics.get(topic)?.partitions ?? [];
    if (ps.length > 0 && ps.every((p) => p.leader >= 0)) return ps.map((p) => p.partition);
    if (deadline.remainingMs() < 150) return ps.filter((p) => p.leader >= 0).map((p) => p.partition);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const CONNECTION_LEVEL = new Set<FailureReason>([
  'timeout',
  'connect-refused',
  'connection-closed',
  'unreachable',
  'unresolvable',
  'auth-failed',
  'unknown',
]);

/** After these, the client's connections are suspect: it is rebuilt for the next cycle. */
export function isConnectionLevel(reason: FailureReason): boolean {
  return CONNECTION_LEVEL.has(reason);
}

function mostCommon<T extends string>(values: readonly T[]): T | undefined {
  const counts = new Map<T, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: T | undefined;
  let n = 0;
  for (const [v, c] of counts) if (c > n) [best, n] = [v, c];
  return best;
}

/** One line, bounded, from anything thrown (kafkajs messages carry host:port, never credentials). */
export function oneLine(e: unknown): string {
  return describeError(e).replace(/\s+/g, ' ').slice(0, 280);
}
