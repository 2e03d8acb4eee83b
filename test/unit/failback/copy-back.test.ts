import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { copyBackRanges, translateCopiedOffset } from '#shared/failback/copy-back.ts';
import type { FailbackResult } from '#shared/failback/failback.ts';
import { PROVENANCE } from '#shared/failback/partition-copy.ts';
import { tpKey } from '#shared/kafka/topic-partition.ts';
import type { MemoryCluster } from './fakes.ts';
import { configOf, untilDone, type World, world } from './world.ts';

/**
 * Failback of active-passive under the default policy: what clients wrote into `primary.orders` on the secondary
 * goes back into `orders` on the primary exactly once, and the forward mirror runs again from the cut.
 */

/** When the world's failback starts: MM2 syncs stamped from here on are its resumption after the primary came back. */
const BACK_AT = Date.parse('2026-11-21T10:00:00Z');
const SOURCE = 'primary.orders';

/** Values of one partition's records, oldest first. */
function valuesOf(cluster: MemoryCluster, topic: string, partition: number): string[] {
  const p = cluster.topics.get(topic)?.[partition];
  if (p === undefined) return [];
  return p.records.filter((r) => r.offset >= p.low && !p.aborted.has(r.offset)).map((r) => String(r.value));
}

/**
 * a: replicated before the primary died; b: its tail that never replicated; c: clients on the secondary after the
 * failover; MM2 resumes when the primary is back (b lands after c0..c2), and clients keep writing (c3).
 */
async function prefixedWorld(): Promise<World> {
  return world(configOf({ replicationPolicy: 'default' }), ({ primary, secondary, mirror }) => {
    mirror.policy = 'default';
    primary.createTopic('orders', 2);
    primary.write('orders', 0, ['a0', 'a1', 'a2']);
    primary.write('orders', 1, ['a3', 'a4']);
    mirror.poll();
    mirror.frozen.forward = true;
    primary.write('orders', 0, ['b0', 'b1']);
    primary.write('orders', 1, ['b2']);
    secondary.write(SOURCE, 0, ['c0']);
    secondary.write(SOURCE, 1, ['c1', 'c2']);
    mirror.now = () => BACK_AT;
    mirror.frozen.forward = false;
    mirror.poll();
    secondary.write(SOURCE, 0, ['c3']);
  });
}

