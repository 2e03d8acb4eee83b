import {
  KafkaJSConnectionError,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
  KafkaJSRequestTimeoutError,
  type RecordMetadata,
} from 'kafkajs';
import { describe, expect, it } from 'vitest';
import {
  FollowingProducer,
  type FollowingProducerOptions,
  isRetriableSendError,
  type ProducerSwitchEvent,
} from '#shared/client/following-producer.ts';
import { SendFailedError } from '#shared/errors.ts';
import {
  activeConfig,
  certificateOf,
  deferred,
  FakeKafka,
  FakeSource,
  MemoryLogger,
  rotatedCredentials,
  stagedFailback,
} from './fakes.ts';

const failover = { orders: { produce: 'primary.orders', subscribe: ['primary.orders'] } };
const connectionError = () => new KafkaJSConnectionError('Connection error: connect ECONNREFUSED');
const invalidRecord = () =>
  new KafkaJSProtocolError({
    message: 'This record has failed the validation on broker and hence will be rejected',
    type: 'INVALID_RECORD',
    code: 87,
    retriable: false,
  } as unknown as string);
const tooLarge = () =>
  new KafkaJSProtocolError({
    message: 'The request included a message larger than the max message size the server will accept',
    type: 'MESSAGE_TOO_LARGE',
    code: 10,
    retriable: false,
  } as unknown as string);

async function connected(
  options: Partial<FollowingProducerOptions> = {},
  initial = activeConfig('primary', 1),
) {
  const kafka = new FakeKafka();
  const source = new FakeSource(initial);
  const switches: ProducerSwitchEvent[] = [];
  const logger = new MemoryLogger();
  const producer = new FollowingProducer({
    source,
    kafkaFactory: kafka.factory,
    logger,
    drainTimeoutMs: 1_000,
    retryBackoffMs: 5,
    onSwitch: (e) => switches.push(e),
    ...options,
  });
  await producer.connect();
  return { kafka, source, producer, switches, logger };
}

const message = (value: string) => ({ topic: 'orders', messages: [{ value }] });

