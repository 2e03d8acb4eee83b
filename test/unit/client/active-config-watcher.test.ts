import { describe, expect, it } from 'vitest';
import type { ActiveClientConfig } from '#shared/client/active-client-config.ts';
import { ActiveConfigWatcher, type WatchActiveConfigOptions } from '#shared/client/active-config-watcher.ts';
import type { ActiveConfig } from '#shared/config/contract.ts';
import { deploymentPaths } from '#shared/config/paths.ts';
import {
  AccessDeniedError,
  EpochRegressionError,
  MissingConfigurationError,
  type Mm2FailoverError,
  TornReadError,
  ValidationError,
} from '#shared/errors.ts';
import type { Stores } from '#shared/store/active-config.ts';
import { writeActive, writeActiveStep } from '#shared/store/active-config.ts';
import { Redacted } from '#shared/store/redacted.ts';
import { FakeStores } from '../../fakes/stores.ts';
import { FakeClock } from './fake-clock.ts';
import { MemoryLogger } from './fakes.ts';

const paths = deploymentPaths('d');
const creds = new Redacted({ username: 'app', password: 'hunter2' });

function active(epoch: number, cluster: 'primary' | 'secondary'): ActiveConfig {
  return {
    epoch,
    cluster,
    alias: cluster,
    bootstrapServers: [`${cluster}:9092`],
    securityProtocol: 'SASL_SSL',
    sasl: { mechanism: 'scram-sha-512' },
    credentialsSecret: paths.activeCredentialsSecret,
    topics: { orders: { produce: cluster === 'primary' ? 'orders' : 'primary.orders', subscribe: ['x'] } },
    switchedAt: '2026-11-21T10:00:00.000Z',
    reason: `to ${cluster}`,
  };
}

/** Counts store calls by kind, as the benchmark does. */
function counting(stores: FakeStores): Stores & { calls: { parameter: number; secret: number } } {
  const calls = { parameter: 0, secret: 0 };
  return {
    calls,
    parameters: {
      get: (name) => {
        calls.parameter += 1;
        return stores.parameters.get(name);
      },
      put: (name, value, options) => stores.parameters.put(name, value, options),
    },
    secrets: {
      get: (name) => {
        calls.secret += 1;
        return stores.secrets.get(name);
      },
      put: (name, value) => stores.secrets.put(name, value),
    },
  };
}

async function setup(extra: Pick<WatchActiveConfigOptions, 'pollVia' | 'tornReadDeadlineMs'> = {}): Promise<{
  stores: FakeStores;
  counted: ReturnType<typeof counting>;
  watcher: ActiveConfigWatcher;
  errors: Error[];
  switches: Array<[ActiveClientConfig, ActiveClientConfig]>;
  clock: FakeClock;
}> {
  const stores = new FakeStores();
  await writeActive(stores, paths, active(1, 'primary'), creds);
  const counted = counting(stores);
  const errors: Error[] = [];
  const switches: Array<[ActiveClientConfig, ActiveClientConfig]> = [];
  const clock = new FakeClock();
  const watcher = new ActiveConfigWatcher({
    deployment: 'd',
    stores: counted,
    kafka: { clientId: 'test' },
    onError: (e) => errors.push(e),
    clock,
    logger: new MemoryLogger(),
    ...extra,
  });
  watcher.subscribe((next, prev) => {
    switches.push([next, prev]);
  });
  return { stores, counted, watcher, errors, switches, clock };
}

