/**
 * Failback driven to the end, described once: the AWS Step Functions state machine the stack deploys
 * (infra/constructs/failback-state-machine.ts renders these states and rules into its definition) and the
 * in-process driver of the drill and `mm2-failover failback --local --wait` (drive-failback.ts) follow the same
 * states, decide on the same rules and send the failback function the same requests.
 *
 * The loop: invoke the failback function with no phase (it goes as far as it can), read its answer, and
 *
 * - `completed`: done;
 * - `in-progress` (its invocation's deadline came, or a phase finished that was asked for alone): invoke again;
 * - `waiting` for the purge confirmation: stop until an operator approves (`mm2-failover failback approve`), then
 *   invoke with `{ phase: 'purge', confirm: true }` in the approver's name;
 * - `waiting` for anything else (the primary to be stable, an operator's manual mirror step, which is confirmed
 *   by invoking the function by hand): pause, then invoke again;
 * - `refused` because the lock is held (someone invoked the function by hand meanwhile): pause, invoke again;
 * - any other answer (`refused`, `invalid`): stop, failed, with the answer as the cause.
 */

/** The states, by the names the state machine's definition gives them. */
export const driverStateNames = {
  /** Emits `FailbackInProgress = 1` (the alarm that suppresses the alarms failback causes by design). */
  markInProgress: 'MarkFailbackInProgress',
  advance: 'Advance',
  decide: 'Decide',
  pause: 'Pause',
  awaitPurgeApproval: 'AwaitPurgeApproval',
  confirmPurge: 'ConfirmPurge',
  completed: 'FailbackCompleted',
  refused: 'FailbackRefused',
  failed: 'FailbackFailed',
} as const;
type DriverStateName = (typeof driverStateNames)[keyof typeof driverStateNames];

/** What the driver reads of a failback answer (shared/failback/failback.ts `FailbackResult`, or an error answer). */
export interface DriverAnswer {
  status: string;
  currentPhase?: string;
  completedPhases?: readonly string[];
  waiting?: { waitingFor?: string };
  reasons?: ReadonlyArray<{ code: string }>;
}

/** One rule of the `Decide` state: every field given must match; the first rule that matches decides. */
export interface DecisionRule {
  status: string;
  waitingFor?: string;
  firstReasonCode?: string;
  next: DriverStateName;
}

export const decisionRules: readonly DecisionRule[] = [
  { status: 'completed', next: driverStateNames.completed },
  { status: 'in-progress', next: driverStateNames.markInProgress },
  { status: 'waiting', waitingFor: 'confirm', next: driverStateNames.awaitPurgeApproval },
  { status: 'waiting', next: driverStateNames.pause },
  { status: 'refused', firstReasonCode: 'lock-held', next: driverStateNames.pause },
];

/** Where `Decide` goes when no rule matches: the answer is a refusal or invalid input, and nothing will change it. */
export const otherwiseState = driverStateNames.refused;

/** The state `Decide` moves to for this answer. */
export function decide(answer: DriverAnswer): DriverStateName {
  const rule = decisionRules.find(
    (r) =>
      r.status === answer.status &&
      (r.waitingFor === undefined || r.waitingFor === answer.waiting?.waitingFor) &&
      (r.firstReasonCode === undefined || r.firstReasonCode === answer.reasons?.[0]?.code),
  );
  return rule?.next ?? otherwiseState;
}

/** What an execution starts with: who asked for the failback and why (the function's payload needs both). */
export interface DriveInput {
  requestedBy: string;
  reason: string;
}

/** The operator's answer to the purge: `mm2-failover failback approve` sends it (SendTaskSuccess's output). */
export interface PurgeApproval {
  approvedBy: string;
  reason: string;
}

/** `Advance`'s payload: go on from the journal as far as the invocation's deadline allows. */
export function advanceRequest(input: DriveInput): Record<string, unknown> {
  return { action: 'failback', requestedBy: input.requestedBy, reason: input.reason };
}

/** `ConfirmPurge`'s payload: the purge, confirmed, in the approver's name. */
export function confirmPurgeRequest(approval: PurgeApproval): Record<string, unknown> {
  return {
    action: 'failback',
    phase: 'purge',
    confirm: true,
    requestedBy: approval.approvedBy,
    reason: approval.reason,
  };
}

/** The metric `MarkFailbackInProgress` emits, dimension `Deployment`, in the probe metrics' namespace. */
export const failbackInProgressMetric = 'FailbackInProgress';
