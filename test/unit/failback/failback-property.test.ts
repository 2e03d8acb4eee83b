import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MirrorControlError, RefusedError } from '#shared/errors.ts';
import type { FailbackResult } from '#shared/failback/failback.ts';
import { failbackJournal } from '#shared/failback/journal.ts';
import { KafkaConnectController } from '#shared/failback/kafka-connect-controller.ts';
import { tpKey } from '#shared/kafka/topic-partition.ts';
import { type ConnectOverMemory, connectOverMemory } from './connect-over-memory.ts';
import type { MemoryCluster } from './fakes.ts';
import { configOf, QUARANTINE, type World, world } from './world.ts';

/**
 * Salvage, reverse and purge under the worst interleavings the fakes can produce, checked against the two
 * promises failback makes: every record the primary acknowledged is, after failback, on the primary or in
 * quarantine (but for what the run itself reported lost to the primary's retention); purge never deletes a
 * record that is neither on the secondary nor in quarantine at that moment; and every record still on the
 * secondary at the end reaches the primary through the reverse mirror. The mirror is driven by the real Kafka
 * Connect controller over a Connect fake whose connectors decide what the in-memory mirror copies, and a
 * schedule may start with a reverse flow left behind by an earlier failback (its connectors running, its offsets
 * anywhere): the run must refuse it rather than adopt it and its offsets, and the operator then deletes it.
 */

const partitionArb = fc.record({
  /** Records replicated before the outage, and the un-replicated tail. */
  replicated: fc.nat({ max: 6 }),
  tail: fc.nat({ max: 6 }),
  /** After which records a transaction marker follows (by index in the partition's writes). */
  markersAfter: fc.array(fc.nat({ max: 12 }), { maxLength: 3 }),
  /** An aborted transaction in the tail. */
  aborted: fc.nat({ max: 2 }),
  /** Offsets compacted away on the primary (by index among its records). */
  compacted: fc.array(fc.nat({ max: 12 }), { maxLength: 3 }),
  /** Records written on the secondary during the outage. */
  outageWrites: fc.nat({ max: 3 }),
  /** Fraction of the secondary's log its retention deleted during the outage, and later during failback. */
  secondaryRetentionBefore: fc.nat({ max: 100 }),
  secondaryRetentionDuring: fc.nat({ max: 100 }),
  /** Fraction of the tail the primary's retention deletes just before salvage first reads it (nothing replicated only). */
  primaryRetention: fc.option(fc.nat({ max: 100 }), { nil: undefined }),
});

const scenarioArb = fc.record({
  partitions: fc.array(partitionArb, { minLength: 1, maxLength: 3 }),
  syncEvery: fc.integer({ min: 1, max: 4 }),
  emptyReads: fc.nat({ max: 8 }),
  readBatch: fc.integer({ min: 1, max: 6 }),
  readCostMs: fc.integer({ min: 0, max: 3_000 }),
  budgetsMs: fc.array(fc.integer({ min: 2_000, max: 30_000 }), { minLength: 1, maxLength: 6 }),
  /** Invocations (by index) that die right after a quarantine write, before its journal entry. */
  crashes: fc.array(fc.nat({ max: 12 }), { maxLength: 3 }),
  /** The invocation (by index) before which the secondary's retention moves again. */
  retentionAt: fc.nat({ max: 8 }),
  /** The reverse mirror copies nothing until purge is done. */
  reverseStuck: fc.boolean(),
  /**
   * A reverse flow an earlier failback left running: its run tag (none, or another run's) and the last offset its
   * connector copied per partition (taken modulo the secondary's length).
   */
  staleReverse: fc.option(
    fc.record({
      tag: fc.option(fc.constant('0000000000-earlier'), { nil: undefined }),
      offsets: fc.array(fc.nat({ max: 12 }), { minLength: 3, maxLength: 3 }),
    }),
    { nil: undefined },
  ),
});
type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

/** Values of the live, committed records of one partition, with their offsets. */
function liveOf(
  cluster: MemoryCluster,
  topic: string,
  partition: number,
): Array<{ offset: number; value: string }> {
  const p = cluster.topics.get(topic)?.[partition];
  if (p === undefined) return [];
  return p.records
    .filter((r) => r.offset >= p.low && !p.aborted.has(r.offset))
    .map((r) => ({ offset: r.offset, value: String(r.value) }));
}