describe('ActiveConfigWatcher', () => {
  it('reads only the parameter on a poll when the epoch has not changed', async () => {
    const { counted, watcher, switches } = await setup();
    await startWithoutLoop(watcher);
    const before = { ...counted.calls };

    const outcomes = [await watcher.poll(), await watcher.poll(), await watcher.poll()];

    expect(outcomes.map((o) => o.kind)).toEqual(['unchanged', 'unchanged', 'unchanged']);
    expect(counted.calls.parameter - before.parameter).toBe(3);
    expect(counted.calls.secret - before.secret).toBe(0);
    expect(switches).toHaveLength(0);
  });

  it('hands subscribers the rotated credentials when a new epoch keeps the cluster (refresh-credentials)', async () => {
    const { stores, watcher, switches } = await setup();
    await startWithoutLoop(watcher);
    await writeActive(
      stores,
      paths,
      { ...active(2, 'primary'), reason: 'credentials refreshed' },
      new Redacted({ username: 'app', password: 'rotated-password' }),
    );

    const outcome = await watcher.poll();

    expect(outcome).toEqual({ kind: 'switched', from: 1, to: 2 });
    const [next, prev] = switches[0] ?? [];
    expect([prev?.cluster, next?.cluster]).toEqual(['primary', 'primary']);
    expect([prev?.kafka.reveal().sasl, next?.kafka.reveal().sasl]).toMatchObject([
      { password: 'hunter2' },
      { password: 'rotated-password' },
    ]);
    expect(watcher.current().kafka.reveal().sasl).toMatchObject({ password: 'rotated-password' });
  });

  it('reads the secret and calls back with the new and previous configuration when the epoch changes', async () => {
    const { stores, counted, watcher, switches } = await setup();
    await startWithoutLoop(watcher);
    await writeActive(stores, paths, active(2, 'secondary'), creds);
    const secretReadsBefore = counted.calls.secret;

    const outcome = await watcher.poll();

    expect(outcome).toEqual({ kind: 'switched', from: 1, to: 2 });
    expect(counted.calls.secret - secretReadsBefore).toBe(1);
    expect(switches).toHaveLength(1);
    const [next, prev] = switches[0] ?? [];
    expect(next?.cluster).toBe('secondary');
    expect(next?.kafka.reveal().brokers).toEqual(['secondary:9092']);
    expect(next?.topics.orders?.produce).toBe('primary.orders');
    expect(prev?.epoch).toBe(1);
    expect(watcher.current().epoch).toBe(2);
  });

  it.each([
    [
      'the parameter was deleted',
      (s: FakeStores) => s.params.delete(paths.activeParameter),
      MissingConfigurationError,
      /missing parameter \/mm2-failover\/d\/active/,
    ],
    [
      'the parameter was edited by hand into bad JSON',
      (s: FakeStores) => s.params.set(paths.activeParameter, { value: '{ "epoch": 2', version: 7 }),
      ValidationError,
      /invalid parameter \/mm2-failover\/d\/active.*\n.*expected JSON/,
    ],
    [
      'the secret is missing at the new epoch',
      (s: FakeStores) => {
        s.params.set(paths.activeParameter, { value: JSON.stringify(active(2, 'secondary')), version: 7 });
        s.secretValues.delete(paths.activeCredentialsSecret);
      },
      MissingConfigurationError,
      /missing secret mm2-failover\/d\/active-credentials/,
    ],
    [
      'a staged failback epoch holds producers back but its secret lacks their credentials',
      (s: FakeStores) => {
        const held = active(2, 'secondary');
        const stage1: ActiveConfig = {
          ...active(2, 'primary'),
          holdback: {
            role: 'producers',
            cluster: 'secondary',
            alias: held.alias,
            bootstrapServers: held.bootstrapServers,
            securityProtocol: held.securityProtocol,
            credentialsSecret: paths.activeCredentialsSecret,
            topics: held.topics,
          },
        };
        s.params.set(paths.activeParameter, { value: JSON.stringify(stage1), version: 7 });
        s.secretValues.set(
          paths.activeCredentialsSecret,
          JSON.stringify({ epoch: 2, cluster: 'primary', username: 'app', password: 'hunter2' }),
        );
      },
      MissingConfigurationError,
      /missing holdback credentials in secret mm2-failover\/d\/active-credentials at epoch 2: its parameter keeps producers on secondary/,
    ],
    [
      'the epoch went down',
      (s: FakeStores) =>
        s.params.set(paths.activeParameter, { value: JSON.stringify(active(0, 'secondary')), version: 7 }),
      EpochRegressionError,
      /expected an epoch of at least 1, found 0; keeping epoch 1/,
    ],
  ])(
    'keeps the last good configuration and reports a named error when %s',
    async (_what, breakIt, type, message) => {
      // Arrange
      const { stores, watcher, errors, switches } = await setup();
      await startWithoutLoop(watcher);
      breakIt(stores);

      // Act
      const outcome = await watcher.poll();

      // Assert
      expect(outcome.kind).toBe('failed');
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(type);
      expect(errors[0]?.message).toMatch(message);
      expect(watcher.current().epoch).toBe(1);
      expect(watcher.current().cluster).toBe('primary');
      expect(switches).toHaveLength(0);
      expect(watcher.status()).toMatchObject({ epoch: 1, consecutiveFailures: 1, lastError: errors[0] });
    },
  );

  it('keeps the last good configuration when access is denied, and follows once access is back', async () => {
    // Arrange: a store that denies reads while `denied` is set.
    const stores = new FakeStores();
    await writeActive(stores, paths, active(1, 'primary'), creds);
    let denied = false;
    const guarded: Stores = {
      parameters: {
        get: async (name) => {
          if (denied) throw new AccessDeniedError(`parameter ${name}`);
          return stores.parameters.get(name);
        },
        put: stores.parameters.put,
      },
      secrets: stores.secrets,
    };
    const errors: Error[] = [];
    const watcher = new ActiveConfigWatcher({
      deployment: 'd',
      stores: guarded,
      kafka: { clientId: 't' },
      onError: (e) => errors.push(e),
      clock: new FakeClock(),
    });
    await startWithoutLoop(watcher);
    denied = true;
    await writeActive(stores, paths, active(2, 'secondary'), creds);

    // Act
    const whileDenied = [await watcher.poll(), await watcher.poll()];
    denied = false;
    const after = await watcher.poll();

    // Assert
    expect(whileDenied.map((o) => o.kind)).toEqual(['failed', 'failed']);
    expect(errors.map((e) => e.name)).toEqual(['AccessDeniedError', 'AccessDeniedError']);
    expect(errors[0]?.message).toBe('access denied to parameter /mm2-failover/d/active');
    expect(after).toEqual({ kind: 'switched', from: 1, to: 2 });
    expect(watcher.status()).toMatchObject({ epoch: 2, consecutiveFailures: 0 });
  });

  it('recovers on a later poll after the hand-edited parameter is repaired by the next switch', async () => {
    const { stores, watcher, errors } = await setup();
    await startWithoutLoop(watcher);
    stores.params.set(paths.activeParameter, { value: 'not json', version: 3 });
    await watcher.poll();

    await writeActive(stores, paths, active(2, 'secondary'), creds);
    const outcome = await watcher.poll();

    expect(errors).toHaveLength(1);
    expect(outcome).toEqual({ kind: 'switched', from: 1, to: 2 });
  });

  it('keeps polling and tells a second subscriber even when the first one throws', async () => {
    const stores = new FakeStores();
    await writeActive(stores, paths, active(1, 'primary'), creds);
    const logger = new MemoryLogger();
    const w = new ActiveConfigWatcher({
      deployment: 'd',
      stores,
      kafka: { clientId: 't' },
      logger,
      clock: new FakeClock(),
    });
    w.subscribe(() => {
      throw new Error('subscriber bug');
    });
    const seen: number[] = [];
    w.subscribe((next) => {
      seen.push(next.epoch);
    });
    await startWithoutLoop(w);
    await writeActive(stores, paths, active(2, 'secondary'), creds);

    const outcome = await w.poll();

    expect(outcome.kind).toBe('switched');
    expect(seen).toEqual([2]);
    expect(
      logger.lines.some((l) => l.level === 'error' && String(l.attributes?.error).includes('subscriber bug')),
    ).toBe(true);
  });

  it('waits the interval plus or minus the jitter between polls', () => {
    const clock = new FakeClock();
    const w = new ActiveConfigWatcher({
      deployment: 'd',
      stores: new FakeStores(),
      kafka: { clientId: 't' },
      intervalMs: 5_000,
      jitter: 0.2,
      clock,
    });

    const delays = [0, 0.5, 0.999].map((r) => {
      clock.randomValue = r;
      return w.nextDelayMs();
    });

    expect(delays).toEqual([4_000, 5_000, 5_998]);
    expect(w.maxPollDelayMs).toBe(6_000);
  });

  it('polls in the background after start() until stop()', async () => {
    // Arrange: each background sleep lets the test count polls; stop after the third.
    const stores = new FakeStores();
    await writeActive(stores, paths, active(1, 'primary'), creds);
    const counted = counting(stores);
    const clock = new FakeClock();
    const w = new ActiveConfigWatcher({ deployment: 'd', stores: counted, kafka: { clientId: 't' }, clock });
    let stopped: Promise<void> | undefined;
    clock.onSleep = async () => {
      if (clock.sleeps.length === 3) {
        await writeActive(stores, paths, active(2, 'secondary'), creds);
      }
      if (clock.sleeps.length === 4) stopped = w.stop();
    };

    // Act
    const first = await w.start();
    await waitUntil(() => stopped !== undefined);
    await stopped;

    // Assert: start read both; 3 polls read the parameter; the third saw epoch 2 and read the secret once more.
    expect(first.epoch).toBe(1);
    expect(w.current().epoch).toBe(2);
    expect(counted.calls.secret).toBe(2);
    expect(counted.calls.parameter).toBe(1 + 3 + 1);
    expect(clock.sleeps.every((ms) => ms >= 4_000 && ms <= 6_000)).toBe(true);
  });

  it('fails start() with the named error when the configuration cannot be read at all', async () => {
    const w = new ActiveConfigWatcher({
      deployment: 'd',
      stores: new FakeStores(),
      kafka: { clientId: 't' },
      clock: new FakeClock(),
    });

    await expect(w.start()).rejects.toBeInstanceOf(MissingConfigurationError);
    expect(() => w.current()).toThrow(/start\(\)/);
  });
});

