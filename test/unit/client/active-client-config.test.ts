import { inspect } from 'node:util';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { loadActiveConfig } from '#shared/client/active-client-config.ts';
import { createAwsStores } from '#shared/client/index.ts';
import type { ActiveConfig } from '#shared/config/contract.ts';
import { deploymentPaths } from '#shared/config/paths.ts';
import {
  AccessDeniedError,
  MissingConfigurationError,
  TornReadError,
  ValidationError,
} from '#shared/errors.ts';
import { writeActive } from '#shared/store/active-config.ts';
import { Redacted } from '#shared/store/redacted.ts';
import { FakeStores } from '../../fakes/stores.ts';
import { FakeClock } from './fake-clock.ts';

const paths = deploymentPaths('orders-dr');
const CERT = '-----BEGIN CERTIFICATE-----\nCLIENTCERT\n-----END CERTIFICATE-----';
const KEY = '-----BEGIN PRIVATE KEY-----\nSECRETKEYMATERIAL\n-----END PRIVATE KEY-----';

function active(epoch: number, cluster: 'primary' | 'secondary' = 'primary'): ActiveConfig {
  return {
    epoch,
    cluster,
    alias: cluster,
    bootstrapServers: [`${cluster}.kafka:9093`],
    securityProtocol: 'SSL',
    credentialsSecret: paths.activeCredentialsSecret,
    topics:
      cluster === 'primary'
        ? { orders: { produce: 'orders', subscribe: ['orders'] } }
        : { orders: { produce: 'primary.orders', subscribe: ['primary.orders'] } },
    switchedAt: '2026-11-21T10:00:00.000Z',
    reason: 'test',
  };
}
const creds = new Redacted({ cert: CERT, key: KEY });
const kafka = { clientId: 'billing' };

