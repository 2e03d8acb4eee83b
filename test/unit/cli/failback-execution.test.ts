import { describe, expect, it } from 'vitest';
import { type ExecutionView, followFailback } from '../../../bin/failback-execution.ts';

const arn = 'arn:aws:states:eu-west-1:123456789012:execution:failback:run-1';

/** Step Functions as a script of looks: each read returns the next view, the last one repeats. */
function scripted(views: Array<Omit<ExecutionView, 'executionArn'>>, approvalAfter?: number) {
  let reads = 0;
  const lines: string[] = [];
  const sleeps: number[] = [];
  return {
    lines,
    sleeps,
    deps: {
      read: async (executionArn: string) => {
        const view = views[Math.min(reads, views.length - 1)];
        reads += 1;
        return { executionArn, ...view } as ExecutionView;
      },
      pendingApproval: async () =>
        approvalAfter !== undefined && reads >= approvalAfter
          ? { executionArn: arn, answer: '{"status":"waiting","currentPhase":"purge"}' }
          : undefined,
      sleep: async (ms: number) => {
        sleeps.push(ms);
      },
      say: (line: string) => lines.push(line),
    },
  };
}

const at = (phase: string, done: string[]) => ({
  status: 'RUNNING',
  currentState: 'InvokeFailback',
  lastAnswer: { status: 'advanced', currentPhase: phase, completedPhases: done },
});

describe('followFailback', () => {
  it('prints a line whenever the failback moves and ends when the execution succeeds', async () => {
    const s = scripted([
      at('salvage', ['prepare']),
      at('salvage', ['prepare']),
      at('reverse', ['prepare', 'salvage']),
      { status: 'SUCCEEDED', lastAnswer: { status: 'completed', completedPhases: ['prepare', 'salvage'] } },
    ]);

    const outcome = await followFailback(arn, s.deps, { pollMs: 7 });

    expect(outcome.outcome).toBe('succeeded');
    expect(s.lines).toEqual([
      'failback execution RUNNING in InvokeFailback; failback advanced at salvage (done: prepare)',
      'failback execution RUNNING in InvokeFailback; failback advanced at reverse (done: prepare, salvage)',
      'failback execution SUCCEEDED; failback completed (done: prepare, salvage)',
    ]);
    expect(s.sleeps).toEqual([7, 7, 7]);
  });

  it('stops when its execution waits for the purge approval, with what the failback asked', async () => {
    const s = scripted([at('purge', ['prepare', 'salvage', 'reverse'])], 2);

    const outcome = await followFailback(arn, s.deps, { pollMs: 1 });

    expect(outcome).toMatchObject({
      outcome: 'waiting-for-approval',
      asked: { status: 'waiting', currentPhase: 'purge' },
    });
  });

  it.each(['FAILED', 'TIMED_OUT', 'ABORTED'])(
    'reports an execution that ended %s as failed, with its error',
    async (status) => {
      const s = scripted([{ status, error: 'States.TaskFailed', cause: 'failback function failed' }]);

      const outcome = await followFailback(arn, s.deps, { pollMs: 1 });

      expect(outcome.outcome).toBe('failed');
      expect(s.lines).toEqual([`failback execution ${status}: States.TaskFailed (failback function failed)`]);
    },
  );
});
