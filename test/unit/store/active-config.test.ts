import { describe, expect, it } from 'vitest';
import type { ActiveConfig } from '#shared/config/contract.ts';
import { deploymentPaths } from '#shared/config/paths.ts';
import { MissingConfigurationError, ValidationError } from '#shared/errors.ts';
import { readActiveOnce, readClusterDefinition, writeActive } from '#shared/store/active-config.ts';
import { Redacted } from '#shared/store/redacted.ts';
import { FakeStores } from '../../fakes/stores.ts';

const paths = deploymentPaths('d');
const active: ActiveConfig = {
  epoch: 3,
  cluster: 'secondary',
  alias: 'secondary',
  bootstrapServers: ['127.0.0.1:9093'],
  securityProtocol: 'SSL',
  credentialsSecret: paths.activeCredentialsSecret,
  topics: { orders: { produce: 'orders', subscribe: ['orders'] } },
  switchedAt: '2026-11-21T10:00:00.000Z',
  reason: 'test',
};
const creds = new Redacted({ cert: 'CERT', key: 'KEY' });

describe('writeActive', () => {
  it('writes secret, then JSON parameter, then plain parameter (the fencing order)', async () => {
    const stores = new FakeStores();

    await writeActive(stores, paths, active, creds);

    expect(stores.writes).toEqual([
      `secret ${paths.activeCredentialsSecret}`,
      `parameter ${paths.activeParameter}`,
      `parameter ${paths.activeBootstrapParameter}`,
    ]);
    expect(stores.params.get(paths.activeBootstrapParameter)?.value).toBe('127.0.0.1:9093');
  });
});

describe('writeActive during a staged failback switch', () => {
  const stage1: ActiveConfig = {
    ...active,
    epoch: 4,
    cluster: 'primary',
    alias: 'primary',
    holdback: {
      role: 'producers',
      cluster: 'secondary',
      alias: 'secondary',
      bootstrapServers: ['127.0.0.1:9093'],
      securityProtocol: 'SSL',
      credentialsSecret: paths.activeCredentialsSecret,
      topics: active.topics,
    },
  };
  const held = new Redacted({ cert: 'SECONDARY-CERT', key: 'SECONDARY-KEY' });

  it("writes the held-back cluster's credentials into the active secret, in the same write and order", async () => {
    const stores = new FakeStores();

    await writeActive(stores, paths, stage1, { active: creds, holdback: held });

    expect(stores.writes).toEqual([
      `secret ${paths.activeCredentialsSecret}`,
      `parameter ${paths.activeParameter}`,
      `parameter ${paths.activeBootstrapParameter}`,
    ]);
    expect(stores.secretJson(paths.activeCredentialsSecret)).toEqual({
      epoch: 4,
      cluster: 'primary',
      cert: 'CERT',
      key: 'KEY',
      holdback: { cluster: 'secondary', cert: 'SECONDARY-CERT', key: 'SECONDARY-KEY' },
    });
    const read = await readActiveOnce(stores, paths);
    expect(read.kind === 'consistent' && read.credentials.reveal().holdback?.cluster).toBe('secondary');
  });

  it('refuses to write a holdback without its credentials, or credentials without a holdback, naming no value', async () => {
    const stores = new FakeStores();

    const without = await writeActive(stores, paths, stage1, creds).catch((e: unknown) => e);
    const extra = await writeActive(stores, paths, active, { active: creds, holdback: held }).catch(
      (e: unknown) => e,
    );

    expect((without as Error).message).toMatch(
      /epoch 4: expected holdback credentials .* got none for producers on secondary/,
    );
    expect((extra as Error).message).toMatch(
      /epoch 3: expected holdback credentials .* got some for no holdback/,
    );
    expect(`${(without as Error).message} ${(extra as Error).message}`).not.toContain('SECONDARY-KEY');
    expect(stores.writes).toEqual([]);
  });
});

describe('readActiveOnce', () => {
  it('returns a consistent pair after a complete switch', async () => {
    const stores = new FakeStores();
    await writeActive(stores, paths, active, creds);

    const read = await readActiveOnce(stores, paths);

    expect(read.kind).toBe('consistent');
    if (read.kind === 'consistent') {
      expect(read.config.epoch).toBe(3);
      expect(read.credentials.reveal().cert).toBe('CERT');
    }
  });

  it('reports a torn read when the secret already has the next epoch', async () => {
    const stores = new FakeStores();
    await writeActive(stores, paths, active, creds);
    stores.secretValues.set(paths.activeCredentialsSecret, JSON.stringify({ epoch: 4, cluster: 'primary' }));

    await expect(readActiveOnce(stores, paths)).resolves.toEqual({
      kind: 'torn',
      parameterEpoch: 3,
      secretEpoch: 4,
    });
  });

  it('says absent before the first activation', async () => {
    await expect(readActiveOnce(new FakeStores(), paths)).resolves.toEqual({ kind: 'absent' });
  });

  it('refuses a parameter edited by hand into bad JSON, naming the parameter', async () => {
    const stores = new FakeStores();
    await writeActive(stores, paths, active, creds);
    stores.params.set(paths.activeParameter, { value: '{"epoch": 3,', version: 9 });

    const err = await readActiveOnce(stores, paths).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ValidationError);
    expect((err as Error).message).toContain(paths.activeParameter);
  });

  it('refuses a secret that is not the expected JSON without quoting it', async () => {
    const stores = new FakeStores();
    await writeActive(stores, paths, active, creds);
    stores.secretValues.set(paths.activeCredentialsSecret, 'password=hunter2');

    const err = await readActiveOnce(stores, paths).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(MissingConfigurationError);
    expect((err as Error).message).not.toContain('hunter2');
  });
});

describe('readClusterDefinition', () => {
  it('parses the operator-written parameter (comma-separated servers) and secret', async () => {
    const stores = new FakeStores();
    stores.params.set(paths.clusterParameter('primary'), {
      value: JSON.stringify({
        alias: 'primary',
        bootstrapServers: 'a:9092, b:9092',
        securityProtocol: 'SASL_SSL',
        sasl: { mechanism: 'scram-sha-512' },
      }),
      version: 1,
    });
    stores.secretValues.set(paths.clusterSecret('primary'), JSON.stringify({ username: 'u', password: 'p' }));

    const def = await readClusterDefinition(stores, paths, 'primary');

    expect(def.parameter.bootstrapServers).toEqual(['a:9092', 'b:9092']);
    expect(JSON.stringify(def)).not.toContain('"p"');
  });

  it('names what is missing', async () => {
    await expect(readClusterDefinition(new FakeStores(), paths, 'secondary')).rejects.toThrow(
      /parameter \/mm2-failover\/d\/clusters\/secondary/,
    );
  });
});
