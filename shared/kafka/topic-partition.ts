import { ValidationError } from '../errors.ts';

/**
 * A topic-partition, and the one way the product writes it as a key (map keys, JSON record keys, log lines):
 * `orders:3`. Kafka topic names are `[a-zA-Z0-9._-]`, so the colon never appears in one and the key parses back
 * unambiguously. The failback journal persists these keys: the format must not change, or a run in flight
 * could no longer be resumed.
 */
export interface TopicPartition {
  topic: string;
  partition: number;
}

export function tpKey(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}

/** The inverse of {@link tpKey}; a string that is not one fails naming it. */
export function parseTpKey(key: string): TopicPartition {
  const at = key.lastIndexOf(':');
  const partition = Number(key.slice(at + 1));
  if (at <= 0 || at === key.length - 1 || !Number.isInteger(partition) || partition < 0) {
    throw new ValidationError('topic-partition key', [
      { path: '', message: `expected a topic and a partition like 'orders:3', found '${key}'` },
    ]);
  }
  return { topic: key.slice(0, at), partition };
}
