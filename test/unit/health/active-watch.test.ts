import { beforeEach, describe, expect, it } from 'vitest';
import type { ActiveConfig } from '#shared/config/contract.ts';
import { deploymentPaths } from '#shared/config/paths.ts';
import { ActiveWatch } from '#shared/health/active-watch.ts';
import { writeActive } from '#shared/store/active-config.ts';
import { Redacted } from '#shared/store/redacted.ts';
import { MemoryEpochAuthority } from '../../fakes/epoch-authority.ts';
import { FakeStores } from '../../fakes/stores.ts';
import { FakeClock, FakeLock } from '../failover/fakes.ts';

const paths = deploymentPaths('orders-dr');
const SECRET = paths.clusterSecret('secondary');

function active(epoch: number): ActiveConfig {
  return {
    epoch,
    cluster: 'secondary',
    alias: 'secondary',
    bootstrapServers: ['s:9092'],
    securityProtocol: 'SSL',
    credentialsSecret: paths.activeCredentialsSecret,
    topics: {},
    switchedAt: '2026-11-21T10:00:00.000Z',
    reason: 'failover',
  };
}

describe('ActiveWatch (the probe’s look at the active configuration)', () => {
  let clock: FakeClock;
  let authority: MemoryEpochAuthority;
  let stores: FakeStores;
  let asked: string[];
  const watch = () =>
    new ActiveWatch({
      stores,
      versions: stores.versions,
      authority,
      paths,
      ask: async ({ action }) => {
        asked.push(action);
      },
      logger: { warn: () => {} },
    });

  beforeEach(async () => {
    clock = new FakeClock();
    const lock = new FakeLock(clock);
    authority = new MemoryEpochAuthority(lock, clock);
    stores = new FakeStores();
    asked = [];
    await stores.secrets.put(SECRET, new Redacted('{}'));
    await lock.acquire('w');
    const claim = await authority.claim({
      expected: undefined,
      epoch: 7,
      writer: { kind: 'failover', runId: '0000000007' },
      holder: 'w',
      config: active(7),
      credentials: { active: { secret: SECRET, version: 'v1' } },
    });
    await writeActive(stores, paths, claim.record.config, new Redacted({}));
    await authority.complete(claim, new Date(clock.now()).toISOString());
  });

  it('reports the active cluster and epoch, and asks for nothing, when the stores hold the authority’s epoch', async () => {
    expect(await watch().observe(clock.now())).toEqual({
      state: 'ok',
      epoch: 7,
      cluster: 'secondary',
      rotated: false,
    });
    expect(asked).toEqual([]);
  });

  it('finds a secret regressed by a late write within one cycle and asks for a repair, once a minute at most', async () => {
    stores.secretValues.set(paths.activeCredentialsSecret, JSON.stringify({ epoch: 0, cluster: 'primary' }));
    const w = watch();

    const first = await w.observe(clock.now());
    const soon = await w.observe(clock.now() + 10_000);
    const later = await w.observe(clock.now() + 61_000);

    expect(first).toMatchObject({
      state: 'needs-repair',
      epoch: 7,
      requested: 'repair',
      detail: 'parameter epoch 7 (secondary), secret epoch 0 (primary)',
    });
    expect(soon.requested).toBeUndefined();
    expect(later.requested).toBe('repair');
    expect(asked).toEqual(['repair', 'repair']);
  });

  it('notices a rotated cluster secret by its version and asks for a credentials refresh', async () => {
    await stores.secrets.put(SECRET, new Redacted('{"rotated": true}'));

    const seen = await watch().observe(clock.now());

    expect(seen).toMatchObject({ state: 'ok', rotated: true, requested: 'refresh-credentials' });
    expect(asked).toEqual(['refresh-credentials']);
  });

  it('reports an unreadable store as unknown instead of failing the probe cycle', async () => {
    stores.failWith = Object.assign(new Error('throttled'), { name: 'ThrottlingException' });

    const seen = await watch().observe(clock.now());

    expect(seen.state).toBe('unknown');
    expect(asked).toEqual([]);
  });
});
