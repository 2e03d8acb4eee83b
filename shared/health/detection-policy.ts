import type { ClusterRole, DeploymentConfig } from '../config/schema.ts';
import type { ReplicationPolicy } from '../kafka/replication-policy.ts';
import { replicationPolicy } from '../kafka/replication-policy.ts';
import type { ClusterProbeInput } from './cluster-probe.ts';
import type { ClusterHealth, ProbeResult, ReplicationHealth } from './probe-result.ts';

/**
 * What the probe watches and how its findings are read: which directions replicate, which topics each cluster
 * should have, where the canaries live, and the helpers the failover preflight uses on probe results.
 */

export interface ReplicationDirection {
  source: ClusterRole;
  target: ClusterRole;
  sourceAlias: string;
  targetAlias: string;
}

/** Active-passive: primary → secondary. Active-active: both ways. */
export function replicationDirections(config: DeploymentConfig): ReplicationDirection[] {
  const p = config.clusters.primary.alias;
  const s = config.clusters.secondary.alias;
  const forward: ReplicationDirection = {
    source: 'primary',
    target: 'secondary',
    sourceAlias: p,
    targetAlias: s,
  };
  if (config.mode === 'active-passive') return [forward];
  return [forward, { source: 'secondary', target: 'primary', sourceAlias: s, targetAlias: p }];
}

export function policyOf(config: DeploymentConfig): ReplicationPolicy {
  return replicationPolicy(config);
}

/**
 * The canary topic a cluster writes its own canary to. Under the identity policy the mirrored copy of the
 * primary's canary has the primary's topic name on the secondary, so each cluster's canary carries its alias
 * there (`mm2-failover-canary.primary`), keeping the secondary's own writes out of the replicated stream.
 */
export function localCanaryTopic(config: DeploymentConfig, role: ClusterRole): string {
  const base = config.detection.canaryTopic;
  return config.replicationPolicy === 'identity' ? `${base}.${config.clusters[role].alias}` : base;
}

/** The source's canary as MM2 names it on the target. */
export function remoteCanaryTopic(config: DeploymentConfig, direction: ReplicationDirection): string {
  return policyOf(config).formatRemoteTopic(
    direction.sourceAlias,
    localCanaryTopic(config, direction.source),
  );
}

/** A topic a cluster is expected to hold: its own (`local`) or a mirrored copy (`remote`). */
export interface WatchedTopic {
  topic: string;
  logical: string;
  origin: 'local' | 'remote';
}

/**
 * The watched topics on a cluster: the configured topics where clients produce to them (the primary, and
 * both clusters in active-active), plus the mirrored copies MM2 writes there.
 */
export function watchedTopics(config: DeploymentConfig, role: ClusterRole): WatchedTopic[] {
  const out = new Map<string, WatchedTopic>();
  const local = role === 'primary' || config.mode === 'active-active';
  if (local) for (const t of config.topics) out.set(t, { topic: t, logical: t, origin: 'local' });
  const policy = policyOf(config);
  for (const d of replicationDirections(config).filter((x) => x.target === role)) {
    for (const t of config.topics) {
      const remote = policy.formatRemoteTopic(d.sourceAlias, t);
      if (!out.has(remote)) out.set(remote, { topic: remote, logical: t, origin: 'remote' });
    }
  }
  return [...out.values()];
}

/** True when every one of the last `n` verdicts for the cluster is down (the failover confirmation rule). */
export function confirmedDown(healths: readonly Pick<ClusterHealth, 'verdict'>[], n: number): boolean {
  const last = healths.slice(-n);
  return last.length >= n && last.every((h) => h.verdict === 'down');
}

/** Usable for an automatic switch: answers and accepts writes (degraded is acceptable, down is not). */
export function isFitTarget(health: Pick<ClusterHealth, 'verdict'>): boolean {
  return health.verdict !== 'down';
}

export interface LagBudget {
  maxLagRecords: number;
  maxLagSeconds: number;
}

/**
 * Whether the replication into `target` was within the safety budget at the last measurement. With the source
 * down the current measurement is missing, so the last complete one (`lastGood`) is what counts. Unknown lag
 * is not within budget: a switch without a lag figure must be forced.
 */
export function lagWithinBudget(
  replication: Pick<ReplicationHealth, 'lagSeconds' | 'backlogRecords' | 'lastGood'>,
  budget: LagBudget,
): { ok: boolean; lagSeconds?: number; backlogRecords?: number; problems: string[] } {
  const lagSeconds = replication.lagSeconds ?? replication.lastGood?.lagSeconds;
  const backlogRecords = replication.backlogRecords ?? replication.lastGood?.backlogRecords;
  const problems: string[] = [];
  if (lagSeconds === undefined) problems.push('replication lag (seconds) unknown');
  else if (lagSeconds > budget.maxLagSeconds)
    problems.push(`replication lag ${lagSeconds.toFixed(1)} s exceeds ${budget.maxLagSeconds} s`);
  if (backlogRecords === undefined) problems.push('replication backlog (records) unknown');
  else if (backlogRecords > budget.maxLagRecords)
    problems.push(`replication backlog ${backlogRecords} records exceeds ${budget.maxLagRecords}`);
  return {
    ok: problems.length === 0,
    ...(lagSeconds === undefined ? {} : { lagSeconds }),
    ...(backlogRecords === undefined ? {} : { backlogRecords }),
    problems,
  };
}

/** The replication entry of a result that flows into `target`. */
export function replicationInto(result: ProbeResult, target: ClusterRole): ReplicationHealth | undefined {
  return result.replication.find((r) => r.target === target);
}

/** What the cluster probe checks on `role`, from the deployment config (the probe cycle and the failover's re-probe). */
export function clusterProbeInput(
  config: DeploymentConfig,
  role: ClusterRole,
  extraTopics: readonly string[] = [],
): ClusterProbeInput {
  return {
    role,
    alias: config.clusters[role].alias,
    deployment: config.name,
    expectedBrokers: config.clusters[role].expectedBrokers,
    watchedTopics: watchedTopics(config, role).map((t) => t.topic),
    canaryTopic: localCanaryTopic(config, role),
    ...(extraTopics.length > 0 ? { extraTopics } : {}),
    requestTimeoutMs: config.detection.requestTimeoutMs,
  };
}