async function build(s: Scenario): Promise<World> {
  return world(configOf(), ({ primary, secondary, mirror }) => {
    mirror.syncEvery = s.syncEvery;
    primary.createTopic('orders', s.partitions.length);
    s.partitions.forEach((p, n) => {
      let index = 0;
      const write = (value: string) => {
        primary.write('orders', n, [value]);
        if (p.markersAfter.includes(index)) primary.marker('orders', n);
        index += 1;
      };
      for (let i = 0; i < p.replicated; i += 1) write(`p${n}-r${i}`);
      const records = primary.topics.get('orders')?.[n]?.records ?? [];
      primary.compact(
        'orders',
        n,
        p.compacted.filter((i) => i < records.length).map((i) => records[i]?.offset ?? -1),
      );
    });
    mirror.poll();
    mirror.forward = 'stopped';
    s.partitions.forEach((p, n) => {
      for (let i = 0; i < p.tail; i += 1) {
        primary.write('orders', n, [`p${n}-t${i}`]);
        if (p.markersAfter.includes(p.replicated + i)) primary.marker('orders', n);
      }
      if (p.aborted > 0)
        primary.writeAborted(
          'orders',
          n,
          Array.from({ length: p.aborted }, (_, i) => `x${n}-${i}`),
        );
      const tailRecords = (primary.topics.get('orders')?.[n]?.records ?? []).filter((r) =>
        String(r.value).startsWith(`p${n}-t`),
      );
      primary.compact(
        'orders',
        n,
        p.compacted
          .filter((i) => i >= 6 && i - 6 < tailRecords.length)
          .map((i) => tailRecords[i - 6]?.offset ?? -1),
      );
      secondary.createTopic('orders', s.partitions.length);
      for (let i = 0; i < p.outageWrites; i += 1) secondary.write('orders', n, [`s${n}-${i}`]);
      const sp = secondary.topics.get('orders')?.[n];
      if (sp) sp.low = Math.floor((sp.high * p.secondaryRetentionBefore) / 100);
    });
  });
}

interface Outcome {
  results: FailbackResult[];
  /** Records purge deleted that were neither on the secondary nor in quarantine at that moment. */
  purgedUnsafely: string[];
}

/** The real Kafka Connect controller for every invocation, over a Connect fake that drives `w.mirror`. */
function throughConnect(w: World): ConnectOverMemory {
  const connect = connectOverMemory(w.mirror, {
    forwardHost: 'fwd:8083',
    reverseHost: 'rev:8083',
    prefix: 'mm2',
    primary: 'primary',
    secondary: 'secondary',
  });
  w.deps.mirror = () =>
    new KafkaConnectController({
      forwardUrl: 'http://fwd:8083',
      reverseUrl: 'http://rev:8083',
      connectorPrefix: 'mm2',
      primaryAlias: 'primary',
      secondaryAlias: 'secondary',
      fetch: connect.fetch,
      settleTimeoutMs: 1_000,
      pollIntervalMs: 1,
    });
  return connect;
}

