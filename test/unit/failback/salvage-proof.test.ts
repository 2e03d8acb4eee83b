import { beforeEach, describe, expect, it } from 'vitest';
import { RefusedError } from '#shared/errors.ts';
import type { FailbackResult } from '#shared/failback/failback.ts';
import { QUARANTINE, untilDone, type World, world } from './world.ts';

/** Every record of the world: a (replicated), b (the un-replicated tail), c (written on the secondary). */
const EVERY_RECORD = ['a0', 'a1', 'a2', 'a3', 'a4', 'b0', 'b1', 'b2', 'c0', 'c1', 'c2'];

/** Records acknowledged by either cluster that are neither on the primary nor in quarantine. */
function missing(w: World): string[] {
  const kept = new Set([...w.primary.values('orders'), ...w.secondary.values(QUARANTINE)]);
  return EVERY_RECORD.filter((v) => !kept.has(v));
}

function summaryOf(results: FailbackResult[], phase: string): unknown {
  return results.flatMap((r) => r.ran).find((r) => r.phase === phase)?.summary;
}

describe('salvage counts only what the broker proved', () => {
  let w: World;
  beforeEach(async () => {
    w = await world();
  });

  it('never takes an empty read for the end of the tail: nothing is left unsalvaged and then purged', async () => {
    // Arrange: the first read of the primary answers nothing although its range holds b0 and b1.
    w.primary.emptyReads = 1;

    // Act
    await untilDone(w);

    // Assert
    expect(w.secondary.values(QUARANTINE).sort()).toEqual(['b0', 'b1', 'b2']);
    expect(missing(w)).toEqual([]);
  });

  it('reports records the primary deleted before salvage read them, and purges that partition only once the loss is accepted', async () => {
    // Arrange: retention on the primary deletes b0 (offset 3 of orders:0) just before salvage reads it.
    let retained = false;
    w.primary.beforeRead = (topic, partition) => {
      if (!retained && topic === 'orders' && partition === 0) {
        retained = true;
        void w.primary.deleteRecordsBefore('orders', [{ partition: 0, offset: 4 }]);
      }
    };
    const first = await w.invoke({});
    const deletesBefore = w.primary.calls.filter((c) => c.startsWith('deleteRecordsBefore')).length;

    // Act
    const refused = await w.invoke({ phase: 'purge', confirm: true }, 'req-2').catch((e: unknown) => e);
    const deletesAfterRefusal = w.primary.calls.filter((c) => c.startsWith('deleteRecordsBefore')).length;
    const accepted = await w.invoke({ phase: 'purge', confirm: true, acceptLoss: ['orders:0'] }, 'req-3');

    // Assert
    expect(summaryOf([first], 'salvage')).toMatchObject({
      partitions: [
        { partition: 0, salvaged: 1, lostToRetention: 1, remaining: 0 },
        { partition: 1, salvaged: 1, lostToRetention: 0, remaining: 0 },
      ],
      totalLostToRetention: 1,
    });
    expect(first.nextStep).toContain('orders:0');
    expect(refused).toBeInstanceOf(RefusedError);
    expect((refused as RefusedError).reasons).toEqual([
      { code: 'salvage-lost-records', message: expect.stringContaining('orders:0 offsets [3, 4)') },
    ]);
    expect((refused as RefusedError).reasons[0]?.message).toContain('"acceptLoss": ["orders:0"]');
    expect(deletesAfterRefusal).toBe(deletesBefore);
    expect(accepted.ran.map((r) => r.phase)).toContain('purge');
    expect(accepted.ran.find((r) => r.phase === 'purge')?.summary).toMatchObject({
      partitions: [{ partition: 0, acceptedLoss: true }, { partition: 1 }],
    });
  });

  it('creates the quarantine topic with unlimited retention and the replication factor of the source topic', async () => {
    // Act
    await w.invoke({});

    // Assert
    expect(w.secondary.created.get(QUARANTINE)).toEqual({
      partitions: 2,
      configs: { 'retention.ms': '-1', 'retention.bytes': '-1' },
      replicationFactorOf: ['orders'],
    });
  });
});

describe('purge deletes nothing that exists nowhere else', () => {
  let w: World;
  beforeEach(async () => {
    w = await world();
  });

  it('salvages replicated records too when the secondary no longer holds their copies', async () => {
    // Arrange: retention on the secondary removed its copies of a0 and a1 during the outage.
    await w.secondary.deleteRecordsBefore('orders', [{ partition: 0, offset: 2 }]);

    // Act
    const results = await untilDone(w);

    // Assert
    expect(missing(w)).toEqual([]);
    expect(w.secondary.values(QUARANTINE).sort()).toEqual(['a0', 'a1', 'b0', 'b1', 'b2']);
    expect(summaryOf(results, 'salvage')).toMatchObject({
      partitions: [
        { partition: 0, unprovenReplicated: 2, salvaged: 4 },
        { partition: 1, unprovenReplicated: 0, salvaged: 1 },
      ],
    });
  });

  it('salvages at purge time what the secondary deleted after salvage had judged it safe', async () => {
    // Arrange: salvage and reverse ran while the secondary still held a0 and a1; then its retention deleted them.
    await w.invoke({});
    await w.secondary.deleteRecordsBefore('orders', [{ partition: 0, offset: 2 }]);

    // Act
    const purged = await w.invoke({ phase: 'purge', confirm: true }, 'req-2');

    // Assert
    expect(purged.ran.map((r) => r.phase)).toContain('purge');
    expect(w.secondary.values(QUARANTINE)).toEqual(expect.arrayContaining(['a0', 'a1']));
    expect(missing(w)).toEqual([]);
  });

  it('refuses to purge a partition whose secondary deleted records the reverse mirror had not copied yet', async () => {
    // Arrange: the reverse mirror copies nothing; the secondary deletes a0..a2 and c0 meanwhile.
    w.mirror.frozen.reverse = true;
    await w.invoke({});
    await w.secondary.deleteRecordsBefore('orders', [{ partition: 0, offset: 4 }]);

    // Act
    const refused = await w.invoke({ phase: 'purge', confirm: true }, 'req-2').catch((e: unknown) => e);

    // Assert
    expect(refused).toBeInstanceOf(RefusedError);
    expect((refused as RefusedError).reasons).toEqual([
      {
        code: 'reverse-mirror-gap',
        message: expect.stringContaining('orders:0 offsets [0, 4) on the secondary'),
      },
    ]);
    expect(w.primary.calls.filter((c) => c.startsWith('deleteRecordsBefore'))).toEqual([]);
    expect(w.primary.values('orders').sort()).toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'b0', 'b1', 'b2']);
  });

  it('refuses when the reverse mirror started only after the secondary had deleted records, though it caught up since', async () => {
    // Arrange: between asking for the reverse mirror and its first read, retention deletes a0, a1 on the secondary.
    w.mirror.frozen.reverse = true;
    await w.invoke({});
    await w.secondary.deleteRecordsBefore('orders', [{ partition: 0, offset: 2 }]);
    w.mirror.frozen.reverse = false;
    w.mirror.poll();

    // Act
    const refused = await w.invoke({ phase: 'purge', confirm: true }, 'req-2').catch((e: unknown) => e);

    // Assert
    expect((refused as RefusedError).reasons).toEqual([
      {
        code: 'reverse-mirror-gap',
        message: expect.stringContaining('orders:0 offsets [0, 2) on the secondary'),
      },
    ]);
  });
});