describe('loadActiveConfig', () => {
  it('returns a ready kafkajs configuration and the topic mapping when parameter and secret agree', async () => {
    const stores = new FakeStores();
    await writeActive(stores, paths, active(2, 'secondary'), creds);

    const config = await loadActiveConfig({ deployment: 'orders-dr', stores, kafka });

    expect(config).toMatchObject({ epoch: 2, cluster: 'secondary', alias: 'secondary' });
    expect(config.topics.orders).toEqual({ produce: 'primary.orders', subscribe: ['primary.orders'] });
    const k = config.kafka.reveal();
    expect(k.brokers).toEqual(['secondary.kafka:9093']);
    expect(k.clientId).toBe('billing');
    expect(k.ssl).toEqual({ cert: CERT, key: KEY });
    expect(k.connectionTimeout).toBe(3_000);
    expect(k.requestTimeout).toBe(10_000);
  });

  it('never prints the private key when the configuration is logged or serialised', async () => {
    const stores = new FakeStores();
    await writeActive(stores, paths, active(1), creds);

    const config = await loadActiveConfig({ deployment: 'orders-dr', stores, kafka });

    expect(JSON.stringify(config)).not.toContain('SECRETKEYMATERIAL');
    expect(inspect(config, { depth: 10 })).not.toContain('SECRETKEYMATERIAL');
  });

  it('reads again until consistent when the secret already holds the next epoch (switch in flight)', async () => {
    // Arrange: the switch to epoch 2 wrote its secret but not yet its parameter.
    const stores = new FakeStores();
    await writeActive(stores, paths, active(1), creds);
    stores.secretValues.set(
      paths.activeCredentialsSecret,
      JSON.stringify({ epoch: 2, cluster: 'secondary', cert: CERT, key: KEY }),
    );
    const clock = new FakeClock();
    let completed = false;
    clock.onSleep = async () => {
      if (clock.sleeps.length === 2 && !completed) {
        completed = true;
        await writeActive(stores, paths, active(2, 'secondary'), creds);
      }
    };

    // Act
    const config = await loadActiveConfig({ deployment: 'orders-dr', stores, kafka, clock });

    // Assert: never the epoch-1 parameter with the epoch-2 secret; the completed switch, after two back-offs.
    expect(config.epoch).toBe(2);
    expect(config.cluster).toBe('secondary');
    expect(config.kafka.reveal().brokers).toEqual(['secondary.kafka:9093']);
    expect(clock.sleeps).toEqual([50, 100]);
  });

  it('gives up with TornReadError naming both epochs when the switch never completes', async () => {
    const stores = new FakeStores();
    await writeActive(stores, paths, active(5), creds);
    stores.secretValues.set(
      paths.activeCredentialsSecret,
      JSON.stringify({ epoch: 6, cluster: 'secondary' }),
    );
    const clock = new FakeClock();

    const err = await loadActiveConfig({
      deployment: 'orders-dr',
      stores,
      kafka,
      clock,
      tornReadDeadlineMs: 3_000,
    }).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(TornReadError);
    expect(err).toMatchObject({ parameterEpoch: 5, secretEpoch: 6, retriable: true });
    expect((err as Error).message).toMatch(/epoch \(5\).*\(6\)/);
    expect(clock.sleeps.reduce((a, b) => a + b, 0)).toBe(3_000);
  });

  it('throws MissingConfigurationError naming the parameter before the first activation', async () => {
    const err = await loadActiveConfig({ deployment: 'orders-dr', stores: new FakeStores(), kafka }).catch(
      (e: unknown) => e,
    );

    expect(err).toBeInstanceOf(MissingConfigurationError);
    expect((err as Error).message).toContain('/mm2-failover/orders-dr/active');
    expect((err as Error).message).toContain("deployment 'orders-dr'");
  });

  it('throws ValidationError listing the problems when the parameter was edited by hand', async () => {
    const stores = new FakeStores();
    await writeActive(stores, paths, active(1), creds);
    const edited = { ...active(1), epoch: 'one', cluster: 'tertiary' };
    stores.params.set(paths.activeParameter, { value: JSON.stringify(edited), version: 9 });

    const err = await loadActiveConfig({ deployment: 'orders-dr', stores, kafka }).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).problems.map((p) => p.path).sort()).toEqual(['cluster', 'epoch']);
  });

  it('throws ValidationError when the parameter is not JSON at all', async () => {
    const stores = new FakeStores();
    await writeActive(stores, paths, active(1), creds);
    stores.params.set(paths.activeParameter, { value: '{"epoch": 1, ', version: 9 });

    await expect(loadActiveConfig({ deployment: 'orders-dr', stores, kafka })).rejects.toThrow(
      /expected JSON/,
    );
  });

  it('throws MissingConfigurationError naming the secret when only the parameter exists', async () => {
    const stores = new FakeStores();
    await writeActive(stores, paths, active(1), creds);
    stores.secretValues.delete(paths.activeCredentialsSecret);

    const err = await loadActiveConfig({ deployment: 'orders-dr', stores, kafka }).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(MissingConfigurationError);
    expect((err as Error).message).toContain(paths.activeCredentialsSecret);
  });

  it('refuses credentials that do not fit the protocol, naming what is missing and not the key', async () => {
    const stores = new FakeStores();
    await writeActive(stores, paths, active(1), new Redacted({ cert: CERT, key: KEY }));
    stores.secretValues.set(
      paths.activeCredentialsSecret,
      JSON.stringify({ epoch: 1, cluster: 'primary', key: KEY }),
    );

    const err = await loadActiveConfig({ deployment: 'orders-dr', stores, kafka }).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ValidationError);
    expect((err as Error).message).toContain('credentials.cert');
    expect((err as Error).message).not.toContain('SECRETKEYMATERIAL');
  });
});

