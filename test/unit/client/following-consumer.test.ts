import { describe, expect, it } from 'vitest';
import {
  type ConsumerSwitchEvent,
  type FollowingBatchPayload,
  FollowingConsumer,
  type FollowingConsumerSettings,
  type FollowingHandler,
  type FollowingMessagePayload,
} from '#shared/client/following-consumer.ts';
import { Redacted } from '#shared/store/redacted.ts';
import {
  activeConfig,
  certificateOf,
  FakeKafka,
  FakeSource,
  MemoryLogger,
  rotatedCredentials,
  stagedFailback,
} from './fakes.ts';

const failover = { orders: { produce: 'primary.orders', subscribe: ['primary.orders'] } };

/** A started consumer on fakes; its records go to `received` unless `handler` says otherwise. */
async function started(
  options: Partial<FollowingConsumerSettings> & { handler?: FollowingHandler } = {},
  initial = activeConfig('primary', 1),
) {
  const kafka = new FakeKafka();
  const source = new FakeSource(initial);
  const received: FollowingMessagePayload[] = [];
  const switches: ConsumerSwitchEvent[] = [];
  const logger = new MemoryLogger();
  const { handler, ...settings } = options;
  const consumer = new FollowingConsumer({
    source,
    groupId: 'billing',
    topics: ['orders'],
    kafkaFactory: kafka.factory,
    logger,
    retryBackoffMs: 5,
    onSwitch: (e) => switches.push(e),
    drain: { settleMs: 20, timeoutMs: 2_000, checkIntervalMs: 5 },
    ...settings,
    ...(handler ?? {
      eachMessage: async (payload) => {
        received.push(payload);
      },
    }),
  });
  await consumer.start();
  return { kafka, source, consumer, received, switches, logger };
}

