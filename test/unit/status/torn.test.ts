import { describe, expect, it } from 'vitest';
import { parseDeploymentConfig } from '#shared/config/load.ts';
import { deploymentPaths } from '#shared/config/paths.ts';
import { deploymentStatus, type StatusDeps } from '#shared/status/status.ts';
import { writeActiveStep } from '#shared/store/active-config.ts';
import { Redacted } from '#shared/store/redacted.ts';
import { FakeStores } from '../../fakes/stores.ts';

/**
 * Torn at rest used to be invisible: with the parameter at epoch 7 and the secret at epoch 0, status answered
 * `switch-in-flight` for as long as it lasted. It now says `torn` once a switch would have finished.
 */

const config = parseDeploymentConfig({
  name: 'd',
  mode: 'active-passive',
  replicationPolicy: 'identity',
  clusters: { primary: { alias: 'primary', auth: 'none' }, secondary: { alias: 'secondary', auth: 'none' } },
  topics: ['orders'],
  mirror: { kind: 'manual' },
});
const paths = deploymentPaths('d');
const now = Date.parse('2026-11-21T10:05:00.000Z');

function active(epoch: number, cluster: 'primary' | 'secondary') {
  return {
    epoch,
    cluster,
    alias: cluster,
    bootstrapServers: [`${cluster}:9092`],
    securityProtocol: 'PLAINTEXT' as const,
    credentialsSecret: paths.activeCredentialsSecret,
    topics: { orders: { produce: 'orders', subscribe: ['orders'] } },
    switchedAt: '2026-11-21T10:00:00.000Z',
    reason: 'failover',
  };
}

/** The stores with the parameter at epoch 7 and the secret at epoch 0, as a hand edit or a late write leaves them. */
async function tornStores(): Promise<FakeStores> {
  const stores = new FakeStores();
  await writeActiveStep(stores, paths, 'secret', active(0, 'primary'), new Redacted({}));
  await writeActiveStep(stores, paths, 'parameter', active(7, 'secondary'), new Redacted({}));
  await writeActiveStep(stores, paths, 'plain-parameters', active(7, 'secondary'), new Redacted({}));
  // What the probe found on its last cycle (it reads the secret; status does not).
  await stores.parameters.put(
    paths.lastProbeParameter,
    JSON.stringify({
      version: 1,
      deployment: 'd',
      cycle: 3,
      startedAt: '2026-11-21T10:04:50.000Z',
      durationMs: 40,
      deadlineMs: 5000,
      clusters: {
        primary: health('primary'),
        secondary: health('secondary'),
      },
      replication: [],
      active: {
        state: 'needs-repair',
        epoch: 7,
        cluster: 'secondary',
        detail: 'parameter epoch 7 (secondary), secret epoch 0 (primary)',
      },
    }),
  );
  return stores;
}

function health(role: 'primary' | 'secondary') {
  return {
    role,
    alias: role,
    verdict: 'up',
    reasons: [],
    latencyMs: 5,
    brokersAlive: 1,
    expectedBrokers: 1,
    partitions: { watched: 1, leaderless: 0, underReplicated: 0 },
    missingTopics: [],
  };
}

function deps(
  stores: FakeStores,
  authority: Awaited<ReturnType<StatusDeps['authority']['read']>>,
): StatusDeps {
  return {
    stores,
    paths,
    authority: { read: async () => authority },
    failoverJournal: { latest: async () => undefined },
    failbackJournal: { latest: async () => undefined },
    now: () => now,
  };
}

describe('deploymentStatus, torn at rest', () => {
  it('says torn, not switch-in-flight, when the parameter (epoch 7) and the secret (epoch 0) disagree', async () => {
    const stores = await tornStores();
    const authority = {
      epoch: 7,
      cluster: 'secondary' as const,
      writer: { kind: 'failover' as const, runId: '0000000007' },
      holder: 'req-7',
      claimedAt: '2026-11-21T10:00:00.000Z',
      state: 'written' as const,
      writtenAt: '2026-11-21T10:00:01.000Z',
      config: active(7, 'secondary'),
      credentials: { active: { secret: paths.clusterSecret('secondary') } },
    };

    const status = await deploymentStatus(config, deps(stores, authority));

    expect(status.active).toMatchObject({
      state: 'torn',
      cluster: 'secondary',
      epoch: 7,
      detail: 'the probe found: parameter epoch 7 (secondary), secret epoch 0 (primary)',
    });
  });

  it('says switch-in-flight while a claimed switch is younger than a switch takes, and torn after', async () => {
    const stores = await tornStores();
    const claimed = (claimedAt: string) => ({
      epoch: 8,
      cluster: 'primary' as const,
      writer: { kind: 'failback' as const, runId: '0000000007-x' },
      holder: 'req-8',
      claimedAt,
      state: 'claimed' as const,
      config: active(8, 'primary'),
      credentials: { active: { secret: paths.clusterSecret('primary') } },
    });

    const young = await deploymentStatus(config, deps(stores, claimed('2026-11-21T10:04:50.000Z')));
    const old = await deploymentStatus(config, deps(stores, claimed('2026-11-21T10:02:00.000Z')));

    expect(young.active).toMatchObject({ state: 'switch-in-flight', authorityEpoch: 8, parameterEpoch: 7 });
    expect(old.active).toMatchObject({ state: 'torn', authorityEpoch: 8, parameterEpoch: 7 });
  });
});
