import type { Admin } from 'kafkajs';
import { describe, expect, it, vi } from 'vitest';
import { KafkajsReadinessCluster } from '#shared/readiness/kafkajs-readiness-cluster.ts';
import { FakeCluster } from '../kafka/fake-cluster.ts';

/** A kafkajs Admin double answering the protocol's numbers, as kafkajs decodes them. */
function admin(over: Partial<Admin> = {}): Admin {
  return {
    describeConfigs: vi.fn(async () => ({ resources: [], throttleTime: 0 })),
    alterConfigs: vi.fn(async () => ({})),
    describeAcls: vi.fn(async () => ({ resources: [], errorCode: 0, throttleTime: 0 })),
    createAcls: vi.fn(async () => true),
    createTopics: vi.fn(async () => true),
    createPartitions: vi.fn(async () => true),
    ...over,
  } as unknown as Admin;
}

function cluster(a: Admin, fake = new FakeCluster(), onFailure = vi.fn()) {
  return new KafkajsReadinessCluster({
    role: 'secondary',
    admin: async () => a,
    client: async () => fake,
    onFailure,
  });
}

describe('KafkajsReadinessCluster', () => {
  it('reads layouts from one Metadata request: absent topics left out, the lowest replica count per topic', async () => {
    const fake = new FakeCluster();
    fake.addTopic('orders', 3, { rf: 3 }).addTopic('payments', 1, { rf: 2 });
    fake.partition('orders', 1).replicas = [1, 2];
    const layouts = await cluster(admin(), fake).describeTopics(['orders', 'payments', 'ghost']);
    expect(layouts).toEqual({
      brokers: 3,
      topics: new Map([
        ['orders', { partitions: 3, replicationFactor: 2 }],
        ['payments', { partitions: 1, replicationFactor: 2 }],
      ]),
    });
    expect(fake.count('metadata')).toBe(1);
  });

  it('describes every topic in one DescribeConfigs and hides sensitive values', async () => {
    const describeConfigs = vi.fn(async () => ({
      throttleTime: 0,
      resources: ['a', 'b'].map((resourceName) => ({
        resourceName,
        resourceType: 2,
        errorCode: 0,
        errorMessage: '',
        configEntries: [
          {
            configName: 'cleanup.policy',
            configValue: 'delete',
            isDefault: true,
            configSource: 5,
            isSensitive: false,
            readOnly: false,
            configSynonyms: [],
          },
          {
            configName: 'secret',
            configValue: 'x',
            isDefault: false,
            configSource: 1,
            isSensitive: true,
            readOnly: false,
            configSynonyms: [],
          },
        ],
      })),
    }));
    const configs = await cluster(admin({ describeConfigs } as Partial<Admin>)).describeTopicConfigs(
      ['a', 'b'],
      ['cleanup.policy'],
    );
    expect(describeConfigs).toHaveBeenCalledTimes(1);
    expect(describeConfigs).toHaveBeenCalledWith({
      includeSynonyms: false,
      resources: [
        { type: 2, name: 'a', configNames: ['cleanup.policy'] },
        { type: 2, name: 'b', configNames: ['cleanup.policy'] },
      ],
    });
    expect(configs.get('b')).toEqual({
      'cleanup.policy': { value: 'delete', isDefault: true },
      secret: { value: null, isDefault: false },
    });
  });

  it('names ACL bindings, and answers "unavailable" for a cluster without an authorizer', async () => {
    const describeAcls = vi.fn(async () => ({
      errorCode: 0,
      throttleTime: 0,
      resources: [
        {
          resourceType: 2,
          resourceName: 'orders',
          resourcePatternType: 3,
          acls: [{ principal: 'User:app', host: '*', operation: 4, permissionType: 3 }],
        },
      ],
    }));
    expect(await cluster(admin({ describeAcls } as Partial<Admin>)).describeAcls()).toEqual({
      bindings: [
        {
          resourceType: 'TOPIC',
          resourceName: 'orders',
          patternType: 'LITERAL',
          principal: 'User:app',
          host: '*',
          operation: 'WRITE',
          permission: 'ALLOW',
        },
      ],
    });
    const disabled = Object.assign(new Error('Security features are disabled'), {
      name: 'KafkaJSProtocolError',
      type: 'SECURITY_DISABLED',
    });
    const onFailure = vi.fn();
    const listing = await cluster(
      admin({ describeAcls: vi.fn(async () => Promise.reject(disabled)) } as Partial<Admin>),
      new FakeCluster(),
      onFailure,
    ).describeAcls();
    expect(listing).toEqual({
      unavailable: expect.stringContaining('DescribeAcls on the secondary: SECURITY_DISABLED'),
    });
    expect(onFailure).not.toHaveBeenCalled();
  });

  it('alters a config keeping the overrides the topic has (AlterConfigs replaces the whole set)', async () => {
    const alterConfigs = vi.fn(async () => ({}));
    const describeConfigs = vi.fn(async () => ({
      throttleTime: 0,
      resources: [
        {
          resourceName: 'orders',
          resourceType: 2,
          errorCode: 0,
          errorMessage: '',
          configEntries: [
            {
              configName: 'retention.ms',
              configValue: '3600000',
              isDefault: false,
              configSource: 1,
              isSensitive: false,
              readOnly: false,
              configSynonyms: [],
            },
            {
              configName: 'cleanup.policy',
              configValue: 'compact',
              isDefault: false,
              configSource: 1,
              isSensitive: false,
              readOnly: false,
              configSynonyms: [],
            },
            {
              configName: 'segment.ms',
              configValue: '1',
              isDefault: false,
              configSource: 4,
              isSensitive: false,
              readOnly: false,
              configSynonyms: [],
            },
          ],
        },
      ],
    }));
    await cluster(admin({ alterConfigs, describeConfigs } as Partial<Admin>)).alterTopicConfigs([
      { topic: 'orders', set: { 'cleanup.policy': 'delete' } },
    ]);
    expect(alterConfigs).toHaveBeenCalledWith({
      validateOnly: false,
      resources: [
        {
          type: 2,
          name: 'orders',
          configEntries: [
            { name: 'retention.ms', value: '3600000' },
            { name: 'cleanup.policy', value: 'delete' },
          ],
        },
      ],
    });
  });

  it('reads the newest records of each partition from their end', async () => {
    const fake = new FakeCluster();
    fake.addTopic('heartbeats', 2);
    for (let i = 0; i < 5; i++) fake.append('heartbeats', 0, null, Buffer.from('v'), 1_000 + i);
    const records = await cluster(admin(), fake).newestRecords('heartbeats', 2);
    expect(records).toEqual([
      {
        partition: 0,
        records: [
          { timestamp: 1_003, key: null },
          { timestamp: 1_004, key: null },
        ],
      },
      { partition: 1, records: [] },
    ]);
  });

  it('wraps a failed call with the cluster and request, and drops the cached clients', async () => {
    const fake = new FakeCluster();
    fake.failWith = Object.assign(new Error('Connection timeout'), { name: 'KafkaJSConnectionError' });
    const onFailure = vi.fn();
    await expect(cluster(admin(), fake, onFailure).describeTopics(['orders'])).rejects.toThrow(
      'Metadata on the secondary failed: KafkaJSConnectionError: Connection timeout',
    );
    expect(onFailure).toHaveBeenCalledTimes(1);
  });
});