describe('FollowingConsumer', () => {
  it('with aggregate, subscribes to the local and the remote topic in active-active, labelling records with their logical topic', async () => {
    // Arrange
    const { kafka, received } = await started(
      { subscription: 'aggregate' },
      activeConfig('secondary', 4, {
        orders: { produce: 'orders', subscribe: ['orders'], remote: ['K1.orders'], drain: ['K1.orders'] },
      }),
    );
    const consumer = kafka.consumers[0];

    // Act
    await consumer?.deliver('K1.orders', 0, '7');
    await consumer?.deliver('orders', 1, '3');

    // Assert
    expect(consumer?.groupId).toBe('billing');
    expect(consumer?.subscriptions).toEqual([{ topics: ['orders', 'K1.orders'], fromBeginning: true }]);
    expect(received.map((r) => [r.logicalTopic, r.topic, r.cluster, r.epoch])).toEqual([
      ['orders', 'K1.orders', 'secondary', 4],
      ['orders', 'orders', 'secondary', 4],
    ]);
  });

  it('refuses to start with a logical topic the mapping does not name', async () => {
    const kafka = new FakeKafka();
    const consumer = new FollowingConsumer({
      source: new FakeSource(activeConfig('primary', 1)),
      groupId: 'g',
      topics: ['orders', 'payments'],
      eachMessage: async () => {},
      kafkaFactory: kafka.factory,
    });

    await expect(consumer.start()).rejects.toThrow(
      /expected mapped logical topics \(orders\), got unmapped 'payments'/,
    );
    expect(kafka.consumers).toHaveLength(0);
  });

  it('on a switch, keeps reading the old cluster until the group has read what was written there, then moves', async () => {
    // Arrange: the group has read 8 of 10 records on the primary.
    const { kafka, source, consumer, switches, received } = await started();
    const admin = kafka.admin('primary');
    admin.high.set('orders:0', 10);
    admin.committed.set('orders:0', 8);
    const old = kafka.consumers[0];

    // Act: the switch arrives; the drain must wait while the group is behind.
    await source.publish(activeConfig('secondary', 2, failover));
    await waitUntil(() => admin.calls >= 3);
    const disconnectedWhileBehind = old?.disconnects;
    await old?.deliver('orders', 0, '8');
    await old?.deliver('orders', 0, '9');
    admin.committed.set('orders:0', 10);
    await consumer.settled();

    // Assert
    expect(disconnectedWhileBehind).toBe(0);
    expect(received.map((r) => `${r.cluster}:${r.message.offset}`)).toEqual(['primary:8', 'primary:9']);
    const order = kafka.log.filter((l) => !l.startsWith('ends'));
    expect(order).toEqual([
      'subscribe primary orders',
      'disconnect consumer primary',
      'subscribe secondary primary.orders',
    ]);
    expect(switches).toEqual([
      {
        from: { cluster: 'primary', epoch: 1 },
        to: { cluster: 'secondary', epoch: 2 },
        topics: ['primary.orders'],
        drain: { kind: 'drained' },
      },
    ]);
    expect(consumer.active?.epoch).toBe(2);
  });

  it('does not wait for records a mirror keeps writing into the old topic after the settle time', async () => {
    // Arrange: after a failback the forward mirror keeps copying into the old cluster's topic; it never goes quiet.
    const { kafka, source, consumer, switches } = await started({
      drain: { settleMs: 10, timeoutMs: 5_000, checkIntervalMs: 5 },
    });
    const admin = kafka.admin('primary');
    admin.high.set('orders:0', 10);
    admin.committed.set('orders:0', 10);
    const mirror = setInterval(() => admin.high.set('orders:0', (admin.high.get('orders:0') ?? 0) + 1), 1);

    // Act
    try {
      await source.publish(activeConfig('secondary', 2, failover));
      await waitUntil(() => admin.calls >= 2);
      // The group keeps reading the copies too, a little behind the mirror.
      admin.committed.set('orders:0', admin.high.get('orders:0') ?? 0);
      await consumer.settled();
    } finally {
      clearInterval(mirror);
    }

    // Assert
    expect(switches[0]?.drain).toEqual({ kind: 'drained' });
  });

  it('starts partitions on the new cluster at the switch when their committed offsets lie past it', async () => {
    // Arrange: MM2 synced the group's offsets on the secondary to 9 and 2; producers that followed the switch
    // wrote from offset 5 (partition 0) and 4 (partition 1) on.
    const { kafka, source, consumer, logger } = await started({ drain: false });
    const secondary = kafka.admin('secondary');
    secondary.high.set('primary.orders:0', 12);
    secondary.high.set('primary.orders:1', 6);
    secondary.committed.set('primary.orders:0', 9);
    secondary.committed.set('primary.orders:1', 2);
    secondary.byTimestamp.set('primary.orders:0', 5);
    secondary.byTimestamp.set('primary.orders:1', 4);
    const next = { ...activeConfig('secondary', 2, failover), switchedAt: '2026-11-21T10:00:00.000Z' };

    // Act
    await source.publish(next);
    await consumer.settled();
    kafka.consumers[1]?.join({ 'primary.orders': [0, 1] });
    await waitUntil(() => logger.lines.some((l) => l.message.startsWith('started partitions at the switch')));

    // Assert: only the partition that would have skipped records moves; to the first record of the switch window.
    expect(kafka.consumers[1]?.seeks).toEqual([{ topic: 'primary.orders', partition: 0, offset: '5' }]);
    expect(secondary.timestampsAsked).toEqual([Date.parse('2026-11-21T10:00:00.000Z') - 10_000]);
  });

  it('checks each partition once, on the join that assigned it', async () => {
    const { kafka, source, consumer, logger } = await started({ drain: false, switchRewindMarginMs: 0 });
    const secondary = kafka.admin('secondary');
    secondary.high.set('primary.orders:0', 12);
    secondary.committed.set('primary.orders:0', 9);
    secondary.byTimestamp.set('primary.orders:0', 5);
    await source.publish(activeConfig('secondary', 2, failover));
    await consumer.settled();

    kafka.consumers[1]?.join({ 'primary.orders': [0] });
    await waitUntil(() => (kafka.consumers[1]?.seeks.length ?? 0) === 1);
    kafka.consumers[1]?.join({ 'primary.orders': [0] });
    await waitUntil(() => secondary.timestampsAsked.length >= 1);

    expect(kafka.consumers[1]?.seeks).toHaveLength(1);
    expect(logger.lines.filter((l) => l.message.startsWith('started partitions'))).toHaveLength(1);
  });

  it('trusts committed offsets on the first start and when the rewind is off', async () => {
    const { kafka, source, consumer } = await started({ drain: false, switchRewindMarginMs: false });
    kafka.admin('primary').high.set('orders:0', 10);
    kafka.admin('primary').committed.set('orders:0', 9);
    kafka.admin('primary').byTimestamp.set('orders:0', 1);
    kafka.consumers[0]?.join({ orders: [0] });
    await source.publish(activeConfig('secondary', 2, failover));
    await consumer.settled();
    kafka.admin('secondary').high.set('primary.orders:0', 10);
    kafka.admin('secondary').committed.set('primary.orders:0', 9);
    kafka.consumers[1]?.join({ 'primary.orders': [0] });
    // A rewind, if one were armed, would have asked for offsets by timestamp within these turns.
    for (let i = 0; i < 10; i += 1) await new Promise((r) => setImmediate(r));

    expect(kafka.consumers.flatMap((c) => c.seeks)).toEqual([]);
    expect(kafka.admin('primary').timestampsAsked).toEqual([]);
    expect(kafka.admin('secondary').timestampsAsked).toEqual([]);
  });

  it('labels records read after the switch with the new cluster and maps the mirrored topic back to the logical one', async () => {
    const { kafka, source, consumer, received } = await started({ drain: false });

    await source.publish(activeConfig('secondary', 2, failover));
    await consumer.settled();
    await kafka.consumers[1]?.deliver('primary.orders', 0, '0');

    expect(received.map((r) => [r.logicalTopic, r.topic, r.cluster, r.epoch])).toEqual([
      ['orders', 'primary.orders', 'secondary', 2],
    ]);
  });

  it('leaves at once, saying so, when the old cluster does not answer', async () => {
    const { kafka, source, consumer, switches, logger } = await started();
    kafka.admin('primary').unreachable = true;

    await source.publish(activeConfig('secondary', 2, failover));
    await consumer.settled();

    expect(switches[0]?.drain).toEqual({
      kind: 'unreachable',
      error: 'KafkaJSConnectionError: Connection refused',
    });
    expect(kafka.consumers[1]?.subscriptions[0]?.topics).toEqual(['primary.orders']);
    expect(logger.lines.some((l) => l.level === 'warn' && l.message.includes('without draining'))).toBe(true);
  });

  it('gives up draining at the deadline and reports how many records it left behind', async () => {
    const { kafka, source, consumer, switches } = await started({
      drain: { settleMs: 10, timeoutMs: 50, checkIntervalMs: 5 },
    });
    const admin = kafka.admin('primary');
    admin.high.set('orders:0', 10);
    admin.high.set('orders:1', 4);
    admin.committed.set('orders:0', 7);
    admin.committed.set('orders:1', 4);

    await source.publish(activeConfig('secondary', 2, failover));
    await consumer.settled();

    expect(switches[0]?.drain).toEqual({ kind: 'timeout', leftBehind: 3 });
    expect(kafka.consumers[1]?.subscriptions).toHaveLength(1);
  });

  it('counts a partition with no committed offset as unread from its start when reading from the beginning', async () => {
    const { kafka, source, consumer, switches } = await started({
      drain: { settleMs: 10, timeoutMs: 50, checkIntervalMs: 5 },
    });
    kafka.admin('primary').high.set('orders:0', 5);

    await source.publish(activeConfig('secondary', 2, failover));
    await consumer.settled();

    expect(switches[0]?.drain).toEqual({ kind: 'timeout', leftBehind: 5 });
  });

  it('moves without draining when drain is off', async () => {
    const { kafka, source, consumer, switches } = await started({ drain: false });
    kafka.admin('primary').high.set('orders:0', 10);

    await source.publish(activeConfig('secondary', 2, failover));
    await consumer.settled();

    expect(switches[0]?.drain).toEqual({ kind: 'disabled' });
    expect(kafka.admin('primary').calls).toBe(0);
  });

  it('keeps trying to join on the new cluster until its mapped topic exists', async () => {
    const { kafka, source, consumer } = await started({ drain: false });
    let tries = 0;
    kafka.subscribeBehaviour.set('secondary', async () => {
      tries += 1;
      if (tries < 3)
        throw Object.assign(new Error('This server does not host this topic-partition'), {
          name: 'KafkaJSProtocolError',
        });
    });

    await source.publish(activeConfig('secondary', 2, failover));
    await consumer.settled();

    expect(tries).toBe(3);
    const onSecondary = kafka.consumers.filter((c) => c.cluster === 'secondary');
    expect(onSecondary).toHaveLength(3);
    expect(onSecondary.slice(0, 2).every((c) => c.disconnects === 1)).toBe(true);
    expect(onSecondary[2]?.subscriptions[0]?.topics).toEqual(['primary.orders']);
  });

  it('leaves the group and stops following on stop()', async () => {
    const { kafka, source, consumer } = await started();

    await consumer.stop();
    await source.publish(activeConfig('secondary', 2, failover));

    expect(kafka.consumers).toHaveLength(1);
    expect(kafka.consumers[0]?.disconnects).toBe(1);
    expect(source.listenerCount).toBe(0);
  });
});

