import { Mm2FailoverError } from '../errors.ts';
import {
  advanceRequest,
  confirmPurgeRequest,
  type DriveInput,
  type DriverAnswer,
  decide,
  type PurgeApproval,
  driverStateNames as S,
} from './states.ts';

export interface DriveFailbackDeps {
  /** Invoke the failback function (in-process: the real handler) with a payload; its answer. */
  invoke(request: Record<string, unknown>): Promise<DriverAnswer>;
  /** Stop until an operator approves the purge that `answer` asks for. */
  awaitPurgeApproval(answer: DriverAnswer): Promise<PurgeApproval>;
  sleep(ms: number): Promise<void>;
  now(): number;
  /** Every answer, as `Decide` sees it (progress output). */
  onAnswer?(answer: DriverAnswer): void;
}

export interface DriveFailbackOptions {
  /** `Pause`: how long to wait before invoking again after a `waiting` answer or a held lock. */
  pauseMs: number;
  /** Give up, failed, when failback has not completed this long after the start. Default: never. */
  limitMs?: number;
}

/**
 * The state machine's loop (states.ts), in-process: the drill's failback and `mm2-failover failback --local
 * --wait`. Returns the `completed` answer; throws on a refusal or an invalid request, with the answer, as the
 * state machine's `FailbackRefused` state fails with it. `MarkFailbackInProgress` emits a CloudWatch metric in
 * AWS; in-process there is no CloudWatch to tell, and it is the point where the time limit is checked.
 */
export async function driveFailback(
  input: DriveInput,
  deps: DriveFailbackDeps,
  options: DriveFailbackOptions,
): Promise<DriverAnswer> {
  const started = deps.now();
  let answer: DriverAnswer | undefined;
  let approval: PurgeApproval | undefined;
  let state: string = S.markInProgress;
  for (;;) {
    switch (state) {
      case S.markInProgress:
        if (options.limitMs !== undefined && deps.now() - started > options.limitMs) {
          throw new Mm2FailoverError(
            `failback did not finish in ${options.limitMs / 1000} s; last answer: ${JSON.stringify(answer)}`,
          );
        }
        state = S.advance;
        break;
      case S.advance:
        answer = await deps.invoke(advanceRequest(input));
        state = S.decide;
        break;
      case S.confirmPurge:
        if (!approval) throw new Error('ConfirmPurge entered without an approval');
        answer = await deps.invoke(confirmPurgeRequest(approval));
        state = S.decide;
        break;
      case S.decide:
        if (!answer) throw new Error('Decide entered without an answer');
        deps.onAnswer?.(answer);
        state = decide(answer);
        break;
      case S.pause:
        await deps.sleep(options.pauseMs);
        state = S.markInProgress;
        break;
      case S.awaitPurgeApproval:
        if (!answer) throw new Error('AwaitPurgeApproval entered without an answer');
        approval = await deps.awaitPurgeApproval(answer);
        state = S.confirmPurge;
        break;
      case S.completed:
        if (!answer) throw new Error('FailbackCompleted entered without an answer');
        return answer;
      default:
        throw new Mm2FailoverError(`failback ${answer?.status ?? 'failed'}: ${JSON.stringify(answer)}`);
    }
  }
}
