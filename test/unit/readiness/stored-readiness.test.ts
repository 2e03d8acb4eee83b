import { describe, expect, it } from 'vitest';
import { deploymentPaths } from '#shared/config/paths.ts';
import type { ReadinessReport } from '#shared/readiness/audit.ts';
import { finding } from '#shared/readiness/finding.ts';
import { lastReadiness, toStoredReadiness } from '#shared/readiness/stored-readiness.ts';
import { FakeStores } from '../../fakes/stores.ts';

const paths = deploymentPaths('orders-dr');

function report(findings: ReadinessReport['findings']): ReadinessReport {
  return {
    deployment: 'orders-dr',
    auditedAt: '2026-12-01T12:00:00.000Z',
    durationMs: 420,
    ready: findings.every((f) => f.severity !== 'error'),
    complete: true,
    findings,
  };
}

describe('stored readiness', () => {
  it('keeps every finding of a small audit, without fixes or actions, and reads it back', async () => {
    const stores = new FakeStores();
    const r = report([
      finding({
        code: 'config-mismatch',
        topic: 'orders',
        expected: 'cleanup.policy=delete',
        found: 'cleanup.policy=compact',
        fix: 'AlterConfigs',
        action: {
          kind: 'alter-topic-configs',
          cluster: 'secondary',
          topic: 'orders',
          set: { 'cleanup.policy': 'delete' },
        },
      }),
    ]);
    await stores.parameters.put(paths.readinessParameter, toStoredReadiness(r));
    expect(await lastReadiness(stores.parameters, paths)()).toEqual({
      version: 1,
      deployment: 'orders-dr',
      auditedAt: '2026-12-01T12:00:00.000Z',
      durationMs: 420,
      ready: false,
      counts: { 'config-mismatch': 1 },
      findings: [
        {
          code: 'config-mismatch',
          severity: 'error',
          topic: 'orders',
          expected: 'cleanup.policy=delete',
          found: 'cleanup.policy=compact',
        },
      ],
    });
  });

  it('fits a thousand findings in an SSM Standard parameter: errors first, every kind counted', () => {
    const many = Array.from({ length: 1_000 }, (_, i) =>
      finding({
        code: 'topic-missing',
        topic: `topic-${i}`,
        expected: 'x'.repeat(500),
        found: 'absent',
        fix: 'f',
      }),
    );
    const info = finding({
      code: 'acls-not-describable',
      expected: 'e',
      found: 'SECURITY_DISABLED',
      fix: 'f',
    });
    const text = toStoredReadiness(report([info, ...many]));
    const stored = JSON.parse(text) as {
      findings: Array<{ code: string; expected: string }>;
      counts: unknown;
      findingsOmitted: number;
    };
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(4096);
    expect(stored.counts).toEqual({ 'topic-missing': 1_000, 'acls-not-describable': 1 });
    expect(stored.findings[0]?.code).toBe('topic-missing');
    expect(stored.findings[0]?.expected.length).toBeLessThanOrEqual(300);
    expect(stored.findings.length + stored.findingsOmitted).toBe(1_001);
  });

  it('answers undefined before the probe stored any, and refuses a parameter that is not an audit', async () => {
    const stores = new FakeStores();
    const read = lastReadiness(stores.parameters, paths);
    expect(await read()).toBeUndefined();
    await stores.parameters.put(paths.readinessParameter, '{"ready": "yes"}');
    await expect(read()).rejects.toThrow(paths.readinessParameter);
  });
});