describe('FollowingConsumer in active-active, local (the default)', () => {
  const k1Home = { orders: { produce: 'orders', subscribe: ['orders'], remote: ['K2.orders'] } };
  const movedToK2 = {
    orders: { produce: 'orders', subscribe: ['orders'], remote: ['K1.orders'], drain: ['K1.orders'] },
  };

  it('reads only the local topic in normal running', async () => {
    const { kafka } = await started({}, activeConfig('primary', 1, k1Home));

    expect(kafka.consumers.map((c) => [c.cluster, c.groupId, c.subscriptions[0]?.topics])).toEqual([
      ['primary', 'billing', ['orders']],
    ]);
  });

  it("after a failover reads K1's copy to its end in the drain group first, then joins the group on the local topic, without a rewind", async () => {
    // Arrange: the failover translated the group to offset 5 of K1.orders; MM2 had copied 8 records.
    const { kafka, source, consumer, received, switches } = await started(
      {},
      activeConfig('primary', 1, k1Home),
    );
    const k2 = kafka.admin('secondary');
    k2.high.set('K1.orders:0', 8);
    k2.high.set('orders:0', 40);
    k2.groupCommitted.set('billing.drain K1.orders:0', 5);
    k2.groupCommitted.set('billing orders:0', 30);

    // Act
    await source.publish(activeConfig('secondary', 2, movedToK2));
    await waitUntil(() => kafka.consumers.length === 2);
    const drainer = kafka.consumers[1];
    await drainer?.deliver('K1.orders', 0, '5');
    const stillDrainingAfterOne = kafka.consumers.length;
    await drainer?.deliver('K1.orders', 0, '6');
    await drainer?.deliver('K1.orders', 0, '7');
    k2.groupCommitted.set('billing.drain K1.orders:0', 8);
    await consumer.settled();

    // Assert
    expect(stillDrainingAfterOne).toBe(2);
    expect(kafka.consumers.map((c) => [c.cluster, c.groupId, c.subscriptions[0]?.topics])).toEqual([
      ['primary', 'billing', ['orders']],
      ['secondary', 'billing.drain', ['K1.orders']],
      ['secondary', 'billing', ['orders']],
    ]);
    expect(kafka.log.filter((l) => !l.startsWith('ends'))).toEqual([
      'subscribe primary orders',
      'disconnect consumer primary',
      'subscribe secondary K1.orders',
      'disconnect consumer secondary',
      'subscribe secondary orders',
    ]);
    expect(received.map((r) => [r.logicalTopic, r.topic, r.cluster, r.message.offset])).toEqual([
      ['orders', 'K1.orders', 'secondary', '5'],
      ['orders', 'K1.orders', 'secondary', '6'],
      ['orders', 'K1.orders', 'secondary', '7'],
    ]);
    kafka.consumers[2]?.join({ orders: [0] });
    await new Promise((r) => setTimeout(r, 20));
    expect(k2.timestampsAsked).toEqual([]);
    expect(kafka.consumers[2]?.seeks).toEqual([]);
    expect(switches.map((e) => [e.to.cluster, e.topics])).toEqual([['secondary', ['orders']]]);
  });

  it('joins at once when the drain group already reached the end (a consumer that restarts after the drain)', async () => {
    const kafka = new FakeKafka();
    const k2 = kafka.admin('secondary');
    k2.high.set('K1.orders:0', 8);
    k2.groupCommitted.set('billing.drain K1.orders:0', 8);
    const consumer = new FollowingConsumer({
      source: new FakeSource(activeConfig('secondary', 2, movedToK2)),
      groupId: 'billing',
      topics: ['orders'],
      kafkaFactory: kafka.factory,
      logger: new MemoryLogger(),
      eachMessage: async () => {},
    });

    await consumer.start();

    expect(kafka.consumers.map((c) => [c.groupId, c.subscriptions[0]?.topics])).toEqual([
      ['billing', ['orders']],
    ]);
    await consumer.stop();
  });

  it('abandons the drain for a newer configuration that arrives first (the primary is back) and follows it', async () => {
    const { kafka, source, consumer } = await started({}, activeConfig('primary', 1, k1Home));
    const k2 = kafka.admin('secondary');
    k2.high.set('K1.orders:0', 8);

    await source.publish(activeConfig('secondary', 2, movedToK2));
    await waitUntil(() => kafka.consumers.length === 2);
    await source.publish(activeConfig('primary', 3, k1Home));
    await consumer.settled();

    expect(kafka.consumers.map((c) => [c.cluster, c.groupId, c.disconnects])).toEqual([
      ['primary', 'billing', 1],
      ['secondary', 'billing.drain', 1],
      ['primary', 'billing', 0],
    ]);
    expect(consumer.active?.epoch).toBe(3);
  });
});

