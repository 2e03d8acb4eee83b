import { describe, expect, it } from 'vitest';
import {
  type Datapoint,
  datapointsFromEmf,
  evaluateAlarm,
  evaluateComposite,
} from '#shared/alarms/evaluate.ts';
import { alarmSpecs } from '#shared/alarms/specs.ts';
import { parseDeploymentConfig } from '#shared/config/load.ts';

const config = parseDeploymentConfig({
  name: 'd',
  mode: 'active-passive',
  replicationPolicy: 'identity',
  clusters: { primary: { alias: 'primary', auth: 'none' }, secondary: { alias: 'secondary', auth: 'none' } },
  topics: ['orders'],
  mirror: { kind: 'manual' },
  detection: { evaluationPeriods: 3, datapointsToAlarm: 2 },
});
const specs = alarmSpecs(config);
const primaryDown = specs.find((s) => s.id === 'PrimaryDown');
const proberStale = specs.find((s) => s.id === 'ProberStale');
if (!primaryDown || !proberStale) throw new Error('specs missing');

function up(cluster: string, t: number, value: number): Datapoint {
  return { metricName: 'ClusterUp', cluster, timestampMs: t, value };
}

describe('evaluateAlarm', () => {
  it('alarms when M of the last N periods had only failed probes', () => {
    const points = [up('primary', 1_000, 1), up('primary', 11_000, 0), up('primary', 21_000, 0)];

    expect(evaluateAlarm(primaryDown, points, 30_000)).toBe('ALARM');
  });

  it('stays OK when a period mixes a failed and a successful probe (flapping)', () => {
    const points = [
      up('primary', 1_000, 0),
      up('primary', 5_000, 1),
      up('primary', 11_000, 0),
      up('primary', 15_000, 1),
    ];

    expect(evaluateAlarm(primaryDown, points, 30_000)).toBe('OK');
  });

  it('ignores the period still in progress and the other cluster', () => {
    const points = [up('primary', 21_000, 0), up('primary', 31_000, 0), up('secondary', 11_000, 0)];

    expect(evaluateAlarm(primaryDown, points, 35_000)).toBe('OK');
  });

  it('treats a silent prober as stale (missing data breaching) but not as a down cluster', () => {
    expect(evaluateAlarm(proberStale, [], 120_000)).toBe('ALARM');
    expect(evaluateAlarm(primaryDown, [], 120_000)).toBe('OK');
  });
});

describe('evaluateComposite', () => {
  it('fires only for primary down with the secondary up and the prober alive', () => {
    expect(evaluateComposite({ PrimaryDown: 'ALARM', SecondaryDown: 'OK', ProberStale: 'OK' })).toBe('ALARM');
    expect(evaluateComposite({ PrimaryDown: 'ALARM', SecondaryDown: 'ALARM', ProberStale: 'OK' })).toBe('OK');
    expect(evaluateComposite({ PrimaryDown: 'ALARM', SecondaryDown: 'OK', ProberStale: 'ALARM' })).toBe('OK');
    expect(evaluateComposite({ PrimaryDown: 'OK', SecondaryDown: 'OK', ProberStale: 'OK' })).toBe('OK');
  });
});

describe('datapointsFromEmf', () => {
  it('reads single and multiple values with the cluster dimension', () => {
    const line = JSON.stringify({
      _aws: {
        Timestamp: 42,
        CloudWatchMetrics: [
          {
            Namespace: 'MM2Failover',
            Dimensions: [['Deployment', 'Cluster']],
            Metrics: [{ Name: 'ClusterUp' }, { Name: 'ProbeLatencyMs' }],
          },
        ],
      },
      Deployment: 'd',
      Cluster: 'primary',
      ClusterUp: 0,
      ProbeLatencyMs: [12, 14],
    });

    expect(datapointsFromEmf(line)).toEqual([
      { metricName: 'ClusterUp', cluster: 'primary', timestampMs: 42, value: 0 },
      { metricName: 'ProbeLatencyMs', cluster: 'primary', timestampMs: 42, value: 12 },
      { metricName: 'ProbeLatencyMs', cluster: 'primary', timestampMs: 42, value: 14 },
    ]);
  });

  it('returns nothing for ordinary log lines', () => {
    expect(datapointsFromEmf('{"level":"INFO","message":"hi"}')).toEqual([]);
    expect(datapointsFromEmf('not json')).toEqual([]);
  });
});
