import { beforeEach, describe, expect, it } from 'vitest';
import type { ActiveConfig } from '#shared/config/contract.ts';
import { deploymentPaths } from '#shared/config/paths.ts';
import { RefusedError } from '#shared/errors.ts';
import { parseFailoverFunctionInput } from '#shared/failover/input.ts';
import { writeActive } from '#shared/store/active-config.ts';
import { Redacted } from '#shared/store/redacted.ts';
import { inspectAtRest } from '#shared/switch/at-rest.ts';
import { runMaintenance } from '#shared/switch/maintenance.ts';
import { MemoryEpochAuthority } from '../../fakes/epoch-authority.ts';
import { FakeStores } from '../../fakes/stores.ts';
import { FakeClock, FakeLock } from '../failover/fakes.ts';

const paths = deploymentPaths('orders-dr');
const SECRET = paths.clusterSecret('secondary');
const cert = (n: number) => ({
  cert: `-----BEGIN CERTIFICATE-----\nCERT-${n}\n-----END CERTIFICATE-----`,
  key: `-----BEGIN PRIVATE KEY-----\nKEY-${n}\n-----END PRIVATE KEY-----`,
});

function active(epoch: number): ActiveConfig {
  return {
    epoch,
    cluster: 'secondary',
    alias: 'secondary',
    bootstrapServers: ['s:9092'],
    securityProtocol: 'SSL',
    credentialsSecret: paths.activeCredentialsSecret,
    topics: { orders: { produce: 'orders', subscribe: ['orders'] } },
    switchedAt: '2026-11-21T10:00:00.000Z',
    reason: 'failover',
  };
}

describe('runMaintenance', () => {
  let clock: FakeClock;
  let lock: FakeLock;
  let authority: MemoryEpochAuthority;
  let stores: FakeStores;
  const deps = () => ({
    paths,
    stores,
    versions: stores.versions,
    lock,
    authority,
    clock,
    logger: { info: () => {}, warn: () => {} },
  });
  const request = (operation: 'repair' | 'refresh-credentials', force = false) => ({
    operation,
    reason: 'test',
    requestedBy: 'alice',
    force,
  });

  beforeEach(async () => {
    clock = new FakeClock();
    lock = new FakeLock(clock);
    authority = new MemoryEpochAuthority(lock, clock);
    stores = new FakeStores();
    // The secondary active at epoch 3, its credentials copied from its cluster secret at version v1.
    await stores.secrets.put(SECRET, new Redacted(JSON.stringify(cert(1))));
    await lock.acquire('failover-1');
    const claim = await authority.claim({
      expected: undefined,
      epoch: 3,
      writer: { kind: 'failover', runId: '0000000003' },
      holder: 'failover-1',
      config: active(3),
      credentials: { active: { secret: SECRET, version: 'v1' } },
    });
    await writeActive(stores, paths, claim.record.config, new Redacted(cert(1)));
    await authority.complete(claim, new Date(clock.now()).toISOString());
    await lock.release('failover-1');
  });

  it('republishes rotated credentials at the next epoch, same cluster, and leaves them alone when nothing rotated', async () => {
    const unchanged = await runMaintenance(request('refresh-credentials'), 'req-1', deps());
    await stores.secrets.put(SECRET, new Redacted(JSON.stringify(cert(2))));

    const refreshed = await runMaintenance(request('refresh-credentials'), 'req-2', deps());

    expect(unchanged).toMatchObject({ status: 'unchanged', epoch: 3, version: 'v1' });
    expect(refreshed).toEqual({
      status: 'refreshed',
      epoch: 4,
      cluster: 'secondary',
      rotated: [{ secret: SECRET, from: 'v1', to: 'v2' }],
    });
    expect(stores.secretJson(paths.activeCredentialsSecret)).toMatchObject({
      epoch: 4,
      cluster: 'secondary',
      ...cert(2),
    });
    expect(authority.record).toMatchObject({
      epoch: 4,
      writer: { kind: 'refresh' },
      credentials: { active: { version: 'v2' } },
    });
    expect(JSON.stringify(refreshed)).not.toContain('KEY-2');
    expect(lock.holder).toBeUndefined();
  });

  it('refuses to refresh over stores that do not hold the authority’s epoch, and writes nothing', async () => {
    await stores.secrets.put(SECRET, new Redacted(JSON.stringify(cert(2))));
    stores.params.set(paths.activeParameter, { value: 'not json', version: 9 });
    const writes = stores.writes.length;

    const error = await runMaintenance(request('refresh-credentials'), 'req-1', deps()).catch(
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(RefusedError);
    expect((error as RefusedError).reasons[0]?.code).toBe('not-consistent');
    expect(stores.writes).toHaveLength(writes);
  });

  it('repairs a torn configuration to the authority’s epoch under the lock', async () => {
    stores.secretValues.set(paths.activeCredentialsSecret, JSON.stringify({ epoch: 1, cluster: 'primary' }));

    const result = await runMaintenance(request('repair'), 'req-1', deps());

    expect(result).toMatchObject({ status: 'repaired', epoch: 3, written: ['secret'] });
    const atRest = await inspectAtRest(stores, paths);
    expect([atRest.parameter, atRest.secret]).toEqual([
      { state: 'ok', epoch: 3, cluster: 'secondary' },
      { state: 'ok', epoch: 3, cluster: 'secondary' },
    ]);
  });
});

describe('parseFailoverFunctionInput', () => {
  it('tells maintenance requests from failover triggers and refuses unknown fields', () => {
    expect(parseFailoverFunctionInput({ action: 'repair', reason: 'torn', requestedBy: 'probe' })).toEqual({
      operation: 'repair',
      reason: 'torn',
      requestedBy: 'probe',
      force: false,
    });
    expect(
      parseFailoverFunctionInput({ action: 'failover', reason: 'down!', requestedBy: 'bob' }),
    ).toMatchObject({
      operation: 'failover',
      trigger: 'manual',
    });
    expect(() =>
      parseFailoverFunctionInput({
        action: 'refresh-credentials',
        reason: 'x',
        requestedBy: 'bob',
        forced: true,
      }),
    ).toThrow(/refresh-credentials request: 2 problems/);
  });
});