describe('FollowingConsumer leaves a cluster for good', () => {
  it('lets kafkajs restart a crashed consumer while it is current, never once the client has left it', async () => {
    // Arrange
    const { kafka, source, consumer } = await started({ drain: false });
    const restart = kafka.consumers[0]?.config?.retry?.restartOnFailure;
    const crash = Object.assign(new Error('Connection error'), { name: 'KafkaJSNumberOfRetriesExceeded' });
    const whileCurrent = await restart?.(crash);

    // Act: the switch leaves the primary (which has just died: the crash and our disconnect race in kafkajs).
    await source.publish(activeConfig('secondary', 2, failover));
    await consumer.settled();

    // Assert
    expect(whileCurrent).toBe(true);
    expect(await restart?.(crash)).toBe(false);
    expect(await kafka.consumers[1]?.config?.retry?.restartOnFailure?.(crash)).toBe(true);
  });

  it("keeps the application's own restartOnFailure decision for the current consumer", async () => {
    const { kafka } = await started({
      consumer: { retry: { restartOnFailure: async () => false } },
    });
    const crash = Object.assign(new Error('x'), { name: 'KafkaJSNumberOfRetriesExceeded' });

    expect(await kafka.consumers[0]?.config?.retry?.restartOnFailure?.(crash)).toBe(false);
  });

  it('never hands the application a record fetched by a consumer it has left, and disconnects that consumer again', async () => {
    // Arrange
    const { kafka, source, consumer, received, logger } = await started({ drain: false });
    const old = kafka.consumers[0];
    await source.publish(activeConfig('secondary', 2, failover));
    await consumer.settled();
    const disconnectsAfterSwitch = old?.disconnects ?? 0;

    // Act: kafkajs brought the old consumer back (it rejoined its group on the primary and fetched a record).
    old?.join({ orders: [0] });
    await waitUntil(() => (old?.disconnects ?? 0) > disconnectsAfterSwitch);
    const delivery = old?.deliver('orders', 0, '41');

    // Assert: the record is refused (so kafkajs does not commit it there) and the application never sees it.
    await expect(delivery).rejects.toThrow(/consumer on primary \(epoch 1\) was stopped/);
    expect(received).toEqual([]);
    expect(old?.disconnects).toBeGreaterThanOrEqual(disconnectsAfterSwitch + 1);
    expect(logger.lines.map((l) => l.message)).toContain(
      'a consumer this client had left rejoined its group; disconnecting it',
    );
  });
});