describe('failback with prefixed topics (copy-back)', () => {
  it('appends what clients wrote on the secondary to the primary exactly once, deleting nothing, and skips what MM2 copied there', async () => {
    // Arrange
    const w = await prefixedWorld();

    // Act
    const results = await untilDone(w);

    // Assert
    expect(results.at(-1)?.phases).toEqual(['prepare', 'reverse', 'catch-up', 'switch', 'restore']);
    expect(valuesOf(w.primary, 'orders', 0)).toEqual(['a0', 'a1', 'a2', 'b0', 'b1', 'c0', 'c3']);
    expect(valuesOf(w.primary, 'orders', 1)).toEqual(['a3', 'a4', 'b2', 'c1', 'c2']);
    expect(w.primary.calls.filter((c) => c.startsWith('deleteRecordsBefore'))).toEqual([]);
    expect(w.mirror.calls).not.toContainEqual(expect.stringMatching(/^startReverse/));
    expect(w.activeWrites.at(-1)).toEqual({ epoch: 3, cluster: 'primary' });
  });

  it('restarts the forward mirror at the cut, so a second failover finds new records and no copy-back twice', async () => {
    // Arrange
    const w = await prefixedWorld();
    await untilDone(w);
    const before = valuesOf(w.secondary, SOURCE, 0);

    // Act
    w.primary.write('orders', 0, ['d0']);
    w.mirror.poll();

    // Assert
    expect(w.mirror.forward).toBe('running');
    expect(valuesOf(w.secondary, SOURCE, 0)).toEqual([...before, 'd0']);
  });

  it('resumes after a crash between a write to the primary and its journal entry without copying twice', async () => {
    // Arrange
    const w = await prefixedWorld();
    w.primary.failAfterNextAppend = true;

    // Act
    await expect(w.invoke({}, 'req-crash')).rejects.toThrow('crashed after writing');
    await untilDone(w);

    // Assert
    expect(valuesOf(w.primary, 'orders', 0)).toEqual(['a0', 'a1', 'a2', 'b0', 'b1', 'c0', 'c3']);
    expect(valuesOf(w.primary, 'orders', 1)).toEqual(['a3', 'a4', 'b2', 'c1', 'c2']);
  });

  it('marks every copy with where it came from', async () => {
    // Arrange
    const w = await prefixedWorld();

    // Act
    await untilDone(w);

    // Assert
    const copies = (w.primary.topics.get('orders')?.[1]?.records ?? []).filter(
      (r) => r.headers[PROVENANCE.topic],
    );
    expect(
      copies.map(
        (r) =>
          `${r.headers[PROVENANCE.cluster]} ${r.headers[PROVENANCE.topic]}/${r.headers[PROVENANCE.partition]}/${r.headers[PROVENANCE.offset]}`,
      ),
    ).toEqual(['secondary primary.orders/1/2', 'secondary primary.orders/1/3']);
  });

  it("moves a consumer group's position on the secondary to the primary, re-reading rather than skipping", async () => {
    // Arrange: billing has read primary.orders:1 up to c2 (offset 3) and committed 4 there; on the primary it had
    // committed 1 before the failover.
    const w = await prefixedWorld();
    w.secondary.committed.set('billing', new Map([[tpKey(SOURCE, 1), 4]]));
    w.primary.committed.set('billing', new Map([[tpKey('orders', 1), 1]]));

    // Act
    await untilDone(w);

    // Assert: c1 and c2 are at 3 and 4 on the primary; the group resumes at or after c1, at or before the next record.
    const committed = w.primary.committed.get('billing')?.get(tpKey('orders', 1));
    expect(committed).toBeGreaterThanOrEqual(3);
    expect(committed).toBeLessThanOrEqual(5);
  });
});

describe('consumer positions at the switch under copy-back', () => {
  /**
   * While the switch waits for the group to have no members on the primary, clients on the secondary write c4 and
   * c5 into primary.orders:1 (offsets 5 and 6) and billing reads them there (committed 7): catch-up had copied up
   * to offset 5 only.
   */
  async function readDuringTheWait(switchOrder: 'consumers-first' | 'producers-first'): Promise<World> {
    const w = await world(
      configOf({
        replicationPolicy: 'default',
        failback: { stableSeconds: 0, switchStageSeconds: 0, catchUpMaxLagRecords: 0, switchOrder },
      }),
      ({ primary, secondary, mirror }) => {
        mirror.policy = 'default';
        primary.createTopic('orders', 2);
        primary.write('orders', 1, ['a3', 'a4']);
        mirror.poll();
        mirror.frozen.forward = true;
        primary.write('orders', 1, ['b2']);
        secondary.write(SOURCE, 1, ['c1', 'c2']);
        mirror.now = () => BACK_AT;
        mirror.frozen.forward = false;
        mirror.poll();
      },
    );
    let waited = false;
    w.primary.membersOf = () => {
      if (!waited) {
        waited = true;
        w.secondary.write(SOURCE, 1, ['c4', 'c5']);
        w.secondary.committed.set('billing', new Map([[tpKey(SOURCE, 1), 7]]));
      }
      return 0;
    };
    return w;
  }

  it('copies what a group read on the secondary before translating its position, so nothing is read twice', async () => {
    // Arrange
    const w = await readDuringTheWait('consumers-first');

    // Act
    await untilDone(w);

    // Assert: a3 a4 b2 c1 c2 c4 c5 on the primary; billing has read through c5, so it resumes right after it.
    expect(valuesOf(w.primary, 'orders', 1)).toEqual(['a3', 'a4', 'b2', 'c1', 'c2', 'c4', 'c5']);
    expect(w.primary.committed.get('billing')?.get(tpKey('orders', 1))).toBe(7);
  });

  it('producers first: never moves a group past the cut, where producers wrote records nobody has read', async () => {
    // Arrange: producers moved first (the cut on orders:1 is 5, after c2); p0 is theirs, written on the primary
    // before the consumers' stage, and the copy of c4 and c5 lands after it.
    const w = await readDuringTheWait('producers-first');
    const wait = w.primary.membersOf;
    w.primary.membersOf = (group) => {
      if (w.primary.topics.get('orders')?.[1]?.records.every((r) => String(r.value) !== 'p0')) {
        w.primary.write('orders', 1, ['p0']);
      }
      return wait(group);
    };

    // Act
    await untilDone(w);

    // Assert: billing resumes at p0 (re-reading c4 and c5 rather than skipping p0).
    expect(valuesOf(w.primary, 'orders', 1)).toEqual(['a3', 'a4', 'b2', 'c1', 'c2', 'p0', 'c4', 'c5']);
    expect(w.primary.committed.get('billing')?.get(tpKey('orders', 1))).toBe(5);
  });
});

