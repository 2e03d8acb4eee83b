import { driveFailback as driveToTheEnd } from '#shared/failback-driver/drive-failback.ts';
import type { DriverAnswer } from '#shared/failback-driver/states.ts';
import type { DrillFunctions } from './functions.ts';

export interface FailbackDriverDeps {
  failback: DrillFunctions['failback'];
  mark(label: string): void;
  sleep(ms: number): Promise<void>;
  now(): number;
}

/** Between invocations while failback waits: the drill's clusters are local, its stable period short. */
const pauseMs = 1_000;

/**
 * Failback as an operator runs it in AWS: a dry run first, then the failback state machine's loop
 * (shared/failback-driver), in-process, with the purge approved as soon as it is asked for. A refusal, or no
 * completion within `limitMs`, stops the drill.
 */
export async function driveFailback(deps: FailbackDriverDeps, limitMs = 300_000): Promise<void> {
  const planned = await deps.failback({
    action: 'failback',
    phase: 'plan',
    requestedBy: 'drill',
    reason: 'primary is back: what would failback do?',
  });
  deps.mark(`failback plan: ${planned.status}`);
  let lastPhase = '';
  await driveToTheEnd(
    { requestedBy: 'drill', reason: 'primary restored after the drill fault' },
    {
      invoke: deps.failback,
      awaitPurgeApproval: async () => {
        deps.mark('failback: purge approved');
        return { approvedBy: 'drill', reason: 'the drill approves the purge it asked for' };
      },
      sleep: deps.sleep,
      now: deps.now,
      onAnswer: (answer: DriverAnswer) => {
        const phase = `${answer.status}${answer.currentPhase ? ` at ${answer.currentPhase}` : ''}`;
        if (phase !== lastPhase)
          deps.mark(`failback: ${phase} (done: ${(answer.completedPhases ?? []).join(', ') || 'none'})`);
        lastPhase = phase;
      },
    },
    { pauseMs, limitMs },
  );
}