describe('FollowingConsumer with eachBatch', () => {
  it('hands each batch with its logical topic, cluster and epoch, before and after a switch', async () => {
    // Arrange
    const batches: FollowingBatchPayload[] = [];
    const { kafka, source, consumer } = await started({
      drain: false,
      handler: {
        eachBatch: async (payload) => {
          batches.push(payload);
        },
      },
    });

    // Act
    await kafka.consumers[0]?.deliverBatch('orders', 0, ['4', '5']);
    await source.publish(activeConfig('secondary', 2, failover));
    await consumer.settled();
    await kafka.consumers[1]?.deliverBatch('primary.orders', 1, ['9']);

    // Assert
    expect(kafka.consumers.map((c) => [c.runConfig?.eachMessage, typeof c.runConfig?.eachBatch])).toEqual([
      [undefined, 'function'],
      [undefined, 'function'],
    ]);
    expect(
      batches.map((b) => [
        b.logicalTopic,
        b.batch.topic,
        b.cluster,
        b.epoch,
        b.batch.messages.map((m) => m.offset).join(','),
      ]),
    ).toEqual([
      ['orders', 'orders', 'primary', 1, '4,5'],
      ['orders', 'primary.orders', 'secondary', 2, '9'],
    ]);
  });

  it('tells a batch handler that is still running to stop once the client left its cluster, and refuses later batches there', async () => {
    // Arrange: a batch in the handler's hands on the primary when the switch comes.
    const batches: FollowingBatchPayload[] = [];
    const { kafka, source, consumer } = await started({
      drain: false,
      handler: {
        eachBatch: async (payload) => {
          batches.push(payload);
        },
      },
    });
    const old = kafka.consumers[0];
    await old?.deliverBatch('orders', 0, ['4']);
    const inHand = batches[0];
    const before = [inHand?.isRunning(), inHand?.isStale()];

    // Act
    await source.publish(activeConfig('secondary', 2, failover));
    await consumer.settled();
    const late = old?.deliverBatch('orders', 0, ['5']);

    // Assert
    expect(before).toEqual([true, false]);
    expect([inHand?.isRunning(), inHand?.isStale()]).toEqual([false, true]);
    await expect(late).rejects.toThrow(/consumer on primary \(epoch 1\) was stopped/);
    expect(batches).toHaveLength(1);
  });

  it.each([
    ['neither', {}],
    ['both', { eachMessage: async () => {}, eachBatch: async () => {} }],
  ])('refuses a consumer with %s of eachMessage and eachBatch', (what, handler) => {
    expect(
      () =>
        new FollowingConsumer({
          source: new FakeSource(activeConfig('primary', 1)),
          groupId: 'g',
          topics: ['orders'],
          ...(handler as FollowingHandler),
        }),
    ).toThrow(`FollowingConsumer: expected exactly one of eachMessage and eachBatch, got ${what}`);
  });
});

