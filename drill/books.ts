import type { Kafka } from 'kafkajs';
import { consumeUntil } from '#harness/consume.ts';

/** Every numbered record of `topic` (from its log start), read with a throwaway group. */
export async function readNumbers(kafka: Kafka, topic: string): Promise<number[]> {
  const admin = kafka.admin();
  await admin.connect();
  let total = 0;
  try {
    const topics = await admin.listTopics();
    if (!topics.includes(topic)) return [];
    const offsets = await admin.fetchTopicOffsets(topic);
    total = offsets.reduce((sum, o) => sum + (Number(o.high) - Number(o.low)), 0);
  } finally {
    await admin.disconnect();
  }
  if (total === 0) return [];
  const records = await consumeUntil(kafka, topic, (r) => r.length >= total, {
    timeoutMs: 60_000,
    what: `all ${total} records of ${topic}`,
  });
  return records.map((r) => Number(r.value?.toString('utf8'))).filter((n) => Number.isInteger(n));
}

/** The acknowledged records that are neither on the primary nor in quarantine: lost. */
export function lostRecords(
  acknowledged: Iterable<number>,
  onPrimary: ReadonlySet<number>,
  quarantined: ReadonlySet<number>,
): number[] {
  return [...acknowledged].filter((n) => !onPrimary.has(n) && !quarantined.has(n));
}
