import { beforeEach, describe, expect, it } from 'vitest';
import type { ActiveConfig } from '#shared/config/contract.ts';
import { deploymentPaths } from '#shared/config/paths.ts';
import { LockHeldError } from '#shared/errors.ts';
import { activeParameterText } from '#shared/store/active-config.ts';
import { Redacted } from '#shared/store/redacted.ts';
import type { ClaimRequest } from '#shared/switch/epoch-authority.ts';
import { EpochClaimLostError } from '#shared/switch/epoch-authority.ts';
import { FencedWriteError, writeClaimed } from '#shared/switch/fenced-write.ts';
import { MemoryEpochAuthority } from '../../fakes/epoch-authority.ts';
import { FakeStores } from '../../fakes/stores.ts';
import { FakeClock, FakeLock } from '../failover/fakes.ts';

const paths = deploymentPaths('orders-dr');
const CREDS = {
  active: new Redacted({
    cert: '-----BEGIN CERTIFICATE-----\nS-CERT\n-----END CERTIFICATE-----',
    key: '-----BEGIN PRIVATE KEY-----\nS-KEY\n-----END PRIVATE KEY-----',
  }),
};

function config(epoch: number, cluster: 'primary' | 'secondary' = 'secondary'): ActiveConfig {
  return {
    epoch,
    cluster,
    alias: cluster,
    bootstrapServers: [cluster === 'primary' ? '127.0.0.1:19092' : '127.0.0.1:29092'],
    securityProtocol: 'SSL',
    credentialsSecret: paths.activeCredentialsSecret,
    topics: { orders: { produce: 'orders', subscribe: ['orders'] } },
    switchedAt: '2026-11-21T12:00:00.000Z',
    reason: 'test',
  };
}

/** `expected: 'none'` claims the very first epoch (nothing claimed before). */
function request(epoch: number, holder = 'w1', expected: number | 'none' = epoch - 1): ClaimRequest {
  return {
    expected: expected === 'none' ? undefined : expected,
    epoch,
    writer: { kind: 'failover', runId: `run-${epoch}` },
    holder,
    config: config(epoch),
    credentials: { active: { secret: 'mm2-failover/orders-dr/clusters/secondary' } },
  };
}

describe('writeClaimed', () => {
  let clock: FakeClock;
  let lock: FakeLock;
  let authority: MemoryEpochAuthority;
  let stores: FakeStores;
  const deps = () => ({ authority, stores, paths, clock });

  beforeEach(async () => {
    clock = new FakeClock();
    lock = new FakeLock(clock);
    authority = new MemoryEpochAuthority(lock, clock);
    stores = new FakeStores();
    await lock.acquire('w1');
  });

  it('checks the claim before each write, one after the other, then reads each write back', async () => {
    const claim = await authority.claim(request(1, 'w1', 'none'));
    authority.calls.length = 0;

    await writeClaimed({ claim, credentials: CREDS }, deps());

    expect(authority.calls).toEqual(['check', 'restamp', 'check', 'complete']);
    expect(stores.writes).toEqual([
      `secret ${paths.activeCredentialsSecret}`,
      `parameter ${paths.activeParameter}`,
      `parameter ${paths.activeBootstrapParameter}`,
    ]);
    expect(stores.secretJson(paths.activeCredentialsSecret)).toMatchObject({
      epoch: 1,
      cluster: 'secondary',
    });
    expect(authority.record?.state).toBe('written');
  });

  it('stamps switchedAt with the time of the parameter write, not of the claim', async () => {
    const claim = await authority.claim(request(1, 'w1', 'none'));
    clock.t += 90_000;

    const { config: written } = await writeClaimed({ claim, credentials: CREDS }, deps());

    expect(written.switchedAt).toBe(new Date(clock.t).toISOString());
    expect(stores.params.get(paths.activeParameter)?.value).toBe(activeParameterText(written));
    expect(authority.record?.config.switchedAt).toBe(written.switchedAt);
  });

  it('stops before its next write when its lease was taken over after the secret', async () => {
    const claim = await authority.claim(request(1, 'w1', 'none'));
    const onStep = async (step: string) => {
      if (step === 'secret') {
        clock.t += lock.leaseMs + 1;
        await lock.acquire('w2');
      }
    };

    await expect(writeClaimed({ claim, credentials: CREDS, onStep }, deps())).rejects.toBeInstanceOf(
      LockHeldError,
    );
    expect(stores.writes).toEqual([`secret ${paths.activeCredentialsSecret}`]);
  });

  it('stops before its next write when a newer epoch was claimed', async () => {
    const claim = await authority.claim(request(1, 'w1', 'none'));
    const onStep = async (step: string) => {
      if (step === 'secret') {
        clock.t += lock.leaseMs + 1;
        await lock.acquire('w2');
        await authority.claim(request(2, 'w2', 1));
        await lock.release('w2');
        await lock.acquire('w1');
      }
    };

    await expect(writeClaimed({ claim, credentials: CREDS, onStep }, deps())).rejects.toBeInstanceOf(
      EpochClaimLostError,
    );
    expect(stores.writes).toEqual([`secret ${paths.activeCredentialsSecret}`]);
  });

  it('abandons a write that does not answer within its deadline, and writes nothing after it', async () => {
    const claim = await authority.claim(request(1, 'w1', 'none'));
    const put = stores.parameters.put;
    stores.parameters.put = (name, value, options) =>
      name === paths.activeParameter
        ? new Promise((_, reject) => {
            options?.signal?.addEventListener('abort', () => reject(new Error('aborted')));
          })
        : put(name, value, options);

    const started = Date.now();
    const error = await writeClaimed({ claim, credentials: CREDS }, { ...deps(), callTimeoutMs: 50 }).catch(
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(FencedWriteError);
    expect((error as FencedWriteError).step).toBe('parameter');
    expect((error as Error).message).toMatch(/no answer within 50 ms/);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(stores.writes).toEqual([`secret ${paths.activeCredentialsSecret}`]);
    expect(authority.record?.state).toBe('claimed');
  });

  it('writes again when the read-back finds an older writer’s late write', async () => {
    const claim = await authority.claim(request(3, 'w1', 'none'));
    const get = stores.parameters.get;
    let raced = false;
    stores.parameters.get = async (name, options) => {
      if (name === paths.activeParameter && !raced) {
        raced = true;
        stores.params.set(name, { value: activeParameterText(config(2)), version: 99 });
      }
      return get(name, options);
    };

    await writeClaimed({ claim, credentials: CREDS }, deps());

    expect(JSON.parse(stores.params.get(paths.activeParameter)?.value ?? '{}')).toMatchObject({ epoch: 3 });
    expect(stores.writes.filter((w) => w === `parameter ${paths.activeParameter}`)).toHaveLength(2);
  });

  it('skips the steps an earlier invocation of the same claim wrote', async () => {
    const claim = await authority.claim(request(1, 'w1', 'none'));

    await writeClaimed({ claim, credentials: CREDS, done: new Set(['secret']) }, deps());

    expect(stores.writes).toEqual([
      `parameter ${paths.activeParameter}`,
      `parameter ${paths.activeBootstrapParameter}`,
    ]);
  });
});
