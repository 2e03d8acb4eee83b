import { describe, expect, it } from 'vitest';
import { statusSummary } from '../../../bin/status-summary.ts';

const base = {
  deployment: 'orders',
  mode: 'active-passive',
  replicationPolicy: 'identity',
  active: {
    state: 'active',
    cluster: 'secondary',
    alias: 'dr',
    epoch: 3,
    bootstrapServers: ['b-1.dr:9094'],
    switchedAt: '2026-12-03T10:00:00Z',
    reason: 'primary down',
  },
  automation: 'enabled',
  lastProbe: {
    at: '2026-12-03T10:05:00Z',
    ageSeconds: 12,
    clusters: {
      primary: { verdict: 'down', reasons: ['no broker answered'], brokersAlive: 0 },
      secondary: { verdict: 'healthy', reasons: [], brokersAlive: 3 },
    },
    replication: [{ source: 'dr', target: 'main', lagSeconds: 4, backlogRecords: 120, reasons: [] }],
  },
  readiness: {
    at: '2026-12-03T10:04:00Z',
    ageSeconds: 70,
    ready: false,
    counts: { 'missing-topic': 1 },
    findings: [
      { code: 'missing-topic', severity: 'error', topic: 'payments', expected: 'exists', found: 'absent' },
    ],
  },
  failover: {
    runId: 'fo-1',
    status: 'completed',
    startedAt: '2026-12-03T09:59:00Z',
    startedBy: 'alarm',
    updatedAt: '2026-12-03T10:00:00Z',
    completedAt: '2026-12-03T10:00:00Z',
    steps: ['preflight', 'translate', 'write'],
  },
  failback: {
    runId: 'fb-2',
    status: 'in-progress',
    startedAt: '2026-12-03T11:00:00Z',
    startedBy: 'alice',
    updatedAt: '2026-12-03T11:20:00Z',
    steps: ['prepare', 'salvage'],
  },
};

describe('statusSummary', () => {
  it('answers on-call in lines: active cluster and epoch, health, lag, readiness, runs in progress', () => {
    const text = statusSummary(base) ?? '';
    const line = (label: string) => text.split('\n').find((l) => l.startsWith(`${label} `));

    expect(line('deployment')).toMatch(/orders \(active-passive, identity replication\)$/);
    expect(line('active')).toMatch(/secondary 'dr', epoch 3 since 2026-12-03T10:00:00Z$/);
    expect(line('health')).toMatch(
      /primary down, 0 brokers alive \(no broker answered\); secondary healthy, 3 brokers alive \(probe 12 s ago\)/,
    );
    expect(line('lag')).toMatch(/dr -> main: 4 s behind, 120 records backlog$/);
    expect(line('readiness')).toMatch(
      /standby NOT READY \(audit 70 s ago\): error missing-topic payments: absent$/,
    );
    expect(line('failover')).toMatch(
      /last completed 2026-12-03T10:00:00Z, run fo-1 by alarm; steps: preflight/,
    );
    expect(line('failback')).toMatch(
      /IN PROGRESS since 2026-12-03T11:00:00Z, run fb-2 by alice; phases done: prepare, salvage/,
    );
  });

  it('says what is wrong with a torn configuration and shows an unreadable section as such', () => {
    const text =
      statusSummary({
        ...base,
        active: { ...base.active, state: 'torn', detail: 'the authority holds epoch 4 (primary)' },
        lastProbe: { error: 'AccessDenied: ssm:GetParameter' },
      }) ?? '';

    expect(text).toMatch(/^active\s+.*\[TORN: the authority holds epoch 4 \(primary\)\]$/m);
    expect(text).toMatch(/^health\s+unreadable: AccessDenied: ssm:GetParameter$/m);
  });

  it('tells a deployment that was never initialised what to run', () => {
    const text =
      statusSummary({ ...base, active: { state: 'not-initialised' }, lastProbe: null, readiness: null }) ??
      '';

    expect(text).toMatch(/^active\s+not initialised: .*'mm2-failover init'/m);
    expect(text).toMatch(/^health\s+no probe result yet/m);
    expect(text).toMatch(/^readiness\s+no audit yet/m);
  });

  it('declines an answer that is not a status, so the caller prints it as it came', () => {
    expect(statusSummary({ status: 'invalid', subject: 'status input', problems: [] })).toBeUndefined();
    expect(statusSummary(null)).toBeUndefined();
  });
});
