import { describe, expect, it } from 'vitest';
import { type DrainMeasure, nextUpstream, waitForDrain } from '#shared/planned/backlog-drain.ts';
import { FakeClock } from '../failover/fakes.ts';

function measure(primaryEnd: number, behind: number, groupsBehind = 0): DrainMeasure {
  return {
    measuredAt: '2026-11-21T12:00:00.000Z',
    partitions: [
      {
        topic: 'orders',
        partition: 0,
        primaryEnd,
        secondaryEnd: primaryEnd - behind,
        sync: null,
        copiedThrough: primaryEnd - behind,
        behind,
      },
    ],
    groups: [],
    recordsBehind: behind,
    groupsBehind,
  };
}

describe('nextUpstream', () => {
  it("counts MM2's progress forward from its last offset sync (offsets of the two logs differ)", () => {
    // Upstream 400 was written downstream at 380; the secondary now ends at 395: upstream 400..414 are copied.
    expect(nextUpstream(0, { upstreamOffset: 400, downstreamOffset: 380 }, 395)).toBe(415);
  });

  it('knows nothing copied without a sync, or when the secondary ends at or before it (recreated)', () => {
    expect(nextUpstream(120, undefined, 900)).toBe(120);
    expect(nextUpstream(120, { upstreamOffset: 400, downstreamOffset: 380 }, 380)).toBe(120);
    expect(nextUpstream(120, { upstreamOffset: 400, downstreamOffset: 380 }, undefined)).toBe(120);
  });
});

describe('waitForDrain', () => {
  it('is drained only when nothing is behind and the primary ends held still since the previous poll', async () => {
    const clock = new FakeClock();
    // A write landed between the first and the second poll (the broker had not applied the fence yet): 500 -> 501.
    const polls = [measure(500, 3), measure(501, 0), measure(501, 0)];
    let i = 0;

    const outcome = await waitForDrain(
      async () => polls[i++] ?? measure(501, 0),
      { timeoutMs: 10_000, intervalMs: 250 },
      clock,
    );

    expect(outcome).toMatchObject({
      drained: true,
      measure: { partitions: [{ primaryEnd: 501 }] },
      waitedMs: 500,
    });
    expect(i).toBe(3);
  });

  it('waits for the groups to be checkpointed too', async () => {
    const clock = new FakeClock();
    const polls = [measure(500, 0, 2), measure(500, 0, 1), measure(500, 0, 0)];
    let i = 0;

    const outcome = await waitForDrain(
      async () => polls[i++] ?? measure(500, 0),
      { timeoutMs: 10_000, intervalMs: 100 },
      clock,
    );

    expect(outcome).toMatchObject({ drained: true, waitedMs: 200 });
  });

  it('gives up at the deadline with the last measurement, never sleeping past it', async () => {
    const clock = new FakeClock();

    const outcome = await waitForDrain(
      async () => measure(500, 7),
      { timeoutMs: 1_000, intervalMs: 300 },
      clock,
    );

    expect(outcome).toMatchObject({ drained: false, waitedMs: 1_000, measure: { recordsBehind: 7 } });
    expect(clock.sleeps).toEqual([300, 300, 300, 100]);
  });

  it('retries a failed measurement and reports its error when it is the last word', async () => {
    const clock = new FakeClock();

    const outcome = await waitForDrain(
      async () => {
        throw new Error('connection refused');
      },
      { timeoutMs: 500, intervalMs: 250 },
      clock,
    );

    expect(outcome).toEqual({
      drained: false,
      measure: undefined,
      waitedMs: 500,
      lastError: 'Error: connection refused',
    });
  });
});