describe('FollowingConsumer after a crash', () => {
  const handlerBug = () => Object.assign(new TypeError("Cannot read properties of undefined (reading 'id')"));
  const connectionLost = () =>
    Object.assign(new Error('Connection error'), { name: 'KafkaJSNumberOfRetriesExceeded', retriable: true });

  it('rebuilds the current consumer that kafkajs left dead after an error it does not retry, in the same group and place', async () => {
    // Arrange
    const { kafka, consumer, received, switches, logger } = await started({ drain: false });
    const dead = kafka.consumers[0];

    // Act: the handler threw a TypeError; kafkajs disconnects the consumer and does not restart it.
    await dead?.crashOn(handlerBug());
    await waitUntil(() => kafka.consumers.length === 2);
    await consumer.settled();
    const rebuilt = kafka.consumers[1];
    rebuilt?.join({ orders: [0, 1] });
    await rebuilt?.deliver('orders', 0, '12');

    // Assert: same cluster, group and subscription; no switch reported, no rewind asked for on a mere rebuild.
    expect(dead?.disconnects).toBe(1);
    expect([rebuilt?.cluster, rebuilt?.groupId, rebuilt?.subscriptions]).toEqual([
      'primary',
      'billing',
      [{ topics: ['orders'], fromBeginning: true }],
    ]);
    expect(consumer.active?.epoch).toBe(1);
    expect(received.map((r) => `${r.cluster}:${r.message.offset}`)).toEqual(['primary:12']);
    expect(switches).toEqual([]);
    expect(kafka.admin('primary').timestampsAsked).toEqual([]);
    expect(logger.lines.map((l) => [l.level, l.message])).toEqual(
      expect.arrayContaining([
        ['error', 'the consumer crashed on an error kafkajs does not restart from; rebuilding it'],
        ['info', 'consumer rebuilt after a crash'],
      ]),
    );
  });

  it('leaves a crash that kafkajs restarts from to kafkajs', async () => {
    const { kafka, consumer } = await started({ drain: false });

    await kafka.consumers[0]?.crashOn(connectionLost());
    await consumer.settled();

    expect(kafka.consumers).toHaveLength(1);
  });

  it("keeps a consumer stopped when the application's restartOnFailure declined the restart", async () => {
    const { kafka, consumer, logger } = await started({
      drain: false,
      consumer: { retry: { restartOnFailure: async () => false } },
    });

    await kafka.consumers[0]?.crashOn(connectionLost());
    await consumer.settled();

    expect(kafka.consumers).toHaveLength(1);
    expect(logger.lines.map((l) => l.message)).toContain(
      'the consumer crashed and restartOnFailure declined a restart; it stays stopped',
    );
  });

  it('waits twice as long before each rebuild in a row, until the handler finishes a record again', async () => {
    // Arrange
    const { kafka, consumer, logger } = await started({ drain: false, retryBackoffMs: 5 });
    const crashLatest = async () => {
      const count = kafka.consumers.length;
      await kafka.consumers.at(-1)?.crashOn(handlerBug());
      await waitUntil(() => kafka.consumers.length === count + 1);
      await consumer.settled();
    };

    // Act
    await crashLatest();
    await crashLatest();
    await crashLatest();
    await kafka.consumers.at(-1)?.deliver('orders', 0, '3');
    await crashLatest();

    // Assert
    const waits = logger.lines
      .filter((l) => l.message === 'consumer rebuilt after a crash')
      .map((l) => l.attributes?.waitedMs);
    expect(waits).toEqual([5, 10, 20, 5]);
    expect(kafka.consumers.map((c) => c.cluster)).toEqual([
      'primary',
      'primary',
      'primary',
      'primary',
      'primary',
    ]);
  });

  it('stops draining a consumer that crashes during a switch, reports it, and moves', async () => {
    // Arrange: the group is behind on the primary when the switch comes.
    const { kafka, source, consumer, switches } = await started();
    const admin = kafka.admin('primary');
    admin.high.set('orders:0', 10);
    admin.committed.set('orders:0', 8);
    const old = kafka.consumers[0];

    // Act
    await source.publish(activeConfig('secondary', 2, failover));
    await waitUntil(() => admin.calls >= 3);
    await old?.crashOn(handlerBug());
    await consumer.settled();

    // Assert
    expect(kafka.consumers.map((c) => c.cluster)).toEqual(['primary', 'secondary']);
    expect(switches.map((s) => [s.from.cluster, s.to.cluster, s.drain])).toEqual([
      [
        'primary',
        'secondary',
        { kind: 'crashed', error: "TypeError: Cannot read properties of undefined (reading 'id')" },
      ],
    ]);
  });
});

describe('FollowingConsumer rewind in a staged failback switch', () => {
  it('does not rewind when consumers move first: no producer writes to the primary yet', async () => {
    // Arrange: the group's committed offset on the primary lies past records of the last 10 s.
    const { kafka, source, consumer, logger } = await started({ drain: false }, activeConfig('secondary', 1));
    const primary = kafka.admin('primary');
    primary.high.set('orders:0', 12);
    primary.committed.set('orders:0', 9);
    primary.byTimestamp.set('orders:0', 5);
    const { stage1, stage2 } = stagedFailback('consumers', 2);

    // Act
    await source.publish(stage1);
    await consumer.settled();
    kafka.consumers[1]?.join({ orders: [0] });
    await source.publish(stage2);
    await consumer.settled();
    for (let i = 0; i < 10; i += 1) await new Promise((r) => setImmediate(r));

    // Assert
    expect(kafka.consumers[1]?.seeks).toEqual([]);
    expect(primary.timestampsAsked).toEqual([]);
    expect(logger.lines.map((l) => l.message)).toContain(
      'no rewind: producers do not write to this cluster in this epoch',
    );
  });

  it('when producers move first, rewinds to when they arrived on the primary, not to stage 2', async () => {
    const { kafka, source, consumer } = await started({ drain: false }, activeConfig('secondary', 1));
    const primary = kafka.admin('primary');
    primary.high.set('orders:0', 12);
    primary.committed.set('orders:0', 9);
    primary.byTimestamp.set('orders:0', 5);
    const { stage1, stage2 } = stagedFailback('producers', 2);
    const s1 = { ...stage1, switchedAt: '2026-11-21T10:00:00.000Z' };
    const s2 = { ...stage2, switchedAt: '2026-11-21T10:00:30.000Z' };

    await source.publish(s1);
    await consumer.settled();
    await source.publish(s2);
    await consumer.settled();
    kafka.consumers[1]?.join({ orders: [0] });
    await waitUntil(() => (kafka.consumers[1]?.seeks.length ?? 0) === 1);

    expect(primary.timestampsAsked).toEqual([Date.parse('2026-11-21T10:00:00.000Z') - 10_000]);
    expect(kafka.consumers[1]?.seeks).toEqual([{ topic: 'orders', partition: 0, offset: '5' }]);
  });
});

