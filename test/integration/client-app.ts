import { readFileSync } from 'node:fs';
import { logLevel } from 'kafkajs';
import type { HarnessInfo } from '#harness/info.ts';
import { uniqueName } from '#harness/unique-name.ts';
import { waitFor } from '#harness/wait-for.ts';
import { defaultClientLogger } from '#shared/client/client-logger.ts';
import {
  ActiveConfigWatcher,
  type ConsumerSwitchEvent,
  FollowingConsumer,
  FollowingProducer,
  type FollowingSendResult,
  type ProducerSwitchEvent,
  type Stores,
} from '#shared/client/index.ts';
import type { ClusterRole } from '#shared/config/schema.ts';
import { Redacted } from '#shared/store/redacted.ts';

// An application built with the client library, shared by the client integration tests (client-follow,
// client-holdback): what it handed over, what was acknowledged where, and what its consumer saw.

const ALL_SEEN_DEADLINE_MS = 90_000;

/** Where the application runs: the deployment it follows and the logical topic it writes and reads. */
export interface ApplicationTarget {
  name: string;
  topic: string;
  stores: Stores;
  /** The consumer group; default a fresh one. */
  groupId?: string;
  /** Active-active: `aggregate` also reads the copies mirrored in from the other cluster (default `local`). */
  subscription?: 'local' | 'aggregate';
}

export type Application = Awaited<ReturnType<typeof startApplication>>;

/** The harness's mTLS credentials: one CA and one client certificate for both clusters, Aiven style. */
export function harnessMtlsCredentials(
  info: HarnessInfo,
): Redacted<{ ca: string; cert: string; key: string }> {
  const { tls } = info;
  if (!tls) throw new Error('the client integration tests need the harness mTLS listener');
  return new Redacted({
    ca: readFileSync(tls.caPath, 'utf8'),
    cert: readFileSync(tls.certPath, 'utf8'),
    key: readFileSync(tls.keyPath, 'utf8'),
  });
}

/**
 * An application as a team would write it with the library: one watcher, a following producer handed a record
 * every 20 ms whatever happens (without waiting for the previous one), and a following consumer counting
 * what it sees by record id.
 */
