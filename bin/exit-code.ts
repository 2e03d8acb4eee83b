/**
 * The CLI's exit codes. A script can rely on them: 0 the command did what was asked (a dry run that shows a
 * refusal, a failback that waits for the next invocation, a first activation that already existed are done too),
 * 1 the function refused, found the input invalid, or failed, 2 the command line itself was wrong, 3 a followed
 * failback stopped where only a person can let it go on (the purge approval): neither done nor failed.
 */
export const exitCodes = { done: 0, refusedOrFailed: 1, usage: 2, waitingForApproval: 3 } as const;

/** The exit code for a function's answer: `refused` and `invalid` are 1, every other answer is done. */
export function exitCodeOf(answer: unknown): 0 | 1 {
  const status =
    typeof answer === 'object' && answer !== null ? (answer as { status?: unknown }).status : undefined;
  return status === 'refused' || status === 'invalid' ? exitCodes.refusedOrFailed : exitCodes.done;
}