describe('FollowingProducer', () => {
  it('sends to the mapped topic with acks=all and says which cluster acknowledged', async () => {
    const { kafka, producer } = await connected();

    const result = await producer.send(message('a'));

    expect(result).toMatchObject({ cluster: 'primary', epoch: 1, topic: 'orders', attempts: 1 });
    expect(kafka.producersOf('primary')[0]?.sends).toEqual([
      { topic: 'orders', messages: [{ value: 'a' }], acks: -1 },
    ]);
  });

  it('sends to the new cluster and its mapped topic after a switch, and disconnects the old producer', async () => {
    const { kafka, source, producer, switches } = await connected();

    await source.publish(activeConfig('secondary', 2, failover));
    const result = await producer.send(message('b'));
    await producer.settled();

    expect(result).toMatchObject({ cluster: 'secondary', epoch: 2, topic: 'primary.orders' });
    expect(kafka.producersOf('secondary')[0]?.sends.map((s) => s.topic)).toEqual(['primary.orders']);
    expect(kafka.producersOf('primary')[0]?.disconnects).toBe(1);
    expect(switches).toEqual([
      {
        from: { cluster: 'primary', epoch: 1 },
        to: { cluster: 'secondary', epoch: 2 },
        abandonedInFlight: 0,
      },
    ]);
  });

  it('retries on the new cluster a send that failed on the old one while the switch was happening', async () => {
    // Arrange: the primary holds the send open, then fails it after the switch arrived.
    const { kafka, source, producer } = await connected();
    const onPrimary = deferred<RecordMetadata[]>();
    kafka.producerBehaviour.set('primary', { send: () => onPrimary.promise });
    const sending = producer.send(message('c'));
    await waitUntil(() => kafka.producersOf('primary')[0]?.sends.length === 1);

    // Act
    await source.publish(activeConfig('secondary', 2, failover));
    onPrimary.reject(
      new KafkaJSNumberOfRetriesExceeded(connectionError(), { retryCount: 2, retryTime: 100 }),
    );
    const result = await sending;

    // Assert
    expect(result).toMatchObject({ cluster: 'secondary', topic: 'primary.orders', attempts: 2 });
    expect(kafka.producersOf('secondary')[0]?.sends.map((s) => s.messages)).toEqual([[{ value: 'c' }]]);
  });

  it('abandons a send the old cluster never answers after drainTimeoutMs and delivers it on the new one', async () => {
    const { kafka, source, producer, switches } = await connected({ drainTimeoutMs: 20 });
    kafka.producerBehaviour.set('primary', { send: () => new Promise<RecordMetadata[]>(() => {}) });
    const sending = producer.send(message('d'));
    await waitUntil(() => kafka.producersOf('primary')[0]?.sends.length === 1);

    await source.publish(activeConfig('secondary', 2, failover));
    const result = await sending;
    await producer.settled();

    expect(result).toMatchObject({ cluster: 'secondary', attempts: 2 });
    expect(switches[0]?.abandonedInFlight).toBe(1);
    expect(kafka.producersOf('primary')[0]?.disconnects).toBe(1);
  });

  it('does not wait for the drain when the old cluster has already left its sends unanswered for drainTimeoutMs (hung)', async () => {
    // The clock reads real time plus a jump: the send has been in flight 10 s when the switch comes. The drain
    // would be 60 s of real time, past the test's own timeout, if the producer waited for it.
    let jumpMs = 0;
    const clock = {
      now: () => Date.now() + jumpMs,
      sleep: (ms: number, signal?: AbortSignal) =>
        new Promise<void>((resolve) => {
          const t = setTimeout(resolve, ms);
          signal?.addEventListener('abort', () => {
            clearTimeout(t);
            resolve();
          });
        }),
      random: () => 0.5,
    };
    const { kafka, source, producer, switches } = await connected({
      drainTimeoutMs: 60_000,
      sendTimeoutMs: 600_000,
      clock,
    });
    kafka.producerBehaviour.set('primary', { send: () => new Promise<RecordMetadata[]>(() => {}) });
    const sending = producer.send(message('h'));
    await waitUntil(() => kafka.producersOf('primary')[0]?.sends.length === 1);
    jumpMs = 10_000 + 60_000;

    await source.publish(activeConfig('secondary', 2, failover));
    const result = await sending;

    expect(result).toMatchObject({ cluster: 'secondary', attempts: 2 });
    await producer.settled();
    expect(switches[0]?.abandonedInFlight).toBe(1);
  });

  it('resolves with the old cluster, without resending, when it acknowledges during the drain', async () => {
    const { kafka, source, producer } = await connected();
    const onPrimary = deferred<RecordMetadata[]>();
    kafka.producerBehaviour.set('primary', { send: () => onPrimary.promise });
    const sending = producer.send(message('e'));
    await waitUntil(() => kafka.producersOf('primary')[0]?.sends.length === 1);

    await source.publish(activeConfig('secondary', 2, failover));
    onPrimary.resolve([{ topicName: 'orders', partition: 0, errorCode: 0, baseOffset: '41' }]);
    const result = await sending;
    await producer.settled();

    expect(result).toMatchObject({ cluster: 'primary', epoch: 1, topic: 'orders', attempts: 1 });
    expect(result.records[0]?.baseOffset).toBe('41');
    expect(kafka.producersOf('secondary')[0]?.sends ?? []).toEqual([]);
  });

  it('keeps every one of many concurrent sends across a switch: each resolves on one cluster or the other', async () => {
    // Arrange: the primary answers every other send and fails the rest once the switch is there.
    const { kafka, source, producer } = await connected({ drainTimeoutMs: 20 });
    const held: Array<ReturnType<typeof deferred<RecordMetadata[]>>> = [];
    kafka.producerBehaviour.set('primary', {
      send: () => {
        const d = deferred<RecordMetadata[]>();
        held.push(d);
        return d.promise;
      },
    });
    const sends = Array.from({ length: 20 }, (_, i) => producer.send(message(`m${i}`)));
    await waitUntil(() => held.length === 20);

    // Act
    await source.publish(activeConfig('secondary', 2, failover));
    held.forEach((d, i) => {
      if (i % 2 === 0) d.resolve([]);
      else if (i % 4 === 1) d.reject(connectionError());
      // i % 4 === 3: never answered, abandoned after the drain timeout
    });
    const results = await Promise.all(sends);

    // Assert
    expect(results.filter((r) => r.cluster === 'primary')).toHaveLength(10);
    expect(results.filter((r) => r.cluster === 'secondary')).toHaveLength(10);
    const resent = kafka
      .producersOf('secondary')[0]
      ?.sends.map((s) => s.messages[0]?.value)
      .sort();
    expect(resent).toEqual(
      Array.from({ length: 20 }, (_, i) => `m${i}`)
        .filter((_, i) => i % 2 === 1)
        .sort(),
    );
  });

  it("keeps a key's order across a switch: a later send of the key waits for an earlier one to land on the new cluster", async () => {
    // Arrange: the dying primary never answers the first send of key k.
    const { kafka, source, producer } = await connected({ drainTimeoutMs: 20 });
    kafka.producerBehaviour.set('primary', { send: () => new Promise<RecordMetadata[]>(() => {}) });
    const keyed = (key: string, value: string) => ({ topic: 'orders', messages: [{ key, value }] });
    const first = producer.send(keyed('k', 'k1'));
    await waitUntil(() => kafka.producersOf('primary')[0]?.sends.length === 1);

    // Act: after the switch, a second send of k and one of another key, while k1 is still draining.
    await source.publish(activeConfig('secondary', 2, failover));
    const second = producer.send(keyed('k', 'k2'));
    const other = producer.send(keyed('other', 'o1'));
    const results = await Promise.all([first, second, other]);

    // Assert: k1 (abandoned on the primary, resent) lands before k2; the other key was not held back.
    const onSecondary = kafka.producersOf('secondary')[0]?.sends.map((s) => s.messages[0]?.value);
    expect(onSecondary).toEqual(['o1', 'k1', 'k2']);
    expect(results.map((r) => r.cluster)).toEqual(['secondary', 'secondary', 'secondary']);
  });

  it("does not hold a key's sends back on one cluster: they stay in flight together, in order", async () => {
    const { kafka, producer } = await connected();
    const held: Array<ReturnType<typeof deferred<RecordMetadata[]>>> = [];
    kafka.producerBehaviour.set('primary', {
      send: () => {
        const d = deferred<RecordMetadata[]>();
        held.push(d);
        return d.promise;
      },
    });

    const sends = ['k1', 'k2', 'k3'].map((value) =>
      producer.send({ topic: 'orders', messages: [{ key: 'k', value }] }),
    );
    await waitUntil(() => held.length === 3);
    for (const d of held) d.resolve([]);
    await Promise.all(sends);

    expect(kafka.producersOf('primary')[0]?.sends.map((s) => s.messages[0]?.value)).toEqual([
      'k1',
      'k2',
      'k3',
    ]);
  });

  it('rejects with SendFailedError "rejected" when the cluster refuses the record for good', async () => {
    const { kafka, producer } = await connected();
    kafka.producerBehaviour.set('primary', { send: () => Promise.reject(invalidRecord()) });

    const err = await producer.send(message('big')).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(SendFailedError);
    expect(err).toMatchObject({ reason: 'rejected', attempts: 1, retriable: false });
    expect((err as Error).message).toMatch(
      /'orders' \(orders on primary, epoch 1\) rejected: KafkaJSProtocolError/,
    );
    expect((err as Error).cause).toBeInstanceOf(KafkaJSProtocolError);
  });

  it("holds a send back while the primary's write fence rejects it, and delivers it on the secondary after the switch", async () => {
    const { kafka, source, producer } = await connected();
    kafka.producerBehaviour.set('primary', { send: () => Promise.reject(tooLarge()) });

    const sending = producer.send(message('fenced'));
    await waitUntil(() => (kafka.producersOf('primary')[0]?.sends.length ?? 0) >= 2);
    await source.publish(activeConfig('secondary', 2, failover));
    const result = await sending;

    expect(result).toMatchObject({ cluster: 'secondary', epoch: 2, topic: 'primary.orders' });
    expect(kafka.producersOf('secondary')[0]?.sends.map((s) => s.messages[0]?.value)).toEqual(['fenced']);
  });

  it('delivers a held-back send on the primary once the fence is lowered (a refused planned switchover)', async () => {
    const { kafka, producer } = await connected();
    let rejections = 0;
    kafka.producerBehaviour.set('primary', {
      send: () => (++rejections <= 3 ? Promise.reject(tooLarge()) : Promise.resolve([])),
    });

    const result = await producer.send(message('after-refusal'));

    expect(result).toMatchObject({ cluster: 'primary', attempts: 4 });
  });

  it('fails a record that is really too large at sendTimeoutMs, naming the broker error', async () => {
    const { kafka, producer } = await connected({ sendTimeoutMs: 100 });
    kafka.producerBehaviour.set('primary', { send: () => Promise.reject(tooLarge()) });

    const err = await producer.send(message('huge')).catch((e: unknown) => e);

    expect(err).toMatchObject({ name: 'SendFailedError', reason: 'timeout' });
    expect((err as Error).message).toMatch(/last error: .*larger than the max message size/);
    expect((err as Error).cause).toBeInstanceOf(KafkaJSProtocolError);
  });

  it('rejects with SendFailedError "timeout" when the only cluster keeps failing until sendTimeoutMs', async () => {
    const { kafka, producer } = await connected({ sendTimeoutMs: 100 });
    kafka.producerBehaviour.set('primary', { send: () => Promise.reject(connectionError()) });

    const err = await producer.send(message('f')).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(SendFailedError);
    expect(err).toMatchObject({ reason: 'timeout', retriable: true });
    expect((err as SendFailedError).attempts).toBeGreaterThan(1);
    expect((err as Error).message).toMatch(/may still have been written/);
    expect((err as Error).cause).toBeInstanceOf(KafkaJSConnectionError);
  });

  it('rejects a logical topic that the active mapping does not name', async () => {
    const { kafka, producer } = await connected();

    const err = await producer
      .send({ topic: 'payments', messages: [{ value: 'x' }] })
      .catch((e: unknown) => e);

    expect(err).toMatchObject({ name: 'SendFailedError', reason: 'unknown-topic' });
    expect((err as Error).message).toMatch(/expected one of the mapped topics \(orders\) in epoch 1/);
    expect(kafka.producersOf('primary')[0]?.sends).toEqual([]);
  });

  it('holds sends until the new cluster accepts connections, then delivers them there', async () => {
    const { kafka, source, producer } = await connected();
    let attempts = 0;
    kafka.producerBehaviour.set('secondary', {
      connect: async () => {
        attempts += 1;
        if (attempts < 3) throw connectionError();
      },
    });

    await source.publish(activeConfig('secondary', 2, failover));
    const result = await producer.send(message('g'));

    expect(attempts).toBe(3);
    expect(result.cluster).toBe('secondary');
  });

  it('rejects sends still waiting with SendFailedError "closed" when disconnected', async () => {
    const { kafka, source, producer } = await connected();
    kafka.producerBehaviour.set('secondary', { connect: () => Promise.reject(connectionError()) });
    await source.publish(activeConfig('secondary', 2, failover));
    const sending = producer.send(message('h'));

    await producer.disconnect();
    const err = await sending.catch((e: unknown) => e);

    expect(err).toMatchObject({ name: 'SendFailedError', reason: 'closed' });
    expect(source.listenerCount).toBe(0);
    await expect(producer.send(message('i'))).rejects.toMatchObject({ reason: 'closed' });
  });

  it('follows only the newest configuration when switches arrive faster than it can connect', async () => {
    const { kafka, source, producer } = await connected();
    const gate = deferred<void>();
    kafka.producerBehaviour.set('secondary', { connect: () => gate.promise });

    await source.publish(activeConfig('secondary', 2, failover));
    await source.publish(activeConfig('primary', 3));
    gate.resolve();
    const result = await producer.send(message('j'));
    await producer.settled();

    expect(result).toMatchObject({ cluster: 'primary', epoch: 3, topic: 'orders' });
    expect(kafka.producersOf('secondary')[0]?.sends).toEqual([]);
    expect(producer.active?.epoch).toBe(3);
  });
});

