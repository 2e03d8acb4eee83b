import { describe, expect, it } from 'vitest';
import { exitCodeOf, exitCodes } from '../../../bin/exit-code.ts';

describe('exitCodeOf', () => {
  it.each([
    [{ status: 'refused', reasons: [{ code: 'lock-held', message: 'held' }] }, 1],
    [{ status: 'invalid', subject: 'failover input', problems: [] }, 1],
    [{ status: 'switched', epoch: 1 }, 0],
    [{ status: 'already-active', epoch: 1 }, 0],
    [{ status: 'dry-run', wouldDo: 'refuse' }, 0],
    [{ status: 'waiting', nextStep: 'confirm purge' }, 0],
    [{ status: 'completed' }, 0],
    [{ active: { cluster: 'primary', epoch: 0 } }, 0],
    [null, 0],
  ])('maps the answer %j to exit code %i', (answer, code) => {
    expect(exitCodeOf(answer)).toBe(code);
  });

  it('keeps refused-or-failed, usage errors and a failback waiting for approval apart from done', () => {
    expect(exitCodes).toEqual({ done: 0, refusedOrFailed: 1, usage: 2, waitingForApproval: 3 });
  });
});
