import { describe, expect, it } from 'vitest';
import { topicConfigFence } from '#shared/planned/write-fence.ts';

type Entry = { configName: string; configValue: string; configSource: number; isSensitive: boolean };

/** A broker's topic configs as kafkajs' admin sees them: AlterConfigs replaces a topic's whole set of overrides. */
class FakeAdmin {
  readonly overrides = new Map<string, Record<string, string>>();
  readonly alters: Array<Record<string, Record<string, string>>> = [];
  async describeConfigs(request: { resources: Array<{ name: string }> }) {
    return {
      throttleTime: 0,
      resources: request.resources.map(({ name }) => {
        const own = this.overrides.get(name);
        const entries: Entry[] = [
          { configName: 'segment.bytes', configValue: '1073741824', configSource: 5, isSensitive: false },
          ...Object.entries(own ?? {}).map(([configName, configValue]) => ({
            configName,
            configValue,
            configSource: 1,
            isSensitive: false,
          })),
        ];
        return {
          resourceName: name,
          resourceType: 2,
          errorCode: own ? 0 : 3,
          errorMessage: own ? null : 'This server does not host this topic-partition.',
          configEntries: entries.map((e) => ({
            ...e,
            readOnly: false,
            isDefault: false,
            configSynonyms: [],
          })),
        };
      }),
    };
  }
  async alterConfigs(request: {
    resources: Array<{ name: string; configEntries: Array<{ name: string; value: string }> }>;
  }) {
    const alter: Record<string, Record<string, string>> = {};
    for (const r of request.resources) {
      alter[r.name] = Object.fromEntries(r.configEntries.map((e) => [e.name, e.value]));
      this.overrides.set(r.name, alter[r.name] ?? {});
    }
    this.alters.push(alter);
  }
}

function fenceOn(admin: FakeAdmin) {
  return topicConfigFence(async () => admin as never);
}

describe('topicConfigFence', () => {
  it("raises max.message.bytes=0 keeping the topic's other overrides, and lowers back to exactly them", async () => {
    const admin = new FakeAdmin();
    admin.overrides.set('orders', { 'retention.ms': '86400000', 'max.message.bytes': '2000000' });
    admin.overrides.set('payments', {});
    const fence = fenceOn(admin);

    const before = await fence.read(['orders', 'payments']);
    await fence.raise(before);
    const raised = structuredClone(Object.fromEntries(admin.overrides));
    await fence.lower(before);

    expect(before).toEqual([
      { topic: 'orders', overrides: { 'retention.ms': '86400000', 'max.message.bytes': '2000000' } },
      { topic: 'payments', overrides: {} },
    ]);
    expect(raised).toEqual({
      orders: { 'retention.ms': '86400000', 'max.message.bytes': '0' },
      payments: { 'max.message.bytes': '0' },
    });
    expect(Object.fromEntries(admin.overrides)).toEqual({
      orders: { 'retention.ms': '86400000', 'max.message.bytes': '2000000' },
      payments: {},
    });
  });

  it('reads a fence found already up (an interrupted run) as no override, so lowering removes it', async () => {
    const admin = new FakeAdmin();
    admin.overrides.set('orders', { 'max.message.bytes': '0', 'cleanup.policy': 'delete' });

    const before = await fenceOn(admin).read(['orders']);

    expect(before).toEqual([{ topic: 'orders', overrides: { 'cleanup.policy': 'delete' } }]);
  });

  it('says which topics carry the fence', async () => {
    const admin = new FakeAdmin();
    admin.overrides.set('primary.orders', { 'max.message.bytes': '0' });
    admin.overrides.set('primary.payments', { 'max.message.bytes': '1048588' });

    expect(await fenceOn(admin).fenced(['primary.orders', 'primary.payments'])).toEqual(['primary.orders']);
  });

  it('fails naming the topic when the broker does not describe it', async () => {
    const admin = new FakeAdmin();

    await expect(fenceOn(admin).read(['missing'])).rejects.toMatchObject({
      name: 'KafkaOperationError',
      reason: 'fence-failed',
      message: expect.stringContaining(
        "expected the configuration of topic 'missing' on the primary, got error 3",
      ),
    });
  });

  it('wraps a failed AlterConfigs with the topics and the cause', async () => {
    const failing = topicConfigFence(async () => ({
      describeConfigs: async () => ({ resources: [], throttleTime: 0 }),
      alterConfigs: async () => {
        throw new Error('Not authorized to access topics: [orders]');
      },
    }));

    const error = await failing.raise([{ topic: 'orders', overrides: {} }]).catch((e: unknown) => e);

    expect(error).toMatchObject({
      reason: 'fence-failed',
      message: expect.stringContaining("could not raise the write fence on the primary's topics orders"),
    });
    expect((error as Error).cause).toBeInstanceOf(Error);
  });
});