async function drive(w: World, s: Scenario, connect: ConnectOverMemory): Promise<Outcome> {
  const purgedUnsafely: string[] = [];
  const deleteRecords = w.primary.deleteRecordsBefore.bind(w.primary);
  w.primary.deleteRecordsBefore = async (topic, partitions) => {
    if (topic === 'orders') {
      const elsewhere = new Set([...w.secondary.values('orders'), ...w.secondary.values(QUARANTINE)]);
      for (const { partition, offset } of partitions) {
        for (const r of liveOf(w.primary, topic, partition)) {
          if (r.offset < offset && !elsewhere.has(r.value)) purgedUnsafely.push(r.value);
        }
      }
    }
    return deleteRecords(topic, partitions);
  };
  w.primary.emptyReads = s.emptyReads;
  w.primary.readBatch = s.readBatch;
  const firstRead = new Set<number>();
  w.primary.beforeRead = (topic, partition) => {
    w.now.t += s.readCostMs;
    const retention = s.partitions[partition]?.primaryRetention;
    if (topic !== 'orders' || firstRead.has(partition)) return;
    firstRead.add(partition);
    const p = w.primary.topics.get(topic)?.[partition];
    if (retention !== undefined && s.partitions[partition]?.replicated === 0 && p !== undefined) {
      p.low = Math.max(p.low, Math.floor((p.high * retention) / 100));
    }
  };
  if (s.reverseStuck) w.mirror.frozen.reverse = true;

  const results: FailbackResult[] = [];
  // The partitions whose reported loss the operator accepted so far.
  const accepted = new Set<string>();
  let refused = false;
  for (let i = 0; i < 60; i += 1) {
    if (i === s.retentionAt) {
      s.partitions.forEach((p, n) => {
        const sp = w.secondary.topics.get('orders')?.[n];
        if (sp) sp.low = Math.max(sp.low, Math.floor((sp.high * p.secondaryRetentionDuring) / 100));
      });
    }
    w.secondary.failAfterNextAppend = s.crashes.includes(i);
    const last = results.at(-1);
    const acceptLoss = accepted.size > 0 ? { acceptLoss: [...accepted] } : {};
    const payload = refused
      ? { phase: 'purge', confirm: true, ...acceptLoss }
      : last?.waiting?.waitingFor === 'confirm'
        ? { phase: last.currentPhase, confirm: true, ...(last.currentPhase === 'purge' ? acceptLoss : {}) }
        : {};
    refused = false;
    try {
      const r = await w.invoke(payload, `req-${i}`, s.budgetsMs[i % s.budgetsMs.length]);
      results.push(r);
      if (r.completedPhases.includes('purge')) return { results, purgedUnsafely };
    } catch (e: unknown) {
      if (e instanceof MirrorControlError && /was not created by failback run/.test(e.message)) {
        // The operator does what the refusal says: checks what created the flow, deletes it, invokes again.
        connect.deleteReverseConnectors();
        continue;
      }
      if (e instanceof RefusedError) {
        // The operator reads the refusal and accepts the reported loss for the partitions it names: a loss that
        // already happened (records deleted by retention before they were copied), never anything else.
        const other = e.reasons.filter(
          (r) => r.code !== 'salvage-lost-records' && r.code !== 'reverse-mirror-gap',
        );
        if (other.length > 0) throw e;
        for (const r of e.reasons) accepted.add(r.message.split(' ')[0]?.replace(/:$/, '') ?? '');
        refused = true;
        continue;
      }
      // A crashed invocation: its lease runs out before the next one.
      w.now.t += 121_000;
    }
  }
  throw new Error(`purge never ran: ${JSON.stringify(results.map((r) => [r.status, r.nextStep]))}`);
}

describe('failback salvage, reverse and purge under random interleavings', () => {
  it('keeps every record the primary acknowledged on the primary or in quarantine, and purges nothing that exists nowhere else', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (s) => {
        // Arrange
        const w = await build(s);
        const acknowledged = s.partitions.flatMap((_, n) =>
          liveOf(w.primary, 'orders', n).map((r) => ({ ...r, n })),
        );

        const connect = throughConnect(w);
        if (s.staleReverse) {
          const stale = s.staleReverse;
          connect.leaveReverseFlow(
            stale.tag,
            s.partitions.map((_, n) => ({
              topic: 'orders',
              partition: n,
              offset: (stale.offsets[n] ?? 0) % Math.max(1, w.secondary.topics.get('orders')?.[n]?.high ?? 1),
            })),
          );
        }

        // Act
        const { purgedUnsafely } = await drive(w, s, connect);
        w.mirror.frozen.reverse = false;
        w.mirror.poll();

        // Assert
        const journaled = await failbackJournal(w.journal).load();
        const salvage = journaled.kind === 'in-progress' ? journaled.state.salvage : undefined;
        const lost = (n: number, offset: number) =>
          (salvage?.partitions[tpKey('orders', n)]?.lost ?? []).some(
            (r) => offset >= r.from && offset < r.to,
          );
        const kept = new Set([...w.primary.values('orders'), ...w.secondary.values(QUARANTINE)]);
        const missing = acknowledged
          .filter((r) => !kept.has(r.value) && !lost(r.n, r.offset))
          .map((r) => r.value);
        expect(missing).toEqual([]);
        expect(purgedUnsafely).toEqual([]);
        const onPrimary = new Set(w.primary.values('orders'));
        const notReversed = s.partitions
          .flatMap((_, n) => liveOf(w.secondary, 'orders', n))
          .filter((r) => !onPrimary.has(r.value))
          .map((r) => r.value);
        expect(notReversed).toEqual([]);
      }),
      { numRuns: 200 },
    );
  }, 60_000);
});
