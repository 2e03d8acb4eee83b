import type { Kafka, KafkaMessage } from 'kafkajs';
import { uniqueName } from './unique-name.ts';
import { WaitTimeoutError } from './wait-for.ts';

export interface ConsumedRecord {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: KafkaMessage['headers'];
}

export interface ConsumeOptions {
  timeoutMs: number;
  /** For the timeout message: `the checkpoint of group g`. */
  what: string;
  /** Defaults to a fresh unique group, so that every read starts at the beginning. */
  groupId?: string;
  /** Commit, as the group, the offsets after the records read (what an application's consumer does). */
  commit?: boolean;
}

/**
 * Reads `topic` from the beginning with a throwaway consumer group until `done(recordsSoFar)` says so, and
 * returns the records read. The topic must exist (the consumer does not auto-create it). Always disconnects.
 *
 * @example
 * const [record] = await consumeUntil(kafka, 'primary.orders-x', (r) => r.length >= 1,
 *   { timeoutMs: 30_000, what: 'the mirrored order' });
 */
export async function consumeUntil(
  kafka: Kafka,
  topic: string,
  done: (records: readonly ConsumedRecord[]) => boolean,
  options: ConsumeOptions,
): Promise<ConsumedRecord[]> {
  const consumer = kafka.consumer({
    groupId: options.groupId ?? uniqueName('harness-reader'),
    allowAutoTopicCreation: false,
    // Short enough that a lone test consumer joins its group quickly.
    sessionTimeout: 10_000,
    heartbeatInterval: 1_000,
    maxWaitTimeInMs: 500,
  });
  const records: ConsumedRecord[] = [];
  let isDone = false;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), options.timeoutMs);
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic: t, partition, message }) => {
        // Once done, later fetches are ignored: what is returned (and committed) is what `done` saw.
        if (isDone) return;
        records.push({
          topic: t,
          partition,
          offset: message.offset,
          key: message.key,
          value: message.value,
          headers: message.headers,
        });
        if (done(records)) {
          isDone = true;
          finish();
        }
      },
    });
    if ((await Promise.race([finished, timedOut])) === 'timeout') {
      throw new WaitTimeoutError(
        `timed out after ${options.timeoutMs} ms reading ${topic} for ${options.what}; read ${records.length} record(s)`,
      );
    }
    if (options.commit) {
      const next = new Map<number, string>();
      for (const r of records) next.set(r.partition, String(BigInt(r.offset) + 1n));
      await consumer.commitOffsets([...next].map(([partition, offset]) => ({ topic, partition, offset })));
    }
    return records;
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
  }
}