describe('translateCopiedOffset', () => {
  // Client records at source offsets 48.. of primary.orders, copied after the primary's own 109 records: one
  // dense batch of 200 (48..247 -> 109..308), then a batch of 50 records over 60 offsets (markers inside).
  const partition = {
    from: 48,
    ranges: [{ from: 48, to: 400, next: 308 }],
    targetStart: 109,
    targetMark: 359,
    samples: [
      { source: 48, target: 109, dense: 200 },
      { source: 248, target: 309 },
    ],
  };

  it('translates an offset inside a dense batch exactly: nothing read is read again', () => {
    expect(translateCopiedOffset(partition, 48)).toBe(109);
    expect(translateCopiedOffset(partition, 235)).toBe(109 + 187);
  });

  it('takes the start of a batch with gaps, and never a position past what was read', () => {
    expect(translateCopiedOffset(partition, 290)).toBe(309);
    expect(
      translateCopiedOffset({ ...partition, samples: [{ source: 48, target: 109, dense: 100 }] }, 235),
    ).toBe(209);
  });

  it('leaves a group whose offset is before the clients records where it is on the primary', () => {
    expect(translateCopiedOffset(partition, 47)).toBeUndefined();
  });
});

describe('copyBackRanges', () => {
  const sync = (upstreamOffset: number, downstreamOffset: number, writtenAt: number) => ({
    topic: 'orders',
    partition: 0,
    upstreamOffset,
    downstreamOffset,
    writtenAt,
  });

  it("starts after MM2's first run and leaves out what MM2 wrote after the failover", () => {
    // Arrange: MM2 copied upstream 0..4 to 0..4 before the failover (t=1); clients wrote 5..7; MM2 resumed at t=9
    // and wrote upstream 5..6 at 8..9; clients wrote 10..11.
    const syncs = [sync(0, 0, 1), sync(5, 8, 9)];

    // Act
    const r = copyBackRanges(syncs, 6, 5, { low: 0, high: 12 });

    // Assert
    expect(r.from).toBe(5);
    expect(r.mm2After).toEqual([{ from: 8, to: 10 }]);
    expect(r.ranges).toEqual([
      { from: 5, to: 8, next: 5 },
      { from: 10, to: 12, next: 10 },
    ]);
  });

  it('copies from the log start when MM2 never copied anything', () => {
    expect(copyBackRanges([], -1, 5, { low: 0, high: 3 }).ranges).toEqual([{ from: 0, to: 3, next: 0 }]);
  });
});

/** Client records of the scenario on the secondary, per partition: what must reach the primary exactly once. */
const partitionArb = fc.record({
  replicated: fc.nat({ max: 5 }),
  tail: fc.nat({ max: 4 }),
  clientsBefore: fc.nat({ max: 5 }),
  /** MM2 resumes once the primary is back (the tail lands among the clients' records). */
  resumes: fc.boolean(),
  clientsAfter: fc.nat({ max: 4 }),
  /** Records clients still write on the secondary while failback runs (one per read of the partition). */
  late: fc.nat({ max: 3 }),
});