describe('FollowingConsumer in a staged failback switch', () => {
  it('stays in the group on the secondary while producers move first, and moves with stage 2', async () => {
    // Arrange: after a failover, the group reads on the secondary.
    const { kafka, source, consumer, switches, received } = await started({}, activeConfig('secondary', 1));
    const { stage1, stage2 } = stagedFailback('producers', 2);
    const onSecondary = kafka.consumers[0];

    // Act: stage 1 holds consumers back.
    await source.publish(stage1);
    await consumer.settled();
    await onSecondary?.deliver('orders', 0, '5');

    // Assert: no drain, no rejoin, no switch reported; records carry the new epoch.
    expect(kafka.consumers).toHaveLength(1);
    expect(onSecondary?.disconnects).toBe(0);
    expect(kafka.admin('secondary').calls).toBe(0);
    expect(switches).toEqual([]);
    expect(received.map((r) => [r.cluster, r.epoch, r.message.offset])).toEqual([['secondary', 2, '5']]);
    expect(consumer.active).toMatchObject({ cluster: 'secondary', epoch: 2 });

    // Act: stage 2 moves consumers (after draining the secondary).
    await source.publish(stage2);
    await consumer.settled();

    // Assert
    expect(kafka.log.filter((l) => !l.startsWith('ends'))).toEqual([
      'subscribe secondary orders',
      'disconnect consumer secondary',
      'subscribe primary orders',
    ]);
    expect(switches).toEqual([
      {
        from: { cluster: 'secondary', epoch: 2 },
        to: { cluster: 'primary', epoch: 3 },
        topics: ['orders'],
        drain: { kind: 'drained' },
      },
    ]);
  });

  it('moves at stage 1 when consumers go first, and stays on the primary through stage 2', async () => {
    const { kafka, source, consumer, switches, received } = await started({}, activeConfig('secondary', 1));
    const { stage1, stage2 } = stagedFailback('consumers', 2);

    await source.publish(stage1);
    await consumer.settled();
    await source.publish(stage2);
    await consumer.settled();
    await kafka.consumers[1]?.deliver('orders', 1, '9');

    expect(kafka.consumers.map((c) => c.cluster)).toEqual(['secondary', 'primary']);
    expect(kafka.consumers[1]?.disconnects).toBe(0);
    expect(switches.map((s) => `${s.from.cluster}@${s.from.epoch}->${s.to.cluster}@${s.to.epoch}`)).toEqual([
      'secondary@1->primary@2',
    ]);
    expect(received.map((r) => [r.cluster, r.epoch])).toEqual([['primary', 3]]);
  });

  it('rejoins when a new epoch keeps the cluster but changes what to subscribe to', async () => {
    const { kafka, source, consumer, switches } = await started();

    await source.publish(
      activeConfig('primary', 2, { orders: { produce: 'orders', subscribe: ['orders', 'K2.orders'] } }),
    );
    await consumer.settled();

    expect(kafka.consumers.map((c) => c.subscriptions[0]?.topics)).toEqual([
      ['orders'],
      ['orders', 'K2.orders'],
    ]);
    expect(switches.map((s) => s.topics)).toEqual([['orders', 'K2.orders']]);
  });
});

