import { describe, expect, it } from 'vitest';
import { parseDeploymentConfig } from '#shared/config/load.ts';
import { deploymentPaths } from '#shared/config/paths.ts';
import { deploymentStatus, type StatusDeps } from '#shared/status/status.ts';
import { writeActive } from '#shared/store/active-config.ts';
import type { JournalEntry } from '#shared/store/dynamo-journal.ts';
import { Redacted } from '#shared/store/redacted.ts';
import type { AuthorityRecord } from '#shared/switch/epoch-authority.ts';
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

function deps(stores: FakeStores, failover?: JournalEntry, authority?: AuthorityRecord): StatusDeps {
  return {
    stores,
    paths,
    authority: { read: async () => authority },
    failoverJournal: { latest: async () => failover },
    failbackJournal: {
      latest: async () => {
        throw Object.assign(new Error('denied'), { name: 'AccessDeniedException' });
      },
    },
    now: () => Date.parse('2026-11-21T10:00:30.000Z'),
  };
}

describe('deploymentStatus', () => {
  it('reports the active cluster, automation and the running failover, and an error only for the failing section', async () => {
    const stores = new FakeStores();
    await writeActive(
      stores,
      paths,
      {
        epoch: 2,
        cluster: 'secondary',
        alias: 'secondary',
        bootstrapServers: ['b:9092'],
        securityProtocol: 'PLAINTEXT',
        credentialsSecret: paths.activeCredentialsSecret,
        topics: { orders: { produce: 'orders', subscribe: ['orders'] } },
        switchedAt: '2026-11-21T10:00:00.000Z',
        reason: 'primary down',
      },
      new Redacted({}),
    );
    await stores.parameters.put(paths.automationParameter, 'disabled');
    const failover: JournalEntry = {
      kind: 'failover',
      runId: 'epoch-00000002',
      status: 'in-progress',
      plan: {},
      steps: [
        { name: 'offsets', result: {} },
        { name: 'secret', result: {} },
      ],
      startedAt: '2026-11-21T10:00:00.000Z',
      startedBy: 'alarm',
      updatedAt: '2026-11-21T10:00:01.000Z',
    };

    const status = await deploymentStatus(config, deps(stores, failover));

    expect(status.active).toMatchObject({ state: 'active', cluster: 'secondary', epoch: 2 });
    expect(status.automation).toBe('disabled');
    expect(status.lastProbe).toBeNull();
    expect(status.failover).toMatchObject({ status: 'in-progress', steps: ['offsets', 'secret'] });
    expect(status.failback).toEqual({ error: expect.stringContaining('AccessDeniedException') });
  });

  it('names the role a staged failback switch still holds back on the other cluster', async () => {
    const stores = new FakeStores();
    const topics = { orders: { produce: 'orders', subscribe: ['orders'] } };
    await writeActive(
      stores,
      paths,
      {
        epoch: 2,
        cluster: 'primary',
        alias: 'primary',
        bootstrapServers: ['p:9092'],
        securityProtocol: 'PLAINTEXT',
        credentialsSecret: paths.activeCredentialsSecret,
        topics,
        switchedAt: '2026-11-21T10:00:00.000Z',
        reason: 'failback stage 1/2 (consumers to the primary)',
        holdback: {
          role: 'producers',
          cluster: 'secondary',
          alias: 'secondary',
          bootstrapServers: ['s:9092'],
          securityProtocol: 'PLAINTEXT',
          credentialsSecret: paths.activeCredentialsSecret,
          topics,
        },
      },
      { active: new Redacted({}), holdback: new Redacted({}) },
    );

    const status = await deploymentStatus(config, deps(stores));

    expect(status.active).toMatchObject({
      state: 'active',
      cluster: 'primary',
      epoch: 2,
      holdback: { role: 'producers', cluster: 'secondary', alias: 'secondary' },
    });
  });

  it('says not-initialised before the first activation and names a hand-edited automation value', async () => {
    const stores = new FakeStores();
    await stores.parameters.put(paths.automationParameter, 'on');

    const status = await deploymentStatus(config, deps(stores));

    expect(status.active).toEqual({ state: 'not-initialised' });
    expect(status.automation).toEqual({ error: expect.stringContaining("expected 'enabled' or 'disabled'") });
  });

  it('refuses a last-probe parameter that does not match the probe result schema', async () => {
    const stores = new FakeStores();
    await stores.parameters.put(paths.lastProbeParameter, '{"version": 1}');

    const status = await deploymentStatus(config, deps(stores));

    expect(status.lastProbe).toEqual({ error: expect.stringContaining(paths.lastProbeParameter) });
  });
});