export async function startApplication(d: ApplicationTarget) {
  const watcherErrors: Error[] = [];
  const watcher = new ActiveConfigWatcher({
    deployment: d.name,
    stores: d.stores,
    kafka: { clientId: 'client-follow-test', logLevel: logLevel.NOTHING },
    intervalMs: 1_000,
    onError: (e) => watcherErrors.push(e),
  });
  await watcher.start();
  const producerSwitches: ProducerSwitchEvent[] = [];
  const consumerSwitches: ConsumerSwitchEvent[] = [];
  const seen = new Map<string, number>();
  const seenOn = new Set<ClusterRole>();
  /** Per record id, where the consumer saw it: `cluster@epoch`. */
  const seenWhere = new Map<string, Set<string>>();
  /** Reconnects on the same cluster with rotated credentials: `producer|consumer from->to`. */
  const reconnects: string[] = [];
  const noteReconnect = (who: string, message: string, attributes?: Record<string, unknown>) => {
    if (message.endsWith('reconnected with new credentials')) {
      reconnects.push(`${who} ${String(attributes?.from)}->${String(attributes?.to)}`);
    }
  };
  const producer = new FollowingProducer({
    source: watcher,
    sendTimeoutMs: 90_000,
    logger: {
      ...defaultClientLogger,
      info: (message, ...attributes) => noteReconnect('producer', message, attributes[0]),
    },
    onSwitch: (e) => producerSwitches.push(e),
  });
  const rewinds: string[] = [];
  const consumer = new FollowingConsumer({
    source: watcher,
    logger: {
      info: (message, ...attributes) => {
        noteReconnect('consumer', message, attributes[0]);
        if (message.startsWith('started partitions at the switch'))
          rewinds.push(JSON.stringify(attributes[0]?.moved));
      },
      warn: () => {},
      error: (message) => rewinds.push(`error: ${message}`),
    },
    groupId: d.groupId ?? uniqueName('billing'),
    ...(d.subscription ? { subscription: d.subscription } : {}),
    topics: [d.topic],
    eachMessage: async ({ message, cluster, epoch }) => {
      const id = String(message.value);
      seen.set(id, (seen.get(id) ?? 0) + 1);
      seenOn.add(cluster);
      const where = seenWhere.get(id) ?? new Set<string>();
      where.add(`${cluster}@${epoch}`);
      seenWhere.set(id, where);
    },
    onSwitch: (e) => consumerSwitches.push(e),
  });
  await producer.connect();
  await consumer.start();

  const acked = new Map<string, FollowingSendResult>();
  const rejected: Array<{ id: string; error: string }> = [];
  const pending = new Set<Promise<void>>();
  let next = 0;
  const ticker = setInterval(() => {
    const id = `r${next++}`;
    const p: Promise<void> = producer
      .send({ topic: d.topic, messages: [{ key: id, value: id }] })
      .then(
        (r) => void acked.set(id, r),
        (error: unknown) => void rejected.push({ id, error: String(error) }),
      )
      .finally(() => pending.delete(p));
    pending.add(p);
  }, 20);
  const missing = () =>
    [...acked]
      .filter(([id]) => !seen.has(id))
      .map(
        ([id, r]) =>
          `${id} acked on ${r.cluster} ${r.topic}/` +
          `${r.records[0]?.partition}@${r.records[0]?.baseOffset} (epoch ${r.epoch}, attempts ${r.attempts})`,
      );
  const ackedOn = (cluster: ClusterRole) => [...acked.values()].filter((r) => r.cluster === cluster);
  const ackedIn = (epoch: number) => [...acked.values()].filter((r) => r.epoch === epoch).length;

  return {
    name: d.name,
    topic: d.topic,
    stores: d.stores,
    producer,
    consumer,
    acked,
    rejected,
    seen,
    seenOn,
    seenWhere,
    watcher,
    producerSwitches,
    consumerSwitches,
    reconnects,
    /** The consumer's rewinds after a switch (`topic:partition@from->to`) and the errors it logged. */
    rewinds,
    watcherErrors,
    ackedIn,
    ackedOn,
    missing,
    handed: () => next,
    inFlight: () => pending.size,
    async stopHandingOver() {
      clearInterval(ticker);
      await Promise.all([...pending]);
    },
    async waitUntilAllSeen() {
      await waitFor(() => missing().length === 0, {
        timeoutMs: ALL_SEEN_DEADLINE_MS,
        what: 'the consumer to see every acknowledged record',
      }).catch(() => undefined); // the test's assertion lists what is missing
    },
    report(what: string) {
      const duplicates = [...seen.values()].reduce((n, count) => n + count - 1, 0);
      const epochs = [...new Set([...acked.values()].map((r) => r.epoch))].sort((a, b) => a - b);
      console.info(
        `[client-app] ${what}: handed ${next}, acknowledged ${acked.size} ` +
          `(${epochs.map((e) => `epoch ${e}: ${ackedIn(e)}`).join(', ')}), rejected ${rejected.length}, seen ${seen.size} distinct, ` +
          `duplicates ${duplicates}, sends retried ${[...acked.values()].filter((r) => r.attempts > 1).length}, ` +
          `abandoned in flight ${producerSwitches.map((s) => s.abandonedInFlight).join('/')}, ` +
          `consumer drains ${consumerSwitches.map((s) => JSON.stringify(s.drain)).join(', ')}, ` +
          `rewinds ${rewinds.join(' ') || 'none'}`,
      );
    },
    async close() {
      clearInterval(ticker);
      await Promise.allSettled([...pending]);
      await Promise.allSettled([producer.disconnect(), consumer.stop(), watcher.stop()]);
    },
  };
}
