import { describe, expect, it } from 'vitest';
import { type ClusterObservation, clusterUpValue, judgeCluster } from '#shared/health/verdict.ts';

const healthy: ClusterObservation = {
  brokersAlive: 3,
  expectedBrokers: 3,
  watchedPartitions: 12,
  leaderless: 0,
  underReplicated: 0,
  missingTopics: [],
  canary: { partitions: 3, written: 3 },
};

describe('judgeCluster', () => {
  it('says up with no reasons when everything answers and every canary partition is written', () => {
    expect(judgeCluster(healthy)).toEqual({ verdict: 'up', reasons: [] });
  });

  it('says down with the failure reason when metadata did not answer', () => {
    expect(judgeCluster({ ...healthy, failure: 'connect-refused' })).toEqual({
      verdict: 'down',
      reasons: ['connect-refused'],
    });
    expect(judgeCluster({ ...healthy, failure: 'timeout' }).verdict).toBe('down');
  });

  it('says down when no broker is listed', () => {
    expect(judgeCluster({ ...healthy, brokersAlive: 0 })).toEqual({
      verdict: 'down',
      reasons: ['no-brokers'],
    });
  });

  it('says down with not-writable and the cause when no canary partition accepts a write', () => {
    expect(judgeCluster({ ...healthy, canary: { partitions: 3, written: 0, failure: 'no-leader' } })).toEqual(
      {
        verdict: 'down',
        reasons: ['not-writable', 'no-leader'],
      },
    );
  });

  it('says degraded with under-replicated when leaders took the canary only with acks=1', () => {
    expect(judgeCluster({ ...healthy, canary: { partitions: 3, written: 3, leaderOnly: 2 } })).toEqual({
      verdict: 'degraded',
      reasons: ['under-replicated'],
    });
  });

  it('says down when every watched partition is leaderless', () => {
    expect(judgeCluster({ ...healthy, leaderless: 12 }).verdict).toBe('down');
  });

  it('says degraded and lists every problem when the cluster works with faults', () => {
    const result = judgeCluster({
      ...healthy,
      brokersAlive: 2,
      leaderless: 1,
      underReplicated: 4,
      missingTopics: ['primary.orders'],
      canary: { partitions: 3, written: 2, failure: 'not-writable' },
    });
    expect(result).toEqual({
      verdict: 'degraded',
      reasons: ['no-leader', 'brokers-missing', 'under-replicated', 'not-writable', 'topic-missing'],
    });
  });

  it('does not call a cluster down only because the canary was not attempted', () => {
    const { canary: _canary, ...withoutCanary } = healthy;
    expect(judgeCluster(withoutCanary).verdict).toBe('up');
  });
});

describe('clusterUpValue', () => {
  it('is 1 for up and degraded and 0 for down', () => {
    expect([clusterUpValue('up'), clusterUpValue('degraded'), clusterUpValue('down')]).toEqual([1, 1, 0]);
  });
});