describe('loadActiveConfig during a staged failback switch', () => {
  const SECONDARY_CERT = '-----BEGIN CERTIFICATE-----\nSECONDARYCERT\n-----END CERTIFICATE-----';
  const SECONDARY_KEY = '-----BEGIN PRIVATE KEY-----\nSECONDARYKEYMATERIAL\n-----END PRIVATE KEY-----';
  /** Stage 1 of consumers-first: everyone on the primary except producers, held back on the secondary. */
  function stage1(epoch: number): ActiveConfig {
    const held = active(epoch, 'secondary');
    return {
      ...active(epoch, 'primary'),
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
  }
  const stage1Creds = {
    active: creds,
    holdback: new Redacted({ cert: SECONDARY_CERT, key: SECONDARY_KEY }),
  };
  /** The stage-1 secret as some writer left it: the parameter's epoch and cluster, and `holdback` as given. */
  function setSecret(stores: FakeStores, epoch: number, holdback: Record<string, unknown> | undefined) {
    stores.secretValues.set(
      paths.activeCredentialsSecret,
      JSON.stringify({ epoch, cluster: 'primary', cert: CERT, key: KEY, ...(holdback ? { holdback } : {}) }),
    );
  }

  it('builds the held-back cluster from the secret of the same epoch', async () => {
    const stores = new FakeStores();
    await writeActive(stores, paths, stage1(4), stage1Creds);

    const config = await loadActiveConfig({ deployment: 'orders-dr', stores, kafka });

    expect(config.holdback).toMatchObject({ role: 'producers', cluster: 'secondary', alias: 'secondary' });
    expect(config.holdback?.kafka.reveal()).toMatchObject({
      brokers: ['secondary.kafka:9093'],
      clientId: 'billing',
      ssl: { cert: SECONDARY_CERT, key: SECONDARY_KEY },
    });
    expect(config.kafka.reveal().ssl).toEqual({ cert: CERT, key: KEY });
  });

  it('throws MissingConfigurationError naming the secret, the role and the cluster when the secret has no holdback', async () => {
    // Arrange: what a failback older than this library wrote: holdback in the parameter only.
    const stores = new FakeStores();
    await writeActive(stores, paths, stage1(4), stage1Creds);
    setSecret(stores, 4, undefined);

    const err = await loadActiveConfig({ deployment: 'orders-dr', stores, kafka }).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(MissingConfigurationError);
    const message = (err as Error).message;
    expect(message).toContain(
      `missing holdback credentials in secret ${paths.activeCredentialsSecret} at epoch 4`,
    );
    expect(message).toContain('keeps producers on secondary');
    expect(message).not.toContain('KEYMATERIAL');
  });

  it('throws ValidationError when the secret holds credentials for another cluster than the parameter holds back on', async () => {
    const stores = new FakeStores();
    await writeActive(stores, paths, stage1(4), stage1Creds);
    setSecret(stores, 4, { cluster: 'primary', cert: SECONDARY_CERT, key: SECONDARY_KEY });

    const err = await loadActiveConfig({ deployment: 'orders-dr', stores, kafka }).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).problems).toEqual([
      {
        path: 'holdback.cluster',
        message: "expected 'secondary' (where the parameter keeps producers), got 'primary'",
      },
    ]);
    expect((err as Error).message).not.toContain('KEYMATERIAL');
  });

  it('throws ValidationError naming the held-back credential that is missing, not the key', async () => {
    const stores = new FakeStores();
    await writeActive(stores, paths, stage1(4), stage1Creds);
    setSecret(stores, 4, { cluster: 'secondary', key: SECONDARY_KEY });

    const err = await loadActiveConfig({ deployment: 'orders-dr', stores, kafka }).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).problems.map((p) => p.path)).toEqual(['holdback.credentials.cert']);
    expect((err as Error).message).toContain('held-back producers on secondary (epoch 4)');
    expect((err as Error).message).not.toContain('KEYMATERIAL');
  });

  it('still refuses a torn read: the stage-1 secret beside the previous parameter is read again', async () => {
    // Arrange: failover's epoch 3 on the secondary; stage 1 (epoch 4) wrote its secret, not yet its parameter.
    const stores = new FakeStores();
    await writeActive(stores, paths, active(3, 'secondary'), creds);
    setSecret(stores, 4, { cluster: 'secondary', cert: SECONDARY_CERT, key: SECONDARY_KEY });
    const clock = new FakeClock();
    clock.onSleep = async () => {
      if (clock.sleeps.length === 1) await writeActive(stores, paths, stage1(4), stage1Creds);
    };

    // Act
    const config = await loadActiveConfig({ deployment: 'orders-dr', stores, kafka, clock });

    // Assert
    expect(clock.sleeps).toEqual([50]);
    expect(config).toMatchObject({ epoch: 4, cluster: 'primary', holdback: { cluster: 'secondary' } });
  });
});

describe('createAwsStores', () => {
  const ssm = mockClient(SSMClient);
  beforeEach(() => ssm.reset());

  it('reads the active parameter through SSM and reports denied access as AccessDeniedError', async () => {
    ssm
      .on(GetParameterCommand, { Name: paths.activeParameter })
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));
    const stores = createAwsStores({ region: 'eu-west-1', endpoint: 'http://127.0.0.1:1' });

    const err = await loadActiveConfig({ deployment: 'orders-dr', stores, kafka }).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(AccessDeniedError);
    expect((err as Error).message).toBe(`access denied to parameter ${paths.activeParameter}`);
    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(1);
  });
});
