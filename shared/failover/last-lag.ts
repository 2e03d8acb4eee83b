import type { DeploymentPaths } from '../config/paths.ts';
import { parseJsonOrThrow } from '../config/validate.ts';
import { replicationInto } from '../health/detection-policy.ts';
import { probeResultSchema } from '../health/probe-result.ts';
import type { Stores } from '../store/active-config.ts';
import type { ReadReplicationLag, ReplicationLag } from './preflight.ts';

/**
 * The replication lag into the secondary as the probe last stored it (`lastProbeParameter`). While the primary
 * is unreachable the probe cannot measure, and keeps the last complete measurement as `lastGood`: that is the
 * one that counts for the budget and the RPO estimate. Per-topic backlog is only known from a complete
 * measurement (`lastGood` keeps totals), so with the primary down the per-topic figures are unknown.
 */
export function lastMeasuredLag(
  stores: Stores,
  paths: Pick<DeploymentPaths, 'lastProbeParameter'>,
): ReadReplicationLag {
  const name = paths.lastProbeParameter;
  return async () => {
    const stored = await stores.parameters.get(name);
    if (!stored) return undefined;
    const result = parseJsonOrThrow(probeResultSchema, stored.value, `parameter ${name}`);
    const r = replicationInto(result, 'secondary');
    if (!r) return undefined;
    const current = r.backlogRecords !== undefined || r.lagSeconds !== undefined;
    if (current) {
      const lag: ReplicationLag = {
        measuredAt: r.measuredAt,
        topics: r.topics.map((t) => ({ topic: t.topic, backlogRecords: t.backlogRecords })),
      };
      if (r.backlogRecords !== undefined) lag.backlogRecords = r.backlogRecords;
      if (r.lagSeconds !== undefined) lag.lagSeconds = r.lagSeconds;
      return lag;
    }
    if (!r.lastGood) return { measuredAt: r.measuredAt, topics: [] };
    const lag: ReplicationLag = { measuredAt: r.lastGood.measuredAt, topics: [] };
    if (r.lastGood.backlogRecords !== undefined) lag.backlogRecords = r.lastGood.backlogRecords;
    if (r.lastGood.lagSeconds !== undefined) lag.lagSeconds = r.lastGood.lagSeconds;
    return lag;
  };
}