describe('FollowingProducer in a staged failback switch', () => {
  it('stays on the secondary without reconnecting while consumers move first, and moves with stage 2', async () => {
    // Arrange: after a failover, producers write to the secondary.
    const { kafka, source, producer, switches } = await connected({}, activeConfig('secondary', 1));
    const { stage1, stage2 } = stagedFailback('consumers', 2);

    // Act: stage 1 holds producers back.
    await source.publish(stage1);
    await producer.settled();
    const held = await producer.send(message('during stage 1'));

    // Assert: same kafkajs producer, nothing disconnected, no switch reported; the result carries the new epoch.
    expect(held).toMatchObject({ cluster: 'secondary', epoch: 2, topic: 'orders', attempts: 1 });
    expect(kafka.producers.map((p) => p.cluster)).toEqual(['secondary']);
    expect(kafka.producersOf('secondary')[0]?.disconnects).toBe(0);
    expect(switches).toEqual([]);
    expect(producer.active).toMatchObject({ cluster: 'secondary', epoch: 2 });
    expect(producer.active?.holdback).toBeUndefined();

    // Act: stage 2 moves producers.
    await source.publish(stage2);
    const moved = await producer.send(message('after stage 2'));
    await producer.settled();

    // Assert
    expect(moved).toMatchObject({ cluster: 'primary', epoch: 3, topic: 'orders' });
    expect(kafka.producers.map((p) => p.cluster)).toEqual(['secondary', 'primary']);
    expect(kafka.producersOf('secondary')[0]?.disconnects).toBe(1);
    expect(switches).toEqual([
      {
        from: { cluster: 'secondary', epoch: 2 },
        to: { cluster: 'primary', epoch: 3 },
        abandonedInFlight: 0,
      },
    ]);
  });

  it('moves at stage 1 when producers go first, and stays on the primary through stage 2', async () => {
    const { kafka, source, producer, switches } = await connected({}, activeConfig('secondary', 1));
    const { stage1, stage2 } = stagedFailback('producers', 2);

    await source.publish(stage1);
    const first = await producer.send(message('stage 1'));
    await source.publish(stage2);
    await producer.settled();
    const second = await producer.send(message('stage 2'));

    expect(first).toMatchObject({ cluster: 'primary', epoch: 2 });
    expect(second).toMatchObject({ cluster: 'primary', epoch: 3 });
    expect(kafka.producers.map((p) => p.cluster)).toEqual(['secondary', 'primary']);
    expect(switches.map((s) => `${s.from.cluster}@${s.from.epoch}->${s.to.cluster}@${s.to.epoch}`)).toEqual([
      'secondary@1->primary@2',
    ]);
  });

  it('connects to the held-back cluster when it starts during stage 1', async () => {
    const { kafka, producer } = await connected({}, stagedFailback('consumers', 2).stage1);

    const result = await producer.send(message('late starter'));

    expect(result).toMatchObject({ cluster: 'secondary', epoch: 2 });
    expect(kafka.producers.map((p) => p.cluster)).toEqual(['secondary']);
  });
});

