import type { DrillFunctions, FailbackAnswer } from './functions.ts';

export interface FailbackDriverDeps {
  failback: DrillFunctions['failback'];
  mark(label: string): void;
  sleep(ms: number): Promise<void>;
  now(): number;
}

/**
 * Failback as the operator runs it: a dry run first, then the same request again and again, each invocation
 * going as far as it can, until the answer is `completed`. The purge deletes the primary's stale records, so it
 * is confirmed only once it is the phase due. A refusal, or no completion within `limitMs`, stops the drill.
 */
export async function driveFailback(deps: FailbackDriverDeps, limitMs = 300_000): Promise<void> {
  const planned = await deps.failback({
    action: 'failback',
    phase: 'plan',
    requestedBy: 'drill',
    reason: 'primary is back: what would failback do?',
  });
  deps.mark(`failback plan: ${planned.status}`);
  const started = deps.now();
  let last: FailbackAnswer = { status: 'waiting' };
  let lastPhase = '';
  while (last.status !== 'completed') {
    if (deps.now() - started > limitMs)
      throw new Error(`failback did not finish in ${limitMs / 1000} s; last answer: ${JSON.stringify(last)}`);
    const confirmPurge = last.currentPhase === 'purge';
    last = await deps.failback({
      action: 'failback',
      ...(confirmPurge ? { phase: 'purge', confirm: true } : {}),
      requestedBy: 'drill',
      reason: 'primary restored after the drill fault',
    });
    if (last.status === 'refused' || last.status === 'invalid')
      throw new Error(`failback ${last.status}: ${JSON.stringify(last)}`);
    const phase = `${last.status}${last.currentPhase ? ` at ${last.currentPhase}` : ''}`;
    if (phase !== lastPhase)
      deps.mark(`failback: ${phase} (done: ${(last.completedPhases ?? []).join(', ') || 'none'})`);
    lastPhase = phase;
    if (last.status !== 'completed') await deps.sleep(1_000);
  }
}