const scenarioArb = fc.record({
  partitions: fc.array(partitionArb, { minLength: 1, maxLength: 3 }),
  syncEvery: fc.constant(1),
  readBatch: fc.integer({ min: 1, max: 5 }),
  emptyReads: fc.nat({ max: 4 }),
  /** Invocations (by index) that die right after a write to the primary, before its journal entry. */
  crashes: fc.array(fc.nat({ max: 10 }), { maxLength: 3 }),
  budgetsMs: fc.array(fc.integer({ min: 0, max: 20_000 }), { minLength: 1, maxLength: 5 }),
});
type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

function build(s: Scenario): Promise<World> {
  return world(configOf({ replicationPolicy: 'default' }), ({ primary, secondary, mirror }) => {
    mirror.policy = 'default';
    mirror.syncEvery = s.syncEvery;
    primary.createTopic('orders', s.partitions.length);
    s.partitions.forEach((p, n) => {
      for (let i = 0; i < p.replicated; i += 1) primary.write('orders', n, [`p${n}-r${i}`]);
    });
    mirror.poll();
    mirror.frozen.forward = true;
    secondary.createTopic(SOURCE, s.partitions.length);
    s.partitions.forEach((p, n) => {
      for (let i = 0; i < p.tail; i += 1) primary.write('orders', n, [`p${n}-t${i}`]);
      for (let i = 0; i < p.clientsBefore; i += 1) secondary.write(SOURCE, n, [`c${n}-${i}`]);
    });
    mirror.now = () => BACK_AT;
    mirror.frozen.forward = !s.partitions.some((p) => p.resumes);
    if (!mirror.frozen.forward) mirror.poll();
    mirror.frozen.forward = false;
    s.partitions.forEach((p, n) => {
      for (let i = 0; i < p.clientsAfter; i += 1) secondary.write(SOURCE, n, [`c${n}-a${i}`]);
    });
  });
}

async function drive(w: World, s: Scenario): Promise<FailbackResult | undefined> {
  const late = s.partitions.map((p) => p.late);
  w.secondary.readBatch = s.readBatch;
  w.secondary.emptyReads = s.emptyReads;
  w.secondary.beforeRead = (topic, partition) => {
    // Clients not yet moved keep writing, until the producers' stage of the switch.
    if (topic !== SOURCE || w.activeWrites.length > 0 || (late[partition] ?? 0) <= 0) return;
    late[partition] = (late[partition] ?? 0) - 1;
    w.secondary.write(SOURCE, partition, [`c${partition}-l${late[partition]}`]);
  };
  for (let i = 0; i < 40; i += 1) {
    w.primary.failAfterNextAppend = s.crashes.includes(i);
    const budget = s.budgetsMs[i % s.budgetsMs.length] ?? 600_000;
    try {
      const r = await w.invoke({}, `req-${i}`, i > 20 ? 600_000 : budget);
      if (r.status === 'completed') return r;
    } catch (e: unknown) {
      if (!String(e).includes('crashed after writing')) throw e;
    }
  }
  return undefined;
}

describe('copy-back under random interleavings', () => {
  it('puts every client record written on the secondary into the primary exactly once, and keeps every primary record', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (s) => {
        // Arrange
        const w = await build(s);
        const primaryBefore = s.partitions.map((_, n) => valuesOf(w.primary, 'orders', n));

        // Act
        const done = await drive(w, s);

        // Assert
        expect(done?.status).toBe('completed');
        expect(w.mirror.forward).toBe('running');
        s.partitions.forEach((_, n) => {
          const clients = valuesOf(w.secondary, SOURCE, n).filter((v) => v.startsWith('c'));
          const onPrimary = valuesOf(w.primary, 'orders', n);
          expect(onPrimary.slice(0, primaryBefore[n]?.length)).toEqual(primaryBefore[n]);
          expect(onPrimary.slice(primaryBefore[n]?.length).sort()).toEqual([...clients].sort());
        });
      }),
      { numRuns: 200 },
    );
  }, 60_000);
});
