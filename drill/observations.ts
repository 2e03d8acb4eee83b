import { kafkaClient } from '#harness/kafka-clients.ts';
import { describeError } from '#shared/errors.ts';
import type { Check } from './checks.ts';
import { TOPIC } from './drill-config.ts';
import type { Observation } from './scenarios.ts';
import type { DrillStage } from './stage.ts';
import { sleep } from './wait.ts';

/**
 * The observations a no-failover row asks for (scenarios.ts), watched while its fault holds: each polls from the
 * fault on, and `finish()` (at the end of the watch, before the fault is undone) stops it and gives the check that
 * judges what it saw.
 */
export interface Watching {
  finish(): Promise<Check<void>>;
}

export function watchObservation(observation: Observation, stage: DrillStage): Watching {
  switch (observation.kind) {
    case 'degraded-not-down':
      return watchVerdicts(observation.cluster, stage);
    case 'leaders-moved':
      return watchLeaders(observation.cluster, observation.broker, stage);
  }
}

/** A loop that calls `step` about every `everyMs` until stopped; `stop()` resolves once the loop has ended. */
function poll(everyMs: number, step: () => Promise<void>): { stop(): Promise<void> } {
  let running = true;
  const loop = (async () => {
    while (running) {
      await step();
      if (running) await sleep(everyMs);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

/**
 * The operator's view: the verdicts the status function reports for the cluster's last probe, every second, and
 * the `ClusterUp` datapoints the probe emitted (a 0 is `down`, what the PrimaryDown alarm counts).
 */
function watchVerdicts(cluster: 'primary' | 'secondary', stage: DrillStage): Watching {
  const fromMs = Date.now();
  const verdicts = new Map<string, number>();
  const loop = poll(1_000, async () => {
    const status = await stage.functions.status().catch(() => undefined);
    const verdict = status?.lastProbe?.clusters?.[cluster]?.verdict ?? 'unread';
    verdicts.set(verdict, (verdicts.get(verdict) ?? 0) + 1);
  });
  return {
    finish: async () => {
      await loop.stop();
      const downAt = stage.detection.points
        .filter(
          (p) =>
            p.metricName === 'ClusterUp' && p.cluster === cluster && p.timestampMs >= fromMs && p.value === 0,
        )
        .map((p) => (p.timestampMs - fromMs) / 1000);
      const seen = [...verdicts].map(([v, n]) => `${v} ×${n}`).join(', ') || 'nothing';
      const down =
        downAt.length === 0
          ? 'never'
          : `${downAt.length} time(s), ${Math.min(...downAt).toFixed(1)}-${Math.max(...downAt).toFixed(1)} s after the fault`;
      return {
        name: `the probe reports the ${cluster} degraded, never down`,
        judge: () => ({
          ok: (verdicts.get('degraded') ?? 0) > 0 && !verdicts.has('down') && downAt.length === 0,
          detail: `status answered ${seen}; ClusterUp 0 ${down}`,
        }),
      };
    },
  };
}

/** The application's topic on the cluster: every partition led by a live broker, none by the dead one. */
function watchLeaders(cluster: 'primary' | 'secondary', broker: number, stage: DrillStage): Watching {
  const fromMs = Date.now();
  const dead = stage.harness.info.clusters[cluster].brokers[broker]?.nodeId;
  const admin = kafkaClient(stage.harness.info, cluster).admin();
  let leaders: number[] = [];
  let movedAfterMs: number | undefined;
  let lastError: string | undefined;
  const connected = admin.connect();
  const moved = () => leaders.length > 0 && leaders.every((l) => l >= 0 && l !== dead);
  const loop = poll(2_000, async () => {
    try {
      await connected;
      const metadata = await admin.fetchTopicMetadata({ topics: [TOPIC] });
      leaders = (metadata.topics[0]?.partitions ?? [])
        .sort((a, b) => a.partitionId - b.partitionId)
        .map((p) => p.leader);
      if (moved()) movedAfterMs ??= Date.now() - fromMs;
      lastError = undefined;
    } catch (e: unknown) {
      lastError = describeError(e);
    }
  });
  return {
    finish: async () => {
      await loop.stop();
      await admin.disconnect().catch(() => {});
      const byPartition = leaders.map((l, p) => `${p}→${l}`).join(', ') || 'none read';
      return {
        name: `partitions of ${TOPIC} on the ${cluster} moved off the dead broker`,
        judge: () => ({
          ok: dead !== undefined && moved(),
          detail:
            `leaders by partition ${byPartition} (node ${dead ?? '?'} dead)` +
            (movedAfterMs === undefined
              ? ''
              : `, all off it ${(movedAfterMs / 1000).toFixed(1)} s after the fault`) +
            (lastError ? `; last read failed: ${lastError}` : ''),
        }),
      };
    },
  };
}
