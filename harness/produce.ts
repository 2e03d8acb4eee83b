import type { Kafka } from 'kafkajs';

/**
 * Writes `count` records `<prefix>-0` … `<prefix>-<count-1>` to an existing `topic` with acks=all, each keyed by its
 * own value and carrying an `origin: <prefix>` header, and returns the values. `padBytes` appends that many bytes to
 * each value (after a `:`), for tests that need large records; the returned values stay unpadded.
 *
 * @example
 * const sent = await produceNumbered(kafkaClient(info, 'primary'), 'orders-x', 'a', 100);
 */
export async function produceNumbered(
  kafka: Kafka,
  topic: string,
  prefix: string,
  count: number,
  options: { padBytes?: number } = {},
): Promise<string[]> {
  const values = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  const pad = (options.padBytes ?? 0) > 0 ? `:${'x'.repeat(options.padBytes ?? 0)}` : '';
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    await producer.send({
      topic,
      acks: -1,
      messages: values.map((v) => ({ key: v, value: `${v}${pad}`, headers: { origin: prefix } })),
    });
    return values;
  } finally {
    await producer.disconnect();
  }
}