describe('FollowingConsumer when the credentials of its cluster are rotated', () => {
  it('rejoins the group on the same cluster with the new certificate, from the committed offsets: no drain, no rewind, no switch', async () => {
    // Arrange: the group is 2 records behind on the primary (a drain would wait for them), and its committed
    // offset lies past the records since the epoch's switchedAt (a rewind would move it back).
    const { kafka, source, consumer, received, switches, logger } = await started();
    const admin = kafka.admin('primary');
    admin.high.set('orders:0', 10);
    admin.committed.set('orders:0', 8);
    admin.byTimestamp.set('orders:0', 2);
    const old = kafka.consumers[0];
    old?.join({ orders: [0] });

    // Act
    await source.publish(rotatedCredentials(activeConfig('primary', 1), 'CERT-ROTATED'));
    await consumer.settled();
    const rejoined = kafka.consumers[1];
    rejoined?.join({ orders: [0] });
    await rejoined?.deliver('orders', 0, '8');
    for (let i = 0; i < 10; i += 1) await new Promise((r) => setImmediate(r));

    // Assert: left (committing) before joining again, same group and subscription, built with the new certificate.
    expect(kafka.log).toEqual([
      'subscribe primary orders',
      'disconnect consumer primary',
      'subscribe primary orders',
    ]);
    expect(kafka.consumers.map((c) => [c.cluster, c.groupId, certificateOf(c)])).toEqual([
      ['primary', 'billing', 'none'],
      ['primary', 'billing', 'CERT-ROTATED'],
    ]);
    expect(old?.disconnects).toBe(1);
    expect(admin.calls).toBe(0);
    expect(admin.timestampsAsked).toEqual([]);
    expect(rejoined?.seeks).toEqual([]);
    expect(switches).toEqual([]);
    expect(received.map((r) => [r.cluster, r.epoch, r.message.offset])).toEqual([['primary', 2, '8']]);
    expect(consumer.active).toMatchObject({ cluster: 'primary', epoch: 2 });
    expect(logger.lines).toContainEqual({
      level: 'info',
      message: 'consumer reconnected with new credentials',
      attributes: { cluster: 'primary', from: 1, to: 2, topics: ['orders'] },
    });
    expect(JSON.stringify(logger.lines)).not.toContain('CERT-ROTATED');
  });

  it('keeps the epoch it joined the cluster at, so a staged failback still rewinds to when producers arrived', async () => {
    // Arrange: consumers on the secondary since epoch 1. Stage 1 (epoch 3, at T3) moves producers to the primary and
    // holds consumers back; the secondary's certificate is rotated at epoch 4; stage 2 (epoch 5, at T5) moves them.
    const { kafka, source, consumer } = await started({ drain: false }, activeConfig('secondary', 1));
    const t3 = '2026-11-21T11:00:00.000Z';
    const t5 = '2026-11-21T12:00:00.000Z';
    const stage1 = { ...stagedFailback('producers', 3).stage1, switchedAt: t3 };
    const held = stage1.holdback;
    if (held === undefined) throw new Error('expected stage 1 to hold consumers back');
    const rotated = new Redacted({
      ...held.kafka.reveal(),
      ssl: { cert: 'CERT-ROTATED', key: 'KEY-ROTATED' },
    });

    // Act
    await source.publish(stage1);
    await consumer.settled();
    await source.publish({ ...stage1, epoch: 4, holdback: { ...held, kafka: rotated } });
    await consumer.settled();
    await source.publish({ ...activeConfig('primary', 5), switchedAt: t5 });
    await consumer.settled();
    kafka.admin('primary').high.set('orders:0', 10);
    kafka.admin('primary').committed.set('orders:0', 9);
    kafka.consumers.at(-1)?.join({ orders: [0] });
    await waitUntil(() => kafka.admin('primary').timestampsAsked.length === 1);

    // Assert: the records producers wrote on the primary since T3 are read, not only those since T5.
    expect(kafka.consumers.map((c) => [c.cluster, certificateOf(c)])).toEqual([
      ['secondary', 'none'],
      ['secondary', 'CERT-ROTATED'],
      ['primary', 'none'],
    ]);
    expect(kafka.admin('primary').timestampsAsked).toEqual([Date.parse(t3) - 10_000]);
  });

  it('rebuilds a consumer that crashed while a rotation arrived with the new certificate, without a rewind', async () => {
    // Arrange
    const { kafka, source, consumer, switches, logger } = await started({ drain: false });
    const dead = kafka.consumers[0];

    // Act: the consumer dies on an error kafkajs does not restart from; the refreshed epoch lands meanwhile.
    await dead?.crashOn(new TypeError('handler bug'));
    await source.publish(rotatedCredentials(activeConfig('primary', 1), 'CERT-ROTATED'));
    await waitUntil(() => kafka.consumers.length === 2);
    await consumer.settled();
    kafka.consumers[1]?.join({ orders: [0] });
    for (let i = 0; i < 10; i += 1) await new Promise((r) => setImmediate(r));

    // Assert
    expect(kafka.consumers.map((c) => [c.cluster, certificateOf(c)])).toEqual([
      ['primary', 'none'],
      ['primary', 'CERT-ROTATED'],
    ]);
    expect(kafka.admin('primary').timestampsAsked).toEqual([]);
    expect(switches).toEqual([]);
    expect(consumer.active?.epoch).toBe(2);
    expect(logger.lines.map((l) => l.message)).toContain('consumer rebuilt after a crash');
  });
});

async function waitUntil(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1_000 && !condition(); i += 1) await new Promise((r) => setTimeout(r, 1));
  if (!condition()) throw new Error('condition not reached');
}
