import { inspect } from 'node:util';
import { type Kafka, type KafkaConfig, logLevel } from 'kafkajs';
import { describe, expect, it, vi } from 'vitest';
import { ValidationError } from '#shared/errors.ts';
import {
  buildKafkaConfig,
  ClientCache,
  configFingerprint,
  KafkaClientCache,
} from '#shared/kafka/client-factory.ts';
import { Redacted } from '#shared/store/redacted.ts';

const CA = '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n';
const CERT = '-----BEGIN CERTIFICATE-----\nCLIENT\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nSUPERSECRETKEY\n-----END PRIVATE KEY-----\n';
const options = { clientId: 'probe', connectTimeoutMs: 1500, requestTimeoutMs: 3000 };
const servers = ['b1.example:9093', 'b2.example:9093'];

function errorOf(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (e: unknown) {
    if (e instanceof ValidationError) return e;
    throw e;
  }
  throw new Error('expected a ValidationError, nothing was thrown');
}

describe('buildKafkaConfig', () => {
  it('sets timeouts, no retries and no auth when the protocol is PLAINTEXT', () => {
    // Act
    const config = buildKafkaConfig(
      { bootstrapServers: ['127.0.0.1:9092'], securityProtocol: 'PLAINTEXT' },
      new Redacted({}),
      options,
    );
    // Assert
    expect(config).toMatchObject({
      clientId: 'probe',
      brokers: ['127.0.0.1:9092'],
      connectionTimeout: 1500,
      requestTimeout: 3000,
      authenticationTimeout: 3000,
      enforceRequestTimeout: true,
      retry: { retries: 0 },
      logLevel: logLevel.WARN,
    });
    expect(config.ssl).toBeUndefined();
    expect(config.sasl).toBeUndefined();
  });

  it('passes ca, cert and key to ssl when the protocol is SSL with a client certificate (mTLS, Aiven)', () => {
    const config = buildKafkaConfig(
      { bootstrapServers: servers, securityProtocol: 'SSL' },
      new Redacted({ ca: CA, cert: CERT, key: KEY }),
      { ...options, retries: 1 },
    );
    expect(config.ssl).toEqual({ ca: CA, cert: CERT, key: KEY });
    expect(config.sasl).toBeUndefined();
    expect(config.retry?.retries).toBe(1);
  });

  it('uses ssl: true when the protocol is SSL and the broker certificate is publicly trusted', () => {
    const config = buildKafkaConfig(
      { bootstrapServers: servers, securityProtocol: 'SSL' },
      new Redacted({}),
      options,
    );
    expect(config.ssl).toBe(true);
  });

  it('builds SCRAM-SHA-512 over TLS with the stored CA when the protocol is SASL_SSL', () => {
    const config = buildKafkaConfig(
      { bootstrapServers: servers, securityProtocol: 'SASL_SSL', sasl: { mechanism: 'scram-sha-512' } },
      new Redacted({ username: 'svc', password: 'pw', ca: CA }),
      options,
    );
    expect(config.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'svc', password: 'pw' });
    expect(config.ssl).toEqual({ ca: CA });
  });

  it('builds SASL PLAIN without TLS when the protocol is SASL_PLAINTEXT', () => {
    const config = buildKafkaConfig(
      { bootstrapServers: servers, securityProtocol: 'SASL_PLAINTEXT', sasl: { mechanism: 'plain' } },
      new Redacted({ username: 'svc', password: 'pw' }),
      options,
    );
    expect(config.sasl).toEqual({ mechanism: 'plain', username: 'svc', password: 'pw' });
    expect(config.ssl).toBeUndefined();
  });

  it('signs an MSK IAM token for the configured region when the mechanism is oauthbearer', async () => {
    // Arrange
    const generateAuthToken = vi.fn(async ({ region }: { region: string }) => ({
      token: `token-for-${region}`,
      expiryTime: 0,
    }));
    // Act
    const config = buildKafkaConfig(
      {
        bootstrapServers: servers,
        securityProtocol: 'SASL_SSL',
        sasl: { mechanism: 'oauthbearer', region: 'eu-west-1' },
      },
      new Redacted({}),
      options,
      { generateAuthToken },
    );
    // Assert
    expect(config.ssl).toBe(true);
    expect(config.sasl?.mechanism).toBe('oauthbearer');
    const provider = (config.sasl as { oauthBearerProvider: () => Promise<{ value: string }> })
      .oauthBearerProvider;
    await expect(provider()).resolves.toEqual({ value: 'token-for-eu-west-1' });
    expect(generateAuthToken).toHaveBeenCalledWith({ region: 'eu-west-1' });
  });

  it('falls back to AWS_REGION for MSK IAM when the parameter names no region', async () => {
    const generateAuthToken = vi.fn(async () => ({ token: 't', expiryTime: 0 }));
    const config = buildKafkaConfig(
      { bootstrapServers: servers, securityProtocol: 'SASL_SSL', sasl: { mechanism: 'oauthbearer' } },
      new Redacted({}),
      options,
      { generateAuthToken, env: { AWS_REGION: 'us-east-2' } },
    );
    await (config.sasl as { oauthBearerProvider: () => Promise<unknown> }).oauthBearerProvider();
    expect(generateAuthToken).toHaveBeenCalledWith({ region: 'us-east-2' });
  });

  it('signs with the real MSK IAM signer, loaded on the first token, when none is injected', async () => {
    // Arrange: credentials from the environment, as Lambda provides them; signing is local, no network.
    vi.stubEnv('AWS_PROFILE', undefined);
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDSIGNERTEST');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'signer-test-secret');
    vi.stubEnv('AWS_SESSION_TOKEN', undefined);
    try {
      const config = buildKafkaConfig(
        {
          bootstrapServers: servers,
          securityProtocol: 'SASL_SSL',
          sasl: { mechanism: 'oauthbearer', region: 'eu-west-1' },
        },
        new Redacted({}),
        options,
      );
      // Act
      const { value } = await (
        config.sasl as { oauthBearerProvider: () => Promise<{ value: string }> }
      ).oauthBearerProvider();
      // Assert: the token is the base64url of a presigned kafka-cluster:Connect URL for that region and key.
      const url = new URL(Buffer.from(value, 'base64url').toString('utf8'));
      expect(url.hostname).toBe('kafka.eu-west-1.amazonaws.com');
      expect(url.searchParams.get('Action')).toBe('kafka-cluster:Connect');
      expect(url.searchParams.get('X-Amz-Credential')).toMatch(
        /^AKIDSIGNERTEST\/\d{8}\/eu-west-1\/kafka-cluster\/aws4_request$/,
      );
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('lists every missing piece by path when SASL credentials and mechanism are absent', () => {
    const error = errorOf(() =>
      buildKafkaConfig({ bootstrapServers: [], securityProtocol: 'SASL_SSL' }, new Redacted({}), options),
    );
    expect(error.problems.map((p) => p.path)).toEqual(['bootstrapServers', 'sasl.mechanism']);
  });

  it('names the missing password without printing the username or any secret', () => {
    const error = errorOf(() =>
      buildKafkaConfig(
        { bootstrapServers: servers, securityProtocol: 'SASL_SSL', sasl: { mechanism: 'scram-sha-256' } },
        new Redacted({ username: 'svc-user-name', ca: CA }),
        options,
      ),
    );
    expect(error.problems).toEqual([
      { path: 'credentials.password', message: 'expected a password for SASL scram-sha-256, found none' },
    ]);
    expect(error.message).not.toContain('svc-user-name');
  });

  it('refuses a client certificate without its key and never echoes the certificate', () => {
    // An active-credentials secret edited by hand: a certificate, no key.
    const active = new Redacted({ epoch: 3, cluster: 'secondary' as const, cert: CERT });
    const error = errorOf(() =>
      buildKafkaConfig({ bootstrapServers: servers, securityProtocol: 'SSL' }, active, options),
    );
    expect(error.problems[0]?.path).toBe('credentials.key');
    expect(error.message).not.toContain('CLIENT');
  });

  it('refuses MSK IAM without a region and oauthbearer over plaintext', () => {
    const error = errorOf(() =>
      buildKafkaConfig(
        { bootstrapServers: servers, securityProtocol: 'SASL_PLAINTEXT', sasl: { mechanism: 'oauthbearer' } },
        new Redacted({}),
        options,
        { env: {} },
      ),
    );
    expect(error.problems.map((p) => p.path)).toEqual(['securityProtocol', 'sasl.region']);
  });
});

describe('configFingerprint', () => {
  const base = (key: string): KafkaConfig =>
    buildKafkaConfig(
      { bootstrapServers: servers, securityProtocol: 'SSL' },
      new Redacted({ ca: CA, cert: CERT, key }),
      options,
    );

  it('changes when the credentials change and stays the same otherwise', () => {
    expect(configFingerprint(base(KEY))).toBe(configFingerprint(base(KEY)));
    expect(configFingerprint(base(KEY))).not.toBe(configFingerprint(base(KEY.replace('SUPER', 'OTHER'))));
  });

  it('is a hex digest that does not contain the key material', () => {
    const fp = configFingerprint(base(KEY));
    expect(fp).toMatch(/^[0-9a-f]{64}$/);
    expect(inspect(fp)).not.toContain('SUPERSECRETKEY');
  });
});

describe('ClientCache', () => {
  it('creates a client once and hands the same one to later callers when the fingerprint is unchanged', async () => {
    const cache = new ClientCache<{ id: number }>(async () => {});
    const create = vi.fn(async () => ({ id: 1 }));
    const [a, b] = await Promise.all([
      cache.get('primary', 'fp', create),
      cache.get('primary', 'fp', create),
    ]);
    const c = await cache.get('primary', 'fp', create);
    expect(a).toBe(b);
    expect(c).toBe(a);
    expect(create).toHaveBeenCalledTimes(1);
  });

  it('forgets a failed creation so the next call tries again', async () => {
    const cache = new ClientCache<string>(async () => {});
    await expect(cache.get('p', 'fp', async () => Promise.reject(new Error('refused')))).rejects.toThrow(
      'refused',
    );
    await expect(cache.get('p', 'fp', async () => 'second')).resolves.toBe('second');
  });

  it('closes a client when it is forgotten and builds a new one next time', async () => {
    const closed: string[] = [];
    const cache = new ClientCache<string>(async (c) => {
      closed.push(c);
    });
    await cache.get('p', 'fp', async () => 'first');
    cache.forget('p');
    await vi.waitFor(() => expect(closed).toEqual(['first']));
    await expect(cache.get('p', 'fp', async () => 'second')).resolves.toBe('second');
  });

  it('replaces the client when the fingerprint changes (rotated credentials)', async () => {
    const closed: string[] = [];
    const cache = new ClientCache<string>(async (c) => {
      closed.push(c);
    });
    await cache.get('p', 'v1', async () => 'old');
    await expect(cache.get('p', 'v2', async () => 'new')).resolves.toBe('new');
    await vi.waitFor(() => expect(closed).toEqual(['old']));
  });

  it('closes every client on closeAll and reports close errors without throwing', async () => {
    const errors: string[] = [];
    const cache = new ClientCache<string>(
      async (c) => {
        if (c === 'bad') throw new Error('close failed');
      },
      (name) => errors.push(name),
    );
    await cache.get('a', 'fp', async () => 'good');
    await cache.get('b', 'fp', async () => 'bad');
    await cache.closeAll();
    expect(errors).toEqual(['b']);
    expect(cache.has('a')).toBe(false);
  });
});

describe('KafkaClientCache', () => {
  function fakeKafka(connect: () => Promise<void>) {
    const disconnect = vi.fn(async () => {});
    const admin = { connect: vi.fn(connect), disconnect };
    const createKafka = vi.fn(() => ({ admin: () => admin, producer: () => admin }) as unknown as Kafka);
    return { admin, disconnect, createKafka };
  }
  const config = buildKafkaConfig(
    { bootstrapServers: ['127.0.0.1:9092'], securityProtocol: 'PLAINTEXT' },
    new Redacted({}),
    options,
  );

  it('connects an admin once per name and reuses it', async () => {
    const { admin, createKafka } = fakeKafka(async () => {});
    const cache = new KafkaClientCache({ createKafka });
    await cache.admin('primary', config);
    await cache.admin('primary', config);
    expect(admin.connect).toHaveBeenCalledTimes(1);
    expect(createKafka).toHaveBeenCalledTimes(1);
  });

  it('disconnects an admin whose connect failed, so no socket or retry timer is left behind', async () => {
    const { disconnect, createKafka } = fakeKafka(async () => {
      throw new Error('ECONNREFUSED');
    });
    const cache = new KafkaClientCache({ createKafka });
    await expect(cache.admin('primary', config)).rejects.toThrow('ECONNREFUSED');
    expect(disconnect).toHaveBeenCalledTimes(1);
  });
});