describe("ActiveConfigWatcher with pollVia: 'secret'", () => {
  it('reads only the secret on a poll when the epoch has not changed: no SSM call', async () => {
    const { counted, watcher, switches } = await setup({ pollVia: 'secret' });
    await startWithoutLoop(watcher);
    const before = { ...counted.calls };

    const outcomes = [await watcher.poll(), await watcher.poll(), await watcher.poll()];

    expect(outcomes.map((o) => o.kind)).toEqual(['unchanged', 'unchanged', 'unchanged']);
    expect(counted.calls.parameter - before.parameter).toBe(0);
    expect(counted.calls.secret - before.secret).toBe(3);
    expect(switches).toHaveLength(0);
  });

  it('follows a switch with one parameter read', async () => {
    const { stores, counted, watcher, switches } = await setup({ pollVia: 'secret' });
    await startWithoutLoop(watcher);
    await writeActive(stores, paths, active(2, 'secondary'), creds);
    const before = { ...counted.calls };

    const outcome = await watcher.poll();

    expect(outcome).toEqual({ kind: 'switched', from: 1, to: 2 });
    expect(counted.calls.parameter - before.parameter).toBe(1);
    expect(counted.calls.secret - before.secret).toBe(2);
    expect(switches.map(([next, prev]) => [prev.cluster, next.cluster])).toEqual([['primary', 'secondary']]);
    expect(watcher.current().kafka.reveal().brokers).toEqual(['secondary:9092']);
  });

  it('reports no change, without an error or a wait, when a poll lands between the secret write and the parameter write', async () => {
    const { stores, counted, watcher, switches, errors, clock } = await setup({ pollVia: 'secret' });
    await startWithoutLoop(watcher);
    const next = active(2, 'secondary');
    await writeActiveStep(stores, paths, 'secret', next, creds);
    const before = { ...counted.calls };
    const sleepsBefore = clock.sleeps.length;

    const torn = await watcher.poll();

    expect(torn).toEqual({ kind: 'unchanged', epoch: 1 });
    expect(counted.calls.parameter - before.parameter).toBe(1);
    expect(clock.sleeps.length).toBe(sleepsBefore);
    expect(errors).toEqual([]);
    expect(watcher.current().epoch).toBe(1);

    await writeActiveStep(stores, paths, 'parameter', next, creds);
    expect(await watcher.poll()).toEqual({ kind: 'switched', from: 1, to: 2 });
    expect(switches).toHaveLength(1);
  });

  it('reports a TornReadError once a switch has stayed half-written for tornReadDeadlineMs, one parameter read per poll', async () => {
    const { stores, counted, watcher, errors, clock } = await setup({
      pollVia: 'secret',
      tornReadDeadlineMs: 10_000,
    });
    await startWithoutLoop(watcher);
    await writeActiveStep(stores, paths, 'secret', active(2, 'secondary'), creds);
    const before = counted.calls.parameter;

    const outcomes = [];
    for (let i = 0; i < 3; i += 1) {
      outcomes.push((await watcher.poll()).kind);
      clock.t += 5_000;
    }

    expect(outcomes).toEqual(['unchanged', 'unchanged', 'failed']);
    expect(counted.calls.parameter - before).toBe(3);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(TornReadError);
    expect(errors[0]?.message).toMatch(
      /still torn after 10000 ms: expected the parameter's epoch \(1\) to equal the secret's \(2\)/,
    );
    expect(watcher.current().epoch).toBe(1);
  });

  it.each([
    [
      'the secret was deleted',
      (s: FakeStores) => s.secretValues.delete(paths.activeCredentialsSecret),
      MissingConfigurationError,
      /missing secret mm2-failover\/d\/active-credentials \(the active credentials/,
    ],
    [
      'the secret holds no epoch',
      (s: FakeStores) =>
        s.secretValues.set(paths.activeCredentialsSecret, '{"username":"app","password":"hunter2"}'),
      MissingConfigurationError,
      /expected JSON \{ epoch, cluster, \.\.\.credentials \}/,
    ],
    [
      "the secret's epoch went down",
      (s: FakeStores) =>
        s.secretValues.set(
          paths.activeCredentialsSecret,
          JSON.stringify({ epoch: 0, cluster: 'primary', username: 'app', password: 'hunter2' }),
        ),
      EpochRegressionError,
      /secret mm2-failover\/d\/active-credentials.*expected an epoch of at least 1, found 0/,
    ],
  ])(
    'keeps the last good configuration and reports a named error when %s',
    async (_what, breakIt, type, message) => {
      const { stores, watcher, errors } = await setup({ pollVia: 'secret' });
      await startWithoutLoop(watcher);
      breakIt(stores);

      const outcome = await watcher.poll();

      expect(outcome.kind).toBe('failed');
      expect(errors[0]).toBeInstanceOf(type);
      expect(errors[0]?.message).toMatch(message);
      expect(errors[0]?.message).not.toContain('hunter2');
      expect(watcher.current().epoch).toBe(1);
    },
  );

  it('refuses an unknown pollVia', () => {
    expect(
      () =>
        new ActiveConfigWatcher({
          deployment: 'd',
          stores: new FakeStores(),
          kafka: { clientId: 'test' },
          pollVia: 'dynamodb' as 'secret',
        }),
    ).toThrow(/pollVia: expected 'parameter' or 'secret', got dynamodb/);
  });
});

describe('ActiveConfigWatcher deadline', () => {
  /**
   * Stores over `stores` whose reads hang while `hang` says so, as an endpoint that accepts connections and never
   * answers: the AWS SDK ends such a call only when its abort signal fires, and so does this one. `signals` keeps
   * what each read was given.
   */
  function hanging(stores: FakeStores, hang: { parameter: boolean; secret: boolean }) {
    const signals: Array<{ read: string; signal: AbortSignal | undefined }> = [];
    const hangUntilAborted = (signal: AbortSignal | undefined) =>
      new Promise<never>((_, reject) => {
        signal?.addEventListener('abort', () =>
          reject(Object.assign(new Error('aborted'), { name: 'AbortError' })),
        );
      });
    const wrapped: Stores = {
      parameters: {
        get: (name, options) => {
          signals.push({ read: 'parameter', signal: options?.signal });
          return hang.parameter ? hangUntilAborted(options?.signal) : stores.parameters.get(name);
        },
        put: stores.parameters.put,
      },
      secrets: {
        get: (name, options) => {
          signals.push({ read: 'secret', signal: options?.signal });
          return hang.secret ? hangUntilAborted(options?.signal) : stores.secrets.get(name);
        },
        put: stores.secrets.put,
      },
    };
    return { stores: wrapped, signals };
  }

  async function watching(stores: Stores, errors: Error[], pollTimeoutMs = 50) {
    const watcher = new ActiveConfigWatcher({
      deployment: 'd',
      stores,
      kafka: { clientId: 't' },
      pollTimeoutMs,
      onError: (e) => errors.push(e),
      logger: new MemoryLogger(),
    });
    return watcher;
  }

  it('fails a poll on a hung parameter read at its deadline, keeps the last good configuration, and follows the next switch once reads answer', async () => {
    // Arrange
    const fake = new FakeStores();
    await writeActive(fake, paths, active(1, 'primary'), creds);
    const hang = { parameter: false, secret: false };
    const { stores, signals } = hanging(fake, hang);
    const errors: Error[] = [];
    const watcher = await watching(stores, errors);
    await startWithoutLoop(watcher);
    hang.parameter = true;
    await writeActive(fake, paths, active(2, 'secondary'), creds);

    // Act
    const started = Date.now();
    const hung = await watcher.poll();
    const tookMs = Date.now() - started;
    const hungRead = signals.at(-1);
    hang.parameter = false;
    const answered = await watcher.poll();

    // Assert
    expect(hung.kind).toBe('failed');
    expect(tookMs).toBeLessThan(2_000);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toBe(
      "active configuration of deployment 'd': expected SSM and Secrets Manager to answer within 50 ms " +
        '(pollTimeoutMs), got no answer in time',
    );
    expect((errors[0] as Mm2FailoverError).retriable).toBe(true);
    expect(errors[0]?.cause).toMatchObject({ name: 'TimeoutError' });
    expect(hungRead).toMatchObject({ read: 'parameter', signal: { aborted: true } });
    expect(answered).toEqual({ kind: 'switched', from: 1, to: 2 });
    expect(watcher.current().cluster).toBe('secondary');
  });

  it('aborts a hung secret read during a switch through the signal it gave the store', async () => {
    // Arrange
    const fake = new FakeStores();
    await writeActive(fake, paths, active(1, 'primary'), creds);
    const hang = { parameter: false, secret: false };
    const { stores, signals } = hanging(fake, hang);
    const errors: Error[] = [];
    const watcher = await watching(stores, errors);
    await startWithoutLoop(watcher);
    await writeActive(fake, paths, active(2, 'secondary'), creds);
    hang.secret = true;
    signals.length = 0;

    // Act
    const outcome = await watcher.poll();

    // Assert: the parameter poll, then the switch's read of the parameter and the secret; all under one deadline.
    expect(outcome.kind).toBe('failed');
    expect(signals.map((s) => s.read)).toEqual(['parameter', 'parameter', 'secret']);
    expect(signals.every((s) => s.signal?.aborted)).toBe(true);
    expect(errors[0]?.message).toContain('within 50 ms (pollTimeoutMs)');
    expect(watcher.current().epoch).toBe(1);
  });

  it('stops waiting for a store that ignores the signal, at the deadline', async () => {
    // Arrange: a read that never settles, whatever it is told.
    const fake = new FakeStores();
    await writeActive(fake, paths, active(1, 'primary'), creds);
    let deaf = false;
    const stores: Stores = {
      parameters: {
        get: (name) => (deaf ? new Promise(() => {}) : fake.parameters.get(name)),
        put: fake.parameters.put,
      },
      secrets: fake.secrets,
    };
    const errors: Error[] = [];
    const watcher = await watching(stores, errors);
    await startWithoutLoop(watcher);
    deaf = true;

    // Act
    const outcome = await watcher.poll();

    // Assert
    expect(outcome.kind).toBe('failed');
    expect(errors[0]?.message).toContain('got no answer in time');
    expect(watcher.status()).toMatchObject({ epoch: 1, consecutiveFailures: 1 });
  });

  it('fails start() at the deadline when the first read hangs', async () => {
    const fake = new FakeStores();
    await writeActive(fake, paths, active(1, 'primary'), creds);
    const { stores } = hanging(fake, { parameter: true, secret: false });
    const watcher = await watching(stores, []);

    await expect(watcher.start()).rejects.toThrow(/expected SSM and Secrets Manager to answer within 50 ms/);
    expect(() => watcher.current()).toThrow(/start\(\)/);
  });

  it('stop() ends a hung poll at once, without reporting it as a failure', async () => {
    // Arrange: a deadline far away, and the background loop polling a hung parameter.
    const fake = new FakeStores();
    await writeActive(fake, paths, active(1, 'primary'), creds);
    const hang = { parameter: false, secret: false };
    const { stores, signals } = hanging(fake, hang);
    const errors: Error[] = [];
    const watcher = new ActiveConfigWatcher({
      deployment: 'd',
      stores,
      kafka: { clientId: 't' },
      intervalMs: 1,
      jitter: 0,
      pollTimeoutMs: 60_000,
      onError: (e) => errors.push(e),
    });
    await watcher.start();
    hang.parameter = true;
    await waitUntil(() => signals.length >= 3);

    // Act
    const started = Date.now();
    await watcher.stop();

    // Assert
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(signals.at(-1)?.signal?.aborted).toBe(true);
    expect(errors).toEqual([]);
  });
});

/** Start without letting the background loop run: its first sleep never returns before the test ends. */
async function startWithoutLoop(watcher: ActiveConfigWatcher): Promise<void> {
  await watcher.start();
  await watcher.stop();
}

async function waitUntil(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1_000 && !condition(); i += 1) await new Promise((r) => setImmediate(r));
  if (!condition()) throw new Error('condition not reached');
}
