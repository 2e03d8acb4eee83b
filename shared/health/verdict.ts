import type { FailureReason } from '../kafka/failure-reason.ts';
import type { Verdict } from './probe-result.ts';

/** What one cycle observed on one cluster, before judging. */
export interface ClusterObservation {
  /** Reachability failed (metadata did not answer): nothing else was observed. */
  failure?: FailureReason;
  brokersAlive: number;
  expectedBrokers: number;
  watchedPartitions: number;
  leaderless: number;
  underReplicated: number;
  missingTopics: readonly string[];
  /** Absent when the canary was not attempted (e.g. the cycle ran out of time). */
  canary?: {
    partitions: number;
    written: number;
    /** Of `written`, partitions that took the canary only with acks=1 (acks=all stalled on a replica). */
    leaderOnly?: number;
    /** Why writes failed (the most frequent error), when some did. */
    failure?: FailureReason;
  };
}

/**
 * The verdict rules, in order:
 *
 * - **down** when the cluster does not answer metadata (the reason says why: `connect-refused`, `timeout`,
 *   `auth-failed`, ...), lists no broker, has no leader for any watched partition, or accepts the canary on no
 *   partition. Down is what a producer would experience: nothing gets written.
 * - **degraded** when it answers but something is wrong: fewer brokers than expected, some partitions without a
 *   leader or under-replicated, some canary partitions not writable, some taking the canary only with acks=1
 *   (acks=all stalled on a replica: `under-replicated`), watched topics missing. Clients still
 *   work, so `ClusterUp` stays 1, but the reasons show in the result and the status.
 * - **up** otherwise.
 */
export function judgeCluster(o: ClusterObservation): { verdict: Verdict; reasons: FailureReason[] } {
  if (o.failure) return { verdict: 'down', reasons: [o.failure] };
  if (o.brokersAlive === 0) return { verdict: 'down', reasons: ['no-brokers'] };
  const reasons: FailureReason[] = [];
  let down = false;
  if (o.canary && o.canary.partitions > 0 && o.canary.written === 0) {
    down = true;
    reasons.push('not-writable');
    if (o.canary.failure && o.canary.failure !== 'not-writable') reasons.push(o.canary.failure);
  }
  if (o.watchedPartitions > 0 && o.leaderless === o.watchedPartitions) down = true;
  if (o.leaderless > 0) reasons.push('no-leader');
  if (o.brokersAlive < o.expectedBrokers) reasons.push('brokers-missing');
  // A replica the leader waits for but never hears from is under-replicated in all but name (the ISR still lists it).
  if (o.underReplicated > 0 || (o.canary?.leaderOnly ?? 0) > 0) reasons.push('under-replicated');
  if (
    o.canary &&
    o.canary.written > 0 &&
    o.canary.written < o.canary.partitions &&
    !reasons.includes('not-writable')
  ) {
    reasons.push('not-writable');
  }
  if (o.missingTopics.length > 0) reasons.push('topic-missing');
  return { verdict: down ? 'down' : reasons.length > 0 ? 'degraded' : 'up', reasons };
}

/** `ClusterUp`: 1 for up and degraded (clients work), 0 for down. */
export function clusterUpValue(verdict: Verdict): 0 | 1 {
  return verdict === 'down' ? 0 : 1;
}
