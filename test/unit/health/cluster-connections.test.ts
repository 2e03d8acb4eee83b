import type { KafkaConfig } from 'kafkajs';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { deploymentConfigSchema } from '#shared/config/schema.ts';
import { ClusterConnections } from '#shared/health/cluster-connections.ts';
import { parseProbeInvocation, probeInvocationSchema } from '#shared/health/probe-input.ts';
import { probeOnce } from '#shared/health/probe-once.ts';
import { Redacted } from '#shared/store/redacted.ts';
import { FakeCluster } from '../kafka/fake-cluster.ts';

const CA = '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n';
const CERT = '-----BEGIN CERTIFICATE-----\nC\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nK\n-----END PRIVATE KEY-----\n';

const config = deploymentConfigSchema.parse({
  name: 'orders-dr',
  mode: 'active-passive',
  replicationPolicy: 'default',
  clusters: {
    primary: { alias: 'primary', auth: 'mtls', expectedBrokers: 3 },
    secondary: { alias: 'secondary', auth: 'mtls' },
  },
  topics: ['orders'],
  mirror: { kind: 'manual' },
  detection: { connectTimeoutMs: 1_500, requestTimeoutMs: 3_500 },
});

function fakeStores() {
  const parameters = new Map<string, string>([
    [
      '/mm2-failover/orders-dr/clusters/primary',
      JSON.stringify({ alias: 'primary', bootstrapServers: 'p1:9093,p2:9093', securityProtocol: 'SSL' }),
    ],
    [
      '/mm2-failover/orders-dr/clusters/secondary',
      JSON.stringify({ alias: 'secondary', bootstrapServers: 's1:9093', securityProtocol: 'SSL' }),
    ],
  ]);
  const secrets = new Map<string, string>([
    ['mm2-failover/orders-dr/clusters/primary', JSON.stringify({ ca: CA, cert: CERT, key: KEY })],
    ['mm2-failover/orders-dr/clusters/secondary', JSON.stringify({ ca: CA, cert: CERT, key: KEY })],
  ]);
  const reads = { parameters: 0, secrets: 0 };
  return {
    reads,
    parameters,
    secrets,
    stores: {
      parameters: {
        get: vi.fn(async (name: string) => {
          reads.parameters += 1;
          const v = parameters.get(name);
          return v === undefined ? undefined : { value: v, version: 1 };
        }),
        put: vi.fn(async () => ({ version: 1 })),
      },
      secrets: {
        get: vi.fn(async (name: string) => {
          reads.secrets += 1;
          const v = secrets.get(name);
          return v === undefined ? undefined : new Redacted(v);
        }),
        put: vi.fn(async () => {}),
      },
    },
  };
}

describe('ClusterConnections', () => {
  let now: number;
  beforeEach(() => {
    now = 0;
  });

  it('builds one client per cluster from its definition, with the detection timeouts and no retries', async () => {
    // Arrange
    const { stores } = fakeStores();
    const configs: KafkaConfig[] = [];
    const connections = new ClusterConnections({
      config,
      stores,
      clock: { now: () => now },
      createClient: (c) => {
        configs.push(c);
        return new FakeCluster();
      },
    });
    // Act
    const a = await connections.client('primary');
    const b = await connections.client('primary');
    // Assert
    expect(a).toBe(b);
    expect(configs).toHaveLength(1);
    expect(configs[0]).toMatchObject({
      clientId: 'mm2-failover-orders-dr-probe',
      brokers: ['p1:9093', 'p2:9093'],
      connectionTimeout: 1_500,
      requestTimeout: 3_500,
      retry: { retries: 0 },
      ssl: { ca: CA, cert: CERT, key: KEY },
    });
  });

  it('re-reads the definition after its TTL and replaces the client when the credentials rotated', async () => {
    const { stores, secrets, reads } = fakeStores();
    const created: FakeCluster[] = [];
    const connections = new ClusterConnections({
      config,
      stores,
      clock: { now: () => now },
      definitionTtlMs: 60_000,
      createClient: () => {
        const c = new FakeCluster();
        created.push(c);
        return c;
      },
    });
    const first = await connections.client('primary');
    now = 30_000;
    await connections.client('primary');
    expect(reads.secrets).toBe(1);
    secrets.set(
      'mm2-failover/orders-dr/clusters/primary',
      JSON.stringify({ ca: CA, cert: CERT, key: KEY.replace('K', 'K2') }),
    );
    now = 61_000;
    const second = await connections.client('primary');
    expect(reads.secrets).toBe(2);
    expect(second).not.toBe(first);
    await vi.waitFor(() => expect(created[0]?.closed).toBe(true));
  });

  it('drops the client after a failure and the definition too after an auth failure', async () => {
    const { stores, reads } = fakeStores();
    const connections = new ClusterConnections({
      config,
      stores,
      clock: { now: () => now },
      createClient: () => new FakeCluster(),
    });
    const first = await connections.client('secondary');
    connections.forget('secondary', 'timeout');
    const second = await connections.client('secondary');
    expect(second).not.toBe(first);
    expect(reads.parameters).toBe(1);
    connections.forget('secondary', 'auth-failed');
    await connections.client('secondary');
    expect(reads.parameters).toBe(2);
  });

  it('fails naming the missing parameter when a cluster was never described', async () => {
    const { stores, parameters } = fakeStores();
    parameters.delete('/mm2-failover/orders-dr/clusters/secondary');
    const connections = new ClusterConnections({ config, stores, createClient: () => new FakeCluster() });
    await expect(connections.client('secondary')).rejects.toThrow(
      "missing parameter /mm2-failover/orders-dr/clusters/secondary (the secondary cluster's bootstrap and protocol)",
    );
  });
});

describe('probeOnce', () => {
  it("returns the cluster's health from one probe, reusing the connections it was given", async () => {
    const { stores } = fakeStores();
    const fake = new FakeCluster().addTopic('orders', 3).addTopic('mm2-failover-canary', 3);
    const connections = new ClusterConnections({ config, stores, createClient: () => fake });
    const health = await probeOnce(config, 'primary', { stores, connections });
    expect(health).toMatchObject({ role: 'primary', verdict: 'up', brokersAlive: 3 });
    expect(fake.closed).toBe(false);
  });

  it('says down with config-error, and closes what it built, when the definition cannot be read', async () => {
    const { stores, secrets } = fakeStores();
    secrets.delete('mm2-failover/orders-dr/clusters/primary');
    const health = await probeOnce(config, 'primary', { stores });
    expect(health).toMatchObject({ verdict: 'down', reasons: ['config-error'] });
    expect(health.detail).toContain("the primary cluster's credentials");
  });
});

describe('probe invocation', () => {
  it('accepts a scheduled event and reads maxCycles from a manual one', () => {
    expect(parseProbeInvocation({ 'detail-type': 'Scheduled Event', source: 'aws.events' })).toMatchObject({
      source: 'aws.events',
    });
    expect(parseProbeInvocation({ maxCycles: 2 }).maxCycles).toBe(2);
    expect(parseProbeInvocation(undefined)).toEqual({});
  });

  it('refuses a bad maxCycles naming the path', () => {
    expect(() => parseProbeInvocation({ maxCycles: 0 })).toThrow(/maxCycles/);
    expect(probeInvocationSchema.safeParse({ maxCycles: 'many' }).success).toBe(false);
  });
});
