import { afterAll, describe, expect, it } from 'vitest';
import { consumeUntil } from '#harness/consume.ts';
import { kafkaClient } from '#harness/kafka-clients.ts';
import { mirrorStatus } from '#harness/mirror-connectors.ts';
import { uniqueName } from '#harness/unique-name.ts';
import { waitFor } from '#harness/wait-for.ts';
import { harness } from './shared-harness.ts';

const RECORD_DEADLINE_MS = 60_000;

/** One metadata round trip with a fail-fast client: resolves with how long the failure took to show. */
async function timeToFailure(
  cluster: 'primary' | 'secondary',
): Promise<{ failed: boolean; ms: number; error?: string }> {
  const admin = kafkaClient(harness().info, cluster, { failFast: true }).admin();
  const started = Date.now();
  try {
    await admin.connect();
    await admin.describeCluster();
    return { failed: false, ms: Date.now() - started };
  } catch (e: unknown) {
    return { failed: true, ms: Date.now() - started, error: e instanceof Error ? e.message : String(e) };
  } finally {
    await admin.disconnect();
  }
}

async function produceOne(cluster: 'primary' | 'secondary', topic: string, value: string): Promise<void> {
  const kafka = kafkaClient(harness().info, cluster);
  const admin = kafka.admin();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await Promise.all([admin.connect(), producer.connect()]);
  try {
    if (!(await admin.listTopics()).includes(topic)) {
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    }
    await producer.send({ topic, acks: -1, messages: [{ value }] });
  } finally {
    await Promise.all([admin.disconnect(), producer.disconnect()]);
  }
}

/** Waits for MM2 to create `primary.<topic>` on the secondary, then reads `count` records from it. */
async function readMirrored(topic: string, count: number): Promise<string[]> {
  const mirrored = `primary.${topic}`;
  const secondary = kafkaClient(harness().info, 'secondary');
  const admin = secondary.admin();
  await admin.connect();
  try {
    await waitFor(async () => (await admin.listTopics()).includes(mirrored), {
      timeoutMs: RECORD_DEADLINE_MS,
      what: `${mirrored} on the secondary`,
    });
  } finally {
    await admin.disconnect();
  }
  const records = await consumeUntil(secondary, mirrored, (r) => r.length >= count, {
    timeoutMs: RECORD_DEADLINE_MS,
    what: `${count} record(s) mirrored`,
  });
  return records.map((r) => r.value?.toString() ?? '');
}

describe('harness fault controls', () => {
  const h = harness();

  afterAll(async () => {
    // Whatever a failed test left behind, the next file gets a working primary and mirror.
    await h.resume('primary');
    const { failed } = await timeToFailure('primary');
    if (failed) await h.restart('primary');
    await h.startMirror();
  });

  it('makes the primary unreachable when killed, and brings its data back on restart', async () => {
    // Arrange
    const topic = uniqueName('ledger');
    await produceOne('primary', topic, 'before the crash');

    // Act
    await h.kill('primary');
    const whileDown = await timeToFailure('primary');
    await h.restart('primary');

    // Assert
    expect(whileDown.failed).toBe(true);
    expect(whileDown.ms).toBeLessThan(5_000);
    const records = await consumeUntil(kafkaClient(h.info, 'primary'), topic, (r) => r.length >= 1, {
      timeoutMs: 30_000,
      what: 'the record produced before the crash',
    });
    expect(records.map((r) => r.value?.toString())).toEqual(['before the crash']);
  });

  it('makes the primary time out while hung, and answer again once resumed', async () => {
    // Act
    await h.hang('primary');
    const whileHung = await timeToFailure('primary');
    await h.resume('primary');
    const afterResume = await waitFor(
      async () => {
        const attempt = await timeToFailure('primary');
        return !attempt.failed && attempt;
      },
      { timeoutMs: 30_000, what: 'the resumed primary to answer metadata' },
    );

    // Assert: a hung broker accepts TCP but never answers, so only the request timeout (3 s) ends the call.
    expect(whileHung.failed).toBe(true);
    expect(whileHung.ms).toBeGreaterThanOrEqual(1_000);
    expect(whileHung.ms).toBeLessThan(10_000);
    expect(afterResume.failed).toBe(false);
  });

  it('replicates what was produced while MM2 was stopped once it starts again', async () => {
    // Arrange
    const topic = uniqueName('orders');
    await produceOne('primary', topic, 'before the stop');
    await readMirrored(topic, 1);

    // Act
    await h.stopMirror();
    const workerGone = await fetch(`${h.info.mirror.connectUrl}/`).then(
      () => false,
      () => true,
    );
    await produceOne('primary', topic, 'while stopped');
    await h.startMirror();

    // Assert
    expect(workerGone).toBe(true);
    expect(await readMirrored(topic, 2)).toEqual(['before the stop', 'while stopped']);
  });

  it('pauses the connectors and delivers what was produced meanwhile on resume', async () => {
    // Arrange
    const topic = uniqueName('orders');
    await produceOne('primary', topic, 'first');
    await readMirrored(topic, 1);

    // Act
    await h.pauseMirror();
    const whilePaused = await mirrorStatus(requireUrl(h.info.mirror.connectUrl), h.info.mirror.direction);
    await produceOne('primary', topic, 'second');
    await h.resumeMirror();

    // Assert
    expect(whilePaused.map((s) => s.connector.state)).toEqual(['PAUSED', 'PAUSED', 'PAUSED']);
    expect(await readMirrored(topic, 2)).toEqual(['first', 'second']);
  });
});

function requireUrl(url: string | undefined): string {
  if (url === undefined) throw new Error('expected the shared harness in Connect mode');
  return url;
}
