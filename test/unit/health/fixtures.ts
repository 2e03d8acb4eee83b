import type { ProbeResult } from '#shared/health/probe-result.ts';

/** A complete, valid probe result; `topicCount` topics in the one replication direction. */
export function sampleResult(topicCount = 2): ProbeResult {
  const cluster = (role: 'primary' | 'secondary') => ({
    role,
    alias: role,
    verdict: 'up' as const,
    reasons: [],
    latencyMs: 12,
    brokersAlive: 3,
    expectedBrokers: 3,
    partitions: { watched: 6, leaderless: 0, underReplicated: 0 },
    missingTopics: [],
    canary: {
      topic: 'mm2-failover-canary',
      partitions: 3,
      written: 3,
      writableRatio: 1,
      latencyMs: 4,
      created: false,
    },
  });
  return {
    version: 1,
    deployment: 'orders-dr',
    cycle: 3,
    startedAt: '2026-01-01T00:00:00.000Z',
    durationMs: 40,
    deadlineMs: 7000,
    clusters: { primary: cluster('primary'), secondary: cluster('secondary') },
    replication: [
      {
        source: 'primary',
        target: 'secondary',
        sourceAlias: 'primary',
        targetAlias: 'secondary',
        measuredAt: '2026-01-01T00:00:00.030Z',
        lagSeconds: 0.2,
        canaryAgeSeconds: 9.8,
        backlogRecords: topicCount * 10,
        topics: Array.from({ length: topicCount }, (_, i) => ({
          topic: `topic-with-a-fairly-long-name-${i}`,
          remoteTopic: `primary.topic-with-a-fairly-long-name-${i}`,
          partitions: 12,
          backlogRecords: i === 7 ? 1_000 : 10,
          partitionsWithoutSync: 0,
        })),
        groups: [
          { group: 'billing', checkpointLagRecords: 4, partitions: 12, partitionsWithoutCheckpoint: 0 },
        ],
        reasons: [],
      },
    ],
  };
}
