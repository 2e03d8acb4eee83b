import { createServer, type Server, type Socket } from 'node:net';
import { fixRequestQueueTimer } from '#shared/kafka/request-queue-timer-fix.ts';

/**
 * Kafka brokers on loopback that speak just enough of the protocol for the cluster client's produce path:
 * ApiVersions, Metadata v0 and Produce v3, with fixed answers. They let a unit test run the real
 * {@link import('#shared/kafka/cluster-client.ts').ClusterClient} against a cluster where one broker is dead (its
 * port closed after the others learnt of it), which no in-memory fake of the client can show. Like a real broker,
 * each connection is served one request at a time: an answer held back holds back the requests behind it.
 */

const API = { produce: 0, metadata: 3, apiVersions: 18 } as const;
const REQUEST_TIMED_OUT = 7;

export interface FakeBrokers {
  /** `host:port` of every broker, for the client's bootstrap list. */
  bootstrap: string[];
  /** Node ids of the brokers that answered a Produce, in order. */
  produced: number[];
  /** The acks of every Produce answered, in order. */
  acks: number[];
  /**
   * From now on, acks=all waits for a replica that never answers: every acks=all Produce is answered after its own
   * timeout with REQUEST_TIMED_OUT, as a leader does while a dead broker it replicates to is still in the ISR.
   * acks=1 is answered at once.
   */
  stallReplication(): void;
  /** Close a broker's port and its open connections: it refuses from now on, as a killed process does. */
  kill(nodeId: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * `brokers` node ids (1, 2, ...); `leaders` maps each partition of `topic` to its leader. Every Produce is answered
 * with success for each partition it names.
 */
export async function startFakeBrokers(options: {
  brokers: number;
  topic: string;
  leaders: readonly number[];
}): Promise<FakeBrokers> {
  // As every client the product builds gets it (client-factory.ts): kafkajs' idle 1 ms timer loop, fixed.
  fixRequestQueueTimer();
  const nodeIds = Array.from({ length: options.brokers }, (_, i) => i + 1);
  const servers = new Map<number, { server: Server; sockets: Set<Socket>; port: number }>();
  const produced: number[] = [];
  const acksSeen: number[] = [];
  let stalled = false;
  for (const nodeId of nodeIds) {
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      let pending = Buffer.alloc(0);
      // One request at a time per connection, in order, as Kafka's network layer serves them.
      let serving = Promise.resolve();
      socket.on('data', (chunk: Buffer) => {
        pending = Buffer.concat([pending, chunk]);
        while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
          const frame = pending.subarray(4, 4 + pending.readInt32BE(0));
          pending = pending.subarray(4 + frame.length);
          serving = serving.then(async () => {
            const answered = answer(frame, nodeId);
            if (answered === undefined) return;
            const body = await answered;
            if (socket.destroyed) return;
            const correlationId = frame.readInt32BE(4);
            const header = Buffer.alloc(8);
            header.writeInt32BE(4 + body.length, 0);
            header.writeInt32BE(correlationId, 4);
            socket.write(Buffer.concat([header, body]));
          });
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('expected a TCP address');
    servers.set(nodeId, { server, sockets, port: address.port });
  }

  const brokerList = () =>
    nodeIds.map((id) => concat(int32(id), string('127.0.0.1'), int32(servers.get(id)?.port ?? 0)));

  function answer(frame: Buffer, nodeId: number): Buffer | Promise<Buffer> | undefined {
    const apiKey = frame.readInt16BE(0);
    if (apiKey === API.apiVersions) {
      const versions = [
        [API.produce, 3, 3],
        [API.metadata, 0, 0],
        [API.apiVersions, 0, 2],
      ];
      return concat(
        int16(0),
        array(versions.map(([key, min, max]) => concat(int16(key ?? 0), int16(min ?? 0), int16(max ?? 0)))),
        int32(0),
      );
    }
    if (apiKey === API.metadata) {
      const partitions = options.leaders.map((leader, partition) =>
        concat(
          int16(0),
          int32(partition),
          int32(leader),
          array(nodeIds.map(int32)),
          array(nodeIds.map(int32)),
        ),
      );
      return concat(array(brokerList()), array([concat(int16(0), string(options.topic), array(partitions))]));
    }
    if (apiKey === API.produce) {
      // Request header v1 (api key, version, correlation id, client id), then transactional id, acks, timeout.
      let at = 8;
      at += 2 + Math.max(0, frame.readInt16BE(at));
      at += 2 + Math.max(0, frame.readInt16BE(at));
      const acks = frame.readInt16BE(at);
      const timeoutMs = frame.readInt32BE(at + 2);
      const mine = options.leaders.flatMap((leader, partition) => (leader === nodeId ? [partition] : []));
      const reply = (error: number) => {
        produced.push(nodeId);
        acksSeen.push(acks);
        const results = mine.map((partition) => concat(int32(partition), int16(error), int64(0), int64(-1)));
        return concat(array([concat(string(options.topic), array(results))]), int32(0));
      };
      if (!stalled || acks !== -1) return reply(0);
      return new Promise<Buffer>((resolve) => setTimeout(() => resolve(reply(REQUEST_TIMED_OUT)), timeoutMs));
    }
    return undefined;
  }

  return {
    bootstrap: nodeIds.map((id) => `127.0.0.1:${servers.get(id)?.port}`),
    produced,
    acks: acksSeen,
    stallReplication: () => {
      stalled = true;
    },
    kill: async (nodeId) => {
      const broker = servers.get(nodeId);
      if (broker === undefined) throw new Error(`expected broker ${nodeId}`);
      for (const s of broker.sockets) s.destroy();
      await new Promise<void>((resolve) => broker.server.close(() => resolve()));
    },
    close: async () => {
      await Promise.all(
        [...servers.values()].map(
          (b) =>
            new Promise<void>((resolve) => {
              for (const s of b.sockets) s.destroy();
              if (!b.server.listening) resolve();
              else b.server.close(() => resolve());
            }),
        ),
      );
    },
  };
}

const int16 = (v: number) => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(v);
  return b;
};
const int32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v);
  return b;
};
const int64 = (v: number) => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(v));
  return b;
};
const string = (s: string) => concat(int16(Buffer.byteLength(s)), Buffer.from(s));
const array = (items: readonly Buffer[]) => concat(int32(items.length), ...items);
const concat = (...parts: Buffer[]) => Buffer.concat(parts);
