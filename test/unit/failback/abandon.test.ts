import { describe, expect, it } from 'vitest';
import { RefusedError } from '#shared/errors.ts';
import { abandonFailback } from '#shared/failback/abandon.ts';
import { failbackJournal } from '#shared/failback/journal.ts';
import { parseFailbackRequest } from '#shared/failback/payload.ts';
import type { FailbackState } from '#shared/failback/state.ts';
import { FakeLock } from '../failover/fakes.ts';
import { MemoryRunJournal } from './fakes.ts';

const base: FailbackState = {
  runId: '0000000001-abcd1234',
  mode: 'active-passive',
  startedAt: '2026-11-21T10:00:00.000Z',
  requestedBy: 'alice',
  reason: 'primary repaired',
  startEpoch: 1,
  completed: ['prepare', 'salvage', 'reverse', 'purge'],
  mirrorConfirmed: [],
  salvage: {
    forwardStopped: true,
    quarantineTopic: 'mm2-failover.quarantine',
    partitions: {
      'orders:0': {
        topic: 'orders',
        partition: 0,
        lastReplicated: 4,
        source: 'connect-offsets',
        logStart: 0,
        logEnd: 7,
        ranges: [{ kind: 'tail', from: 5, to: 7, next: 7 }],
        copied: 2,
        absent: 0,
        lost: [],
        forwardSyncs: [],
        quarantinePartition: 0,
        quarantineMark: 2,
      },
    },
  },
  reverse: { staleEnd: { 'orders:0': 7 }, started: true, requested: true },
  purge: {
    partitions: {
      'orders:0': {
        topic: 'orders',
        partition: 0,
        deleteBefore: 7,
        logStartBefore: 0,
        deleted: 7,
        done: true,
        acceptedLoss: false,
      },
    },
  },
};

describe('failback --abandon', () => {
  it('journals the run as abandoned and lists what it leaves behind, undoing nothing', async () => {
    const lock = new FakeLock({ now: () => Date.now() });
    const runs = new MemoryRunJournal(lock);
    const journal = failbackJournal(runs);
    await lock.acquire('req-1');
    await journal.begin(base, 'req-1');
    await lock.release('req-1');
    await lock.acquire('req-2');

    const { state, leftBehind } = await abandonFailback(journal, 'req-2', 'a failover moved clients again');

    expect(state.runId).toBe(base.runId);
    expect(leftBehind).toEqual([
      'the forward mirror (primary → secondary) is stopped: start it again when the primary is the source',
      '2 salvaged record(s) stay in the quarantine topic mm2-failover.quarantine on the secondary',
      'the reverse mirror (secondary → primary) is running: remove it before the forward mirror runs again',
      "the primary's stale records were deleted in 1 partition(s) (below the offsets in the journal)",
    ]);
    expect(runs.entries[0]).toMatchObject({
      status: 'abandoned',
      outcome: { reason: 'a failover moved clients again' },
    });
    expect((await journal.load()).kind).toBe('finished');
  });

  it('refuses when no failback is in progress', async () => {
    const error = await abandonFailback(
      failbackJournal(new MemoryRunJournal(new FakeLock({ now: () => Date.now() }))),
      'req-1',
      'why not',
    ).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(RefusedError);
    expect((error as RefusedError).reasons[0]?.code).toBe('nothing-to-abandon');
  });

  it('takes abandon alone: with a phase or a confirmation it is refused as invalid', () => {
    expect(() =>
      parseFailbackRequest({
        action: 'failback',
        abandon: true,
        phase: 'purge',
        requestedBy: 'a',
        reason: 'why?',
      }),
    ).toThrow(/abandon: abandon ends the failback in progress/);
  });
});
