import type { AlarmSpec, Statistic } from './specs.ts';
import { failoverComposite } from './specs.ts';

/** One metric value as CloudWatch stores it. */
export interface Datapoint {
  metricName: string;
  cluster?: string;
  timestampMs: number;
  value: number;
}

export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

function statistic(values: number[], stat: Statistic): number {
  switch (stat) {
    case 'Maximum':
      return Math.max(...values);
    case 'Minimum':
      return Math.min(...values);
    case 'Average':
      return values.reduce((a, b) => a + b, 0) / values.length;
    case 'SampleCount':
      return values.length;
  }
}

function breaches(value: number, spec: AlarmSpec): boolean {
  switch (spec.comparison) {
    case 'LessThanThreshold':
      return value < spec.threshold;
    case 'GreaterThanThreshold':
      return value > spec.threshold;
    case 'GreaterThanOrEqualToThreshold':
      return value >= spec.threshold;
  }
}

/**
 * Evaluate one alarm at `nowMs` the way CloudWatch does for an M-of-N alarm: the last N complete periods,
 * ALARM when at least M of them breach. Missing periods follow `treatMissingData`; SampleCount of nothing is 0.
 */
export function evaluateAlarm(spec: AlarmSpec, points: readonly Datapoint[], nowMs: number): AlarmState {
  const periodMs = spec.periodSeconds * 1000;
  // The newest complete period ends at the last period boundary at or before now.
  const lastEnd = Math.floor(nowMs / periodMs) * periodMs;
  let breaching = 0;
  let known = 0;
  for (let i = 0; i < spec.evaluationPeriods; i++) {
    const end = lastEnd - i * periodMs;
    const start = end - periodMs;
    const values = points
      .filter(
        (p) =>
          p.metricName === spec.metricName &&
          (spec.cluster === undefined || p.cluster === spec.cluster) &&
          p.timestampMs >= start &&
          p.timestampMs < end,
      )
      .map((p) => p.value);
    if (values.length === 0 && spec.statistic !== 'SampleCount') {
      if (spec.treatMissingData === 'breaching') {
        breaching++;
        known++;
      } else if (spec.treatMissingData === 'notBreaching') {
        known++;
      }
      continue;
    }
    known++;
    if (breaches(values.length === 0 ? 0 : statistic(values, spec.statistic), spec)) breaching++;
  }
  if (breaching >= spec.datapointsToAlarm) return 'ALARM';
  return known === 0 ? 'INSUFFICIENT_DATA' : 'OK';
}

/** The failover composite: primary down AND secondary up AND prober alive (AND automation, checked by failover). */
export function evaluateComposite(states: Partial<Record<AlarmSpec['id'], AlarmState>>): AlarmState {
  const all = failoverComposite.allOf.every((id) => states[id] === 'ALARM');
  const none = failoverComposite.noneOf.every((id) => states[id] !== 'ALARM');
  return all && none ? 'ALARM' : 'OK';
}

/** Datapoints out of Embedded Metric Format log lines (what the probe prints; what CloudWatch Logs ingests). */
export function datapointsFromEmf(line: string): Datapoint[] {
  let doc: unknown;
  try {
    doc = JSON.parse(line);
  } catch {
    return [];
  }
  if (typeof doc !== 'object' || doc === null) return [];
  const record = doc as Record<string, unknown>;
  const meta = record._aws as
    | { Timestamp?: number; CloudWatchMetrics?: { Metrics?: { Name: string }[] }[] }
    | undefined;
  if (!meta?.CloudWatchMetrics || typeof meta.Timestamp !== 'number') return [];
  const cluster = typeof record.Cluster === 'string' ? record.Cluster : undefined;
  const out: Datapoint[] = [];
  for (const group of meta.CloudWatchMetrics) {
    for (const metric of group.Metrics ?? []) {
      const raw = record[metric.Name];
      const values = Array.isArray(raw) ? raw : [raw];
      for (const v of values) {
        if (typeof v === 'number') {
          out.push({
            metricName: metric.Name,
            timestampMs: meta.Timestamp,
            value: v,
            ...(cluster ? { cluster } : {}),
          });
        }
      }
    }
  }
  return out;
}