describe('FollowingProducer when the credentials of its cluster are rotated', () => {
  it('reconnects on the same cluster with the new certificate and disconnects the old client, reporting no switch', async () => {
    const { kafka, source, producer, switches, logger } = await connected();

    await source.publish(rotatedCredentials(activeConfig('primary', 1), 'CERT-ROTATED'));
    const result = await producer.send(message('after the rotation'));
    await producer.settled();

    expect(result).toMatchObject({ cluster: 'primary', epoch: 2, topic: 'orders', attempts: 1 });
    expect(kafka.producers.map((p) => [p.cluster, certificateOf(p), p.disconnects])).toEqual([
      ['primary', 'none', 1],
      ['primary', 'CERT-ROTATED', 0],
    ]);
    expect(kafka.producers[1]?.sends.map((s) => s.messages)).toEqual([[{ value: 'after the rotation' }]]);
    expect(switches).toEqual([]);
    expect(logger.lines).toContainEqual({
      level: 'info',
      message: 'producer reconnected with new credentials',
      attributes: { cluster: 'primary', from: 1, to: 2, abandonedInFlight: 0 },
    });
    expect(JSON.stringify(logger.lines)).not.toContain('CERT-ROTATED');
  });

  it('lets a send in flight finish on the old client, and retries on the new one a send the old never answers', async () => {
    // Arrange: two sends in flight on the old client; it acknowledges the first during the drain, never the second.
    const { kafka, source, producer, logger } = await connected({ drainTimeoutMs: 20 });
    const first = deferred<RecordMetadata[]>();
    const pending = [first.promise, new Promise<RecordMetadata[]>(() => {})];
    kafka.producerBehaviour.set('primary', {
      send: () => pending.shift() ?? Promise.resolve([]),
    });
    const acknowledged = producer.send(message('acknowledged on the old client'));
    const abandoned = producer.send(message('never answered on the old client'));
    await waitUntil(() => kafka.producers[0]?.sends.length === 2);
    kafka.producerBehaviour.delete('primary');

    // Act
    await source.publish(rotatedCredentials(activeConfig('primary', 1), 'CERT-ROTATED'));
    first.resolve([{ topicName: 'orders', partition: 0, errorCode: 0, baseOffset: '7' }]);
    const results = await Promise.all([acknowledged, abandoned]);
    await producer.settled();

    // Assert: each acknowledged once; the abandoned one went to the client with the new certificate.
    expect(results.map((r) => [r.cluster, r.epoch, r.attempts])).toEqual([
      ['primary', 1, 1],
      ['primary', 2, 2],
    ]);
    expect(certificateOf(kafka.producers[1] ?? { kafkaConfig: undefined })).toBe('CERT-ROTATED');
    expect(kafka.producers[1]?.sends.map((s) => s.messages)).toEqual([
      [{ value: 'never answered on the old client' }],
    ]);
    expect(
      logger.lines.find((l) => l.message === 'producer reconnected with new credentials')?.attributes,
    ).toEqual({ cluster: 'primary', from: 1, to: 2, abandonedInFlight: 1 });
  });
});

describe('isRetriableSendError', () => {
  it.each([
    ['a connection error', connectionError(), true],
    ['a request timeout', new KafkaJSRequestTimeoutError('Request timed out'), true],
    [
      'retries exhausted on a connection error',
      new KafkaJSNumberOfRetriesExceeded(connectionError(), { retryCount: 1, retryTime: 1 }),
      true,
    ],
    ['a record too large', tooLarge(), false],
    [
      'retries exhausted on a record too large',
      new KafkaJSNumberOfRetriesExceeded(tooLarge(), { retryCount: 0, retryTime: 1 }),
      false,
    ],
    ['an invalid message', new KafkaJSNonRetriableError('Invalid message without value'), false],
    ['a TypeError from the application', new TypeError('x is not a function'), false],
    ['a thrown string', 'boom', false],
  ])('says %s is %s', (_what, error, expected) => {
    expect(isRetriableSendError(error)).toBe(expected);
  });
});

async function waitUntil(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1_000 && !condition(); i += 1) await new Promise((r) => setTimeout(r, 1));
  if (!condition()) throw new Error('condition not reached');
}
