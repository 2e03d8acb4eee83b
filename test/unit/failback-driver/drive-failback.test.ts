import { describe, expect, it } from 'vitest';
import { driveFailback } from '#shared/failback-driver/drive-failback.ts';
import { type DriverAnswer, decide, driverStateNames as S } from '#shared/failback-driver/states.ts';

const input = { requestedBy: 'alice', reason: 'primary repaired (INC-42)' };

/** The in-process driver against scripted answers: what it sent, slept and asked the operator. */
function drive(answers: DriverAnswer[], options: { limitMs?: number; now?: () => number } = {}) {
  const requests: Array<Record<string, unknown>> = [];
  const approvalsAskedFor: DriverAnswer[] = [];
  const slept: number[] = [];
  const run = driveFailback(
    input,
    {
      invoke: async (request) => {
        requests.push(request);
        const next = answers.shift();
        if (!next) throw new Error('no scripted answer left');
        return next;
      },
      awaitPurgeApproval: async (answer) => {
        approvalsAskedFor.push(answer);
        return { approvedBy: 'bob', reason: 'salvage checked' };
      },
      sleep: async (ms) => {
        slept.push(ms);
      },
      now: options.now ?? (() => 0),
    },
    { pauseMs: 30_000, ...(options.limitMs === undefined ? {} : { limitMs: options.limitMs }) },
  );
  return { run, requests, approvalsAskedFor, slept };
}

const purgeDue = { status: 'waiting', currentPhase: 'purge', waiting: { waitingFor: 'confirm' } };

describe('decide', () => {
  it('goes on at once after in-progress, pauses while waiting or while the lock is held, and ends on completed', () => {
    expect(decide({ status: 'in-progress' })).toBe(S.markInProgress);
    expect(decide({ status: 'waiting', waiting: { waitingFor: 'primary-stable' } })).toBe(S.pause);
    expect(decide({ status: 'waiting' })).toBe(S.pause);
    expect(decide({ status: 'refused', reasons: [{ code: 'lock-held' }] })).toBe(S.pause);
    expect(decide({ status: 'completed' })).toBe(S.completed);
  });

  it('stops for the approval only when failback waits for the purge confirmation', () => {
    expect(decide(purgeDue)).toBe(S.awaitPurgeApproval);
    expect(decide({ status: 'waiting', waiting: { waitingFor: 'stop-forward' } })).toBe(S.pause);
  });

  it('refuses every other answer: a refusal for another reason, invalid input, a dry run', () => {
    expect(decide({ status: 'refused', reasons: [{ code: 'phase-out-of-order' }] })).toBe(S.refused);
    expect(decide({ status: 'refused', reasons: [] })).toBe(S.refused);
    expect(decide({ status: 'invalid' })).toBe(S.refused);
    expect(decide({ status: 'planned' })).toBe(S.refused);
  });
});

describe('driveFailback (in-process)', () => {
  it('invokes with the requester, then confirms the purge in the approver name, and returns the completed answer', async () => {
    const completed = { status: 'completed', completedPhases: ['prepare', 'purge', 'restore'] };
    const { run, requests, approvalsAskedFor, slept } = drive([
      { status: 'waiting', waiting: { waitingFor: 'primary-stable' } },
      purgeDue,
      { status: 'in-progress', currentPhase: 'catch-up' },
      { status: 'refused', reasons: [{ code: 'lock-held' }] },
      completed,
    ]);

    await expect(run).resolves.toBe(completed);

    const advance = { action: 'failback', requestedBy: 'alice', reason: 'primary repaired (INC-42)' };
    expect(requests).toEqual([
      advance,
      advance,
      { action: 'failback', phase: 'purge', confirm: true, requestedBy: 'bob', reason: 'salvage checked' },
      advance,
      advance,
    ]);
    expect(approvalsAskedFor).toEqual([purgeDue]);
    expect(slept).toEqual([30_000, 30_000]);
  });

  it('fails with the answer on a refusal or invalid input, invoking no more', async () => {
    const refused = { status: 'refused', reasons: [{ code: 'primary-already-active' }] };
    const { run, requests } = drive([refused, { status: 'completed' }]);

    await expect(run).rejects.toThrow(`failback refused: ${JSON.stringify(refused)}`);
    expect(requests).toHaveLength(1);
  });

  it('gives up at the limit with the last answer', async () => {
    let t = 0;
    const waiting = { status: 'waiting', waiting: { waitingFor: 'primary-stable' } };
    const { run } = drive([waiting, waiting, waiting], {
      limitMs: 60_000,
      now: () => {
        t += 40_000;
        return t;
      },
    });

    await expect(run).rejects.toThrow(
      `failback did not finish in 60 s; last answer: ${JSON.stringify(waiting)}`,
    );
  });
});
