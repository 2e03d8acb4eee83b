import { describe, expect, it } from 'vitest';
import { parseDeploymentConfig } from '#shared/config/load.ts';
import { deploymentPaths } from '#shared/config/paths.ts';
import { finding } from '#shared/readiness/finding.ts';
import { toStoredReadiness } from '#shared/readiness/stored-readiness.ts';
import { deploymentStatus, type StatusDeps } from '#shared/status/status.ts';
import { FakeStores } from '../../fakes/stores.ts';

const config = parseDeploymentConfig({
  name: 'd',
  mode: 'active-passive',
  replicationPolicy: 'identity',
  clusters: { primary: { alias: 'primary', auth: 'none' }, secondary: { alias: 'secondary', auth: 'none' } },
  topics: ['orders'],
  mirror: { kind: 'manual' },
});
const paths = deploymentPaths('d');

const deps = (stores: FakeStores): StatusDeps => ({
  stores,
  paths,
  authority: { read: async () => undefined },
  failoverJournal: { latest: async () => undefined },
  failbackJournal: { latest: async () => undefined },
  now: () => Date.parse('2026-12-01T12:05:00.000Z'),
});

describe('deploymentStatus: readiness', () => {
  it("answers the probe's last readiness audit with its age and findings", async () => {
    const stores = new FakeStores();
    await stores.parameters.put(
      paths.readinessParameter,
      toStoredReadiness({
        deployment: 'd',
        auditedAt: '2026-12-01T12:00:00.000Z',
        durationMs: 300,
        ready: false,
        complete: true,
        findings: [
          finding({
            code: 'partition-count',
            topic: 'orders',
            expected: '6 partitions',
            found: '3',
            fix: 'f',
          }),
        ],
      }),
    );

    const status = await deploymentStatus(config, deps(stores));

    expect(status.readiness).toEqual({
      at: '2026-12-01T12:00:00.000Z',
      ageSeconds: 300,
      ready: false,
      counts: { 'partition-count': 1 },
      findings: [
        { code: 'partition-count', severity: 'error', topic: 'orders', expected: '6 partitions', found: '3' },
      ],
    });
  });

  it('answers null before any audit, and an error for an unreadable one while the rest still answers', async () => {
    const stores = new FakeStores();
    expect((await deploymentStatus(config, deps(stores))).readiness).toBeNull();
    await stores.parameters.put(paths.readinessParameter, 'not json');
    const status = await deploymentStatus(config, deps(stores));
    expect(status.readiness).toEqual({ error: expect.stringContaining(paths.readinessParameter) });
    expect(status.active).toEqual({ state: 'not-initialised' });
  });
});
