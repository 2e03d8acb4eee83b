import { describe, expect, it } from 'vitest';
import { driveFailback } from '#drill/failback-driver.ts';
import type { FailbackAnswer } from '#drill/functions.ts';

type Answer = FailbackAnswer & { waiting?: { waitingFor?: string } };

function scripted(answers: Answer[], now: () => number = () => 0) {
  const requests: Array<Record<string, unknown>> = [];
  const marks: string[] = [];
  let sleeps = 0;
  const deps = {
    failback: async (request: Record<string, unknown>) => {
      requests.push(request);
      const next = answers.shift();
      if (!next) throw new Error('no scripted answer left');
      return next;
    },
    mark: (label: string) => marks.push(label),
    sleep: async () => {
      sleeps++;
    },
    now,
  };
  return { deps, requests, marks, sleeps: () => sleeps };
}

const done = ['prepare', 'salvage', 'reverse'];

describe('drill failback driver', () => {
  it('plans, advances until completed, and confirms the purge only when failback asks for it', async () => {
    const { deps, requests, marks, sleeps } = scripted([
      { status: 'planned' },
      { status: 'in-progress', currentPhase: 'salvage', completedPhases: ['prepare'] },
      { status: 'waiting', currentPhase: 'purge', completedPhases: done, waiting: { waitingFor: 'confirm' } },
      { status: 'in-progress', currentPhase: 'catch-up', completedPhases: [...done, 'purge'] },
      { status: 'waiting', currentPhase: 'catch-up', completedPhases: [...done, 'purge'] },
      { status: 'completed', completedPhases: [...done, 'purge', 'catch-up', 'switch', 'restore'] },
    ]);

    await driveFailback(deps);

    expect(requests[0]).toMatchObject({ phase: 'plan' });
    expect(requests.map((r) => r.confirm === true)).toEqual([false, false, false, true, false, false]);
    expect(requests[3]).toMatchObject({ phase: 'purge', confirm: true, requestedBy: 'drill' });
    expect(marks).toEqual([
      'failback plan: planned',
      'failback: in-progress at salvage (done: prepare)',
      'failback: waiting at purge (done: prepare, salvage, reverse)',
      'failback: purge approved',
      'failback: in-progress at catch-up (done: prepare, salvage, reverse, purge)',
      'failback: waiting at catch-up (done: prepare, salvage, reverse, purge)',
      'failback: completed (done: prepare, salvage, reverse, purge, catch-up, switch, restore)',
    ]);
    // Only a `waiting` answer that is not the purge pauses; `in-progress` is invoked again at once.
    expect(sleeps()).toBe(1);
  });

  it('stops the drill on a refusal', async () => {
    const { deps } = scripted([{ status: 'planned' }, { status: 'refused' }]);

    await expect(driveFailback(deps)).rejects.toThrow('failback refused: {"status":"refused"}');
  });

  it('gives up when failback does not complete in time, with its last answer', async () => {
    let t = 0;
    const waiting = { status: 'waiting', currentPhase: 'catch-up' };
    const { deps } = scripted([{ status: 'planned' }, waiting, waiting, waiting, waiting], () => {
      t += 100_000;
      return t;
    });

    await expect(driveFailback(deps)).rejects.toThrow(
      'failback did not finish in 300 s; last answer: {"status":"waiting","currentPhase":"catch-up"}',
    );
  });
});
