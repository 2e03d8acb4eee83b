import type { HarnessInfo } from '#harness/info.ts';
import { parseDeploymentConfig } from '#shared/config/load.ts';
import type { DeploymentConfig } from '#shared/config/schema.ts';
import type { DrillMode } from './drill-mode.ts';

/** The application's topic and consumer group, and failback's quarantine topic on the secondary. */
export const TOPIC = 'orders';
export const GROUP = 'drill-app';
export const QUARANTINE = 'mm2-failover.quarantine';

/** MM2's replication policy the drill runs: `identity` (the failback main path) or `default` (prefixed topics). */
export type DrillPolicy = 'identity' | 'default';

/**
 * The drill's deployment (in active-active: the primary's, whose clients are the primary's application): the
 * harness's clusters over mTLS, the replication policy the harness's MM2 runs (identity unless asked; always the
 * default policy in active-active), and detection compressed to CloudWatch's finest: 10 s alarm periods, 2 of 2,
 * probes every 2 s.
 */
export function drillConfig(
  info: HarnessInfo,
  mode: DrillMode = 'active-passive',
  policy: DrillPolicy = 'identity',
): DeploymentConfig {
  if (!info.mirror.connectUrl) throw new Error('the drill needs MM2 in Connect mode');
  return parseDeploymentConfig({
    name: 'drill',
    mode,
    // Active-active needs the default policy: the identity policy cannot tell a mirrored record from a local one.
    replicationPolicy: mode === 'active-active' ? 'default' : policy,
    clusters: {
      // As many as the harness runs (one, or three for broker-down): one fewer alive is `degraded`.
      primary: {
        alias: info.clusters.primary.alias,
        auth: 'mtls',
        expectedBrokers: info.clusters.primary.brokers.length,
      },
      secondary: {
        alias: info.clusters.secondary.alias,
        auth: 'mtls',
        expectedBrokers: info.clusters.secondary.brokers.length,
      },
    },
    topics: [TOPIC],
    consumerGroups: [GROUP],
    detection: {
      probeIntervalSeconds: 2,
      alarmPeriodSeconds: 10,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      lagAlarmPeriodSeconds: 10,
      cycleDeadlineMs: 1_900,
      connectTimeoutMs: 1_000,
      requestTimeoutMs: 1_500,
      confirmProbes: 2,
      confirmIntervalMs: 500,
    },
    safety: { maxLagRecords: 10_000, maxLagSeconds: 10, cooldownMinutes: 10, requireHealthySecondary: true },
    mirror: {
      kind: 'kafka-connect',
      forwardUrl: info.mirror.connectUrl,
      reverseUrl: info.reverseWorker.connectUrl,
      connectorPrefix: 'mm2',
    },
    failback: {
      quarantineTopic: QUARANTINE,
      stableSeconds: 5,
      // Producers keep writing to the secondary during catch-up: wait for a small backlog, not for silence.
      catchUpMaxLagRecords: 100,
      switchOrder: 'consumers-first',
    },
  });
}
