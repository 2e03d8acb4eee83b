import { describe, expect, it } from 'vitest';
import { type AppendRoute, IdempotentAppender } from '#shared/kafka/idempotent-append.ts';

type Broker = Awaited<ReturnType<AppendRoute['leader']>>;
type ProduceAnswer = { errorCode: number; baseOffset?: number } | Error;

const NOT_LEADER_OR_FOLLOWER = 6;
const COORDINATOR_LOAD_IN_PROGRESS = 14;
const OUT_OF_ORDER_SEQUENCE_NUMBER = 45;

/**
 * A broker that answers InitProducerId and Produce from scripts, and keeps every Produce body it was sent (the
 * batch starts after the request's fixed fields and the topic name).
 */
function fakeBroker(script: { init?: number[]; produce?: ProduceAnswer[] }) {
  const sent: Buffer[] = [];
  let inits = 0;
  let nextProducerId = 42;
  const broker = {
    lookupRequest: (apiKey: number) => () => ({
      request: { apiKey, apiVersion: apiKey === 0 ? 7 : 1, encode: async () => ({}) },
      response: { decode: async () => ({}), parse: async () => ({}) },
    }),
    connectionPool: {
      send: async ({ request }: { request: { apiKey: number; encode(): Promise<{ buffer?: Buffer }> } }) => {
        if (request.apiKey === 22) {
          inits += 1;
          const errorCode = script.init?.shift() ?? 0;
          return { errorCode, producerId: String(errorCode === 0 ? nextProducerId++ : -1), producerEpoch: 0 };
        }
        const body = (await request.encode()).buffer as Buffer;
        sent.push(body);
        const answer = script.produce?.shift() ?? { errorCode: 0, baseOffset: 0 };
        if (answer instanceof Error) throw answer;
        const partition = body.readInt32BE(18 + body.readInt16BE(12));
        return {
          topics: [
            {
              topicName: 'orders',
              partitions: [
                { partition, errorCode: answer.errorCode, baseOffset: String(answer.baseOffset ?? -1) },
              ],
            },
          ],
        };
      },
    },
    disconnect: async () => {},
  };
  const batchOf = (body: Buffer): Buffer => body.subarray(26 + body.readInt16BE(12));
  return {
    broker: broker as unknown as Broker,
    sent,
    inits: () => inits,
    /** Producer id and base sequence of the batch in each Produce sent. */
    batches: () =>
      sent.map((b) => ({ producerId: batchOf(b).readBigInt64BE(43), sequence: batchOf(b).readInt32BE(53) })),
  };
}

function appender(fake: ReturnType<typeof fakeBroker>) {
  let forgotten = 0;
  const route: AppendRoute = {
    leader: async () => fake.broker,
    anyBroker: async () => fake.broker,
    forgetMetadata: () => {
      forgotten += 1;
    },
    sleep: async () => {},
  };
  return { appender: new IdempotentAppender(route, { timeoutMs: 1_000 }), forgotten: () => forgotten };
}

const records = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    key: null,
    value: Buffer.from(`v${i}`),
    timestamp: '1000',
    headers: {},
  }));

describe('IdempotentAppender', () => {
  it("numbers each partition's batches from sequence 0 on, under one producer id asked for once", async () => {
    const fake = fakeBroker({});
    const { appender: a } = appender(fake);

    await a.append('orders', 0, records(3));
    await a.append('orders', 0, records(2));
    await a.append('orders', 1, records(1));

    expect(fake.inits()).toBe(1);
    expect(fake.batches()).toEqual([
      { producerId: 42n, sequence: 0 },
      { producerId: 42n, sequence: 3 },
      { producerId: 42n, sequence: 0 },
    ]);
  });

  it('resends the very same batch after a retriable error and a lost connection, and returns where it landed', async () => {
    const fake = fakeBroker({
      produce: [
        { errorCode: NOT_LEADER_OR_FOLLOWER },
        new Error('Connection closed'),
        { errorCode: 0, baseOffset: 100 },
      ],
    });
    const { appender: a, forgotten } = appender(fake);

    const base = await a.append('orders', 0, records(4));

    expect(base).toBe(100);
    expect(fake.sent).toHaveLength(3);
    expect(fake.sent[1]).toEqual(fake.sent[0]);
    expect(fake.sent[2]).toEqual(fake.sent[0]);
    expect(forgotten()).toBe(2);
  });

  it('drops its producer id when the broker refuses the sequence, saying what it expected and got', async () => {
    const fake = fakeBroker({
      produce: [{ errorCode: 0, baseOffset: 0 }, { errorCode: OUT_OF_ORDER_SEQUENCE_NUMBER }],
    });
    const { appender: a } = appender(fake);
    await a.append('orders', 0, records(2));

    await expect(a.append('orders', 0, records(2))).rejects.toThrow(
      'appending 2 record(s) to orders:0: expected the batch acknowledged by all replicas, got OUT_OF_ORDER_SEQUENCE_NUMBER',
    );
    await a.append('orders', 0, records(1));

    expect(fake.sent).toHaveLength(3);
    expect(fake.batches()).toEqual([
      { producerId: 42n, sequence: 0 },
      { producerId: 42n, sequence: 2 },
      { producerId: 43n, sequence: 0 },
    ]);
  });

  it('asks again for a producer id while the coordinator is still loading', async () => {
    const fake = fakeBroker({ init: [COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_LOAD_IN_PROGRESS] });
    const { appender: a } = appender(fake);

    await a.append('orders', 0, records(1));

    expect(fake.inits()).toBe(3);
    expect(fake.batches()).toEqual([{ producerId: 42n, sequence: 0 }]);
  });
});
