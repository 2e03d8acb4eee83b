import { describe, expect, it, vi } from 'vitest';
import { deploymentPaths } from '#shared/config/paths.ts';
import type { MetricBatch } from '#shared/health/probe-metrics.ts';
import type { ReadinessReport } from '#shared/readiness/audit.ts';
import { finding } from '#shared/readiness/finding.ts';
import { ProbeReadiness } from '#shared/readiness/probe-readiness.ts';
import { FakeStores } from '../../fakes/stores.ts';
import { readinessConfig } from './fakes.ts';

const paths = deploymentPaths('orders-dr');
const up = { clusters: { primary: { verdict: 'up' as const }, secondary: { verdict: 'up' as const } } };
const primaryDown = {
  clusters: { primary: { verdict: 'down' as const }, secondary: { verdict: 'up' as const } },
};

function setup(reports: Array<Partial<ReadinessReport>> = [{}]) {
  let now = Date.parse('2026-12-01T12:00:00.000Z');
  const stores = new FakeStores();
  const emitted: MetricBatch[] = [];
  const logger = { info: vi.fn(), warn: vi.fn() };
  const audit = vi.fn(
    async (): Promise<ReadinessReport> => ({
      deployment: 'orders-dr',
      auditedAt: new Date(now).toISOString(),
      durationMs: 10,
      ready: true,
      complete: true,
      findings: [],
      ...(reports.shift() ?? {}),
    }),
  );
  const check = new ProbeReadiness(readinessConfig(), {
    audit,
    parameters: stores.parameters,
    paths,
    metrics: { emit: (b) => emitted.push(b) },
    logger,
    clock: { now: () => now },
  });
  return { check, audit, stores, emitted, logger, advance: (ms: number) => (now += ms) };
}

describe('ProbeReadiness', () => {
  it('audits on the first cycle, then once per interval, stores the result and emits StandbyReady', async () => {
    const { check, audit, stores, emitted, advance } = setup([
      {},
      {
        ready: false,
        findings: [
          finding({ code: 'topic-missing', topic: 'orders', expected: 'e', found: 'absent', fix: 'f' }),
        ],
      },
    ]);
    await check.afterCycle(up, 60_000);
    advance(10_000);
    expect(check.afterCycle(up, 60_000)).toBeUndefined();
    advance(290_000);
    await check.afterCycle(up, 60_000);

    expect(audit).toHaveBeenCalledTimes(2);
    expect(emitted.map((b) => [b.dimensions, b.metrics])).toEqual([
      [{ Deployment: 'orders-dr' }, [{ name: 'StandbyReady', unit: 'Count', value: 1 }]],
      [{ Deployment: 'orders-dr' }, [{ name: 'StandbyReady', unit: 'Count', value: 0 }]],
    ]);
    expect(JSON.parse(stores.params.get(paths.readinessParameter)?.value ?? '{}')).toMatchObject({
      ready: false,
      counts: { 'topic-missing': 1 },
    });
  });

  it('keeps the audit from before the disaster: none starts while a cluster is down', async () => {
    const { check, audit } = setup();
    expect(check.afterCycle(primaryDown, 60_000)).toBeUndefined();
    expect(audit).not.toHaveBeenCalled();
  });

  it('neither stores nor emits an incomplete audit', async () => {
    const { check, stores, emitted, logger } = setup([{ complete: false, ready: false }]);
    await check.afterCycle(up, 60_000);
    expect(stores.params.has(paths.readinessParameter)).toBe(false);
    expect(emitted).toEqual([]);
    expect(logger.warn).toHaveBeenCalledWith(
      'readiness audit incomplete; the last stored result stands',
      expect.anything(),
    );
  });

  it('starts no audit that would outlast the invocation, nor a second beside a running one', async () => {
    const { check, audit } = setup();
    expect(check.afterCycle(up, 5_000)).toBeUndefined();
    const first = check.afterCycle(up, 60_000);
    expect(check.afterCycle(up, 60_000)).toBeUndefined();
    await first;
    expect(audit).toHaveBeenCalledTimes(1);
  });

  it('logs a failed audit and never rejects', async () => {
    const { check, audit, logger } = setup();
    audit.mockRejectedValueOnce(new Error('boom'));
    await expect(check.afterCycle(up, 60_000)).resolves.toBeUndefined();
    expect(logger.warn).toHaveBeenCalledWith('readiness audit failed; the last stored result stands', {
      error: 'Error: boom',
    });
  });

  it('does nothing when the deployment disables the audit', () => {
    const check = new ProbeReadiness(readinessConfig({ readiness: { enabled: false } }), {
      audit: vi.fn(),
      parameters: new FakeStores().parameters,
      paths,
      metrics: { emit: vi.fn() },
      logger: { info: vi.fn(), warn: vi.fn() },
    });
    expect(check.afterCycle(up, 60_000)).toBeUndefined();
  });
});
