import { describe, expect, it } from 'vitest';
import { type PreflightDeps, preflight } from '#shared/failover/preflight.ts';
import { finding } from '#shared/readiness/finding.ts';
import type { FindingCode } from '#shared/readiness/finding-codes.ts';
import { toStoredReadiness } from '#shared/readiness/stored-readiness.ts';
import { FakeClock, testConfig } from './fakes.ts';

const down = { verdict: 'down' as const, reasons: [] };
const up = { verdict: 'up' as const, reasons: [] };

function stored(codes: FindingCode[]) {
  const findings = codes.map((code, i) =>
    finding({ code, topic: `t${i}`, expected: 'e', found: 'f', fix: 'x' }),
  );
  return JSON.parse(
    toStoredReadiness({
      deployment: 'orders-dr',
      auditedAt: '2026-12-01T11:55:00.000Z',
      durationMs: 1,
      ready: findings.every((f) => f.severity !== 'error'),
      complete: true,
      findings,
    }),
  );
}

async function run(
  readReadiness: PreflightDeps['readReadiness'],
  options: { refuseOn?: FindingCode[]; force?: boolean; enabled?: boolean } = {},
) {
  const clock = new FakeClock();
  return preflight(
    {
      request: { trigger: 'manual', force: options.force ?? false },
      config: testConfig({
        readiness: { refuseFailoverOn: options.refuseOn ?? [], enabled: options.enabled ?? true },
      }),
      now: clock.now(),
    },
    {
      reprobe: async (role) => (role === 'primary' ? down : up),
      readLag: async () => ({
        measuredAt: '2026-12-01T11:59:00.000Z',
        backlogRecords: 0,
        lagSeconds: 1,
        topics: [],
      }),
      ...(readReadiness ? { readReadiness } : {}),
      sleep: clock.sleep,
    },
  );
}

describe('preflight: standby readiness', () => {
  it('warns once per kind of error finding, with examples, and passes', async () => {
    const report = await run(async () => stored(['topic-missing', 'topic-missing', 'acls-not-describable']));
    expect(report.ok).toBe(true);
    expect(report.warnings).toEqual([
      {
        code: 'standby-not-ready',
        message:
          'readiness audit of 2026-12-01T11:55:00.000Z: 2 topic-missing findings (t0: expected e, found f; t1: expected e, found f)',
      },
    ]);
    expect(report.readiness).toEqual({
      auditedAt: '2026-12-01T11:55:00.000Z',
      ready: false,
      counts: { 'topic-missing': 2, 'acls-not-describable': 1 },
    });
  });

  it('refuses for the kinds the config lists, unless forced', async () => {
    const read = async () => stored(['config-mismatch', 'mirror-policy']);
    const refused = await run(read, { refuseOn: ['mirror-policy'] });
    expect(refused.ok).toBe(false);
    expect(refused.refusals).toEqual([
      {
        code: 'standby-not-ready',
        message:
          'readiness audit of 2026-12-01T11:55:00.000Z: 1 mirror-policy finding (t1: expected e, found f)',
      },
    ]);
    expect(refused.warnings.map((w) => w.message)).toEqual([
      expect.stringContaining('1 config-mismatch finding'),
    ]);

    const forced = await run(read, { refuseOn: ['mirror-policy'], force: true });
    expect(forced.ok).toBe(true);
    expect(forced.warnings.map((w) => w.code)).toContain('standby-not-ready');
  });

  it('warns when no audit was stored or it cannot be read, and judges nothing when readiness is disabled', async () => {
    expect((await run(async () => undefined)).warnings).toContainEqual({
      code: 'readiness-unknown',
      message: 'no standby readiness audit has been stored',
    });
    const failed = await run(async () => {
      throw new Error('AccessDenied');
    });
    expect(failed.ok).toBe(true);
    expect(failed.warnings).toContainEqual({
      code: 'readiness-read-failed',
      message: 'could not read the last readiness audit: Error: AccessDenied',
    });
    const disabled = await run(async () => stored(['topic-missing']), {
      refuseOn: ['topic-missing'],
      enabled: false,
    });
    expect(disabled.ok).toBe(true);
    expect(disabled.readiness).toBeUndefined();
  });
});
