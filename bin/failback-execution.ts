/**
 * A failback the state machine drives, as the operator's CLI sees it: one execution's status, the state it is in
 * and the failback function's last answer (`failback progress`), and `failback --wait`, which follows it until it
 * ends or stops for the purge approval.
 */
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  type SFNClient,
} from '@aws-sdk/client-sfn';

/** The failback function's answer, as far as a progress line needs it. */
interface FailbackAnswerView {
  status: string;
  currentPhase?: string;
  completedPhases?: string[];
}

export interface ExecutionView {
  executionArn: string;
  /** Step Functions' status: RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED (PENDING_REDRIVE). */
  status: string;
  startDate?: Date;
  stopDate?: Date;
  /** The state entered last, while it runs. */
  currentState?: string;
  error?: string;
  cause?: string;
  /** The failback function's latest answer in the history. */
  lastAnswer?: unknown;
}

/** How much history one look reads: the newest events, enough to hold the last answer of a long wait loop. */
const HISTORY_PAGE = 200;

export async function readExecution(
  sfn: Pick<SFNClient, 'send'>,
  executionArn: string,
): Promise<ExecutionView> {
  const [execution, history] = await Promise.all([
    sfn.send(new DescribeExecutionCommand({ executionArn })),
    sfn.send(
      new GetExecutionHistoryCommand({
        executionArn,
        reverseOrder: true,
        maxResults: HISTORY_PAGE,
        includeExecutionData: true,
      }),
    ),
  ]);
  const events = history.events ?? [];
  const status = execution.status ?? 'UNKNOWN';
  const currentState = events.find((e) => e.stateEnteredEventDetails?.name)?.stateEnteredEventDetails?.name;
  const lastAnswer = events.map(lambdaAnswer).find((answer) => answer !== undefined);
  return {
    executionArn,
    status,
    ...(execution.startDate ? { startDate: execution.startDate } : {}),
    ...(execution.stopDate ? { stopDate: execution.stopDate } : {}),
    ...(status === 'RUNNING' && currentState ? { currentState } : {}),
    ...(execution.error ? { error: execution.error } : {}),
    ...(execution.cause ? { cause: execution.cause } : {}),
    ...(lastAnswer === undefined ? {} : { lastAnswer }),
  };
}

/** The Lambda task's answer (`{ Payload }`), or undefined for any other event or an output that is not JSON. */
function lambdaAnswer(e: HistoryEvent): unknown {
  if (e.type !== 'TaskSucceeded' || e.taskSucceededEventDetails?.resourceType !== 'lambda') return undefined;
  try {
    return (JSON.parse(e.taskSucceededEventDetails.output ?? '{}') as { Payload?: unknown }).Payload;
  } catch {
    return undefined;
  }
}

/** How a followed execution ended for the CLI; each has its own exit code (bin/exit-code.ts). */
export type FollowOutcome =
  | { outcome: 'succeeded'; execution: ExecutionView }
  | { outcome: 'waiting-for-approval'; execution: ExecutionView; asked: unknown }
  | { outcome: 'failed'; execution: ExecutionView };

export interface FollowDeps {
  read(executionArn: string): Promise<ExecutionView>;
  /** The purge approval the state machine waits for, if one waits (the table's item). */
  pendingApproval(): Promise<{ executionArn: string; answer: string } | undefined>;
  sleep(ms: number): Promise<void>;
  /** One progress line for the operator. */
  say(line: string): void;
}

/**
 * Follow one execution until it ends, or until it waits for the purge approval, which only a person gives: the
 * CLI returns then rather than hold a terminal for days (the approval waits up to `approvalTimeout`). A progress
 * line is printed whenever the state or the function's answer changes, not on every look.
 */
export async function followFailback(
  executionArn: string,
  deps: FollowDeps,
  options: { pollMs: number },
): Promise<FollowOutcome> {
  let last = '';
  for (;;) {
    const execution = await deps.read(executionArn);
    const line = progressLine(execution);
    if (line !== last) deps.say(line);
    last = line;
    if (execution.status === 'SUCCEEDED') return { outcome: 'succeeded', execution };
    if (execution.status !== 'RUNNING') return { outcome: 'failed', execution };
    const pending = await deps.pendingApproval();
    if (pending?.executionArn === executionArn) {
      return { outcome: 'waiting-for-approval', execution, asked: parseOrText(pending.answer) };
    }
    await deps.sleep(options.pollMs);
  }
}

function progressLine(execution: ExecutionView): string {
  const answer = answerView(execution.lastAnswer);
  const where = execution.currentState ? ` in ${execution.currentState}` : '';
  const failed = execution.error
    ? `: ${execution.error}${execution.cause ? ` (${execution.cause})` : ''}`
    : '';
  const phase = answer
    ? `; failback ${answer.status}${answer.currentPhase ? ` at ${answer.currentPhase}` : ''} (done: ${
        (answer.completedPhases ?? []).join(', ') || 'none'
      })`
    : '';
  return `failback execution ${execution.status}${where}${failed}${phase}`;
}

function answerView(answer: unknown): FailbackAnswerView | undefined {
  if (typeof answer !== 'object' || answer === null || !('status' in answer)) return undefined;
  const a = answer as Record<string, unknown>;
  return {
    status: String(a.status),
    ...(typeof a.currentPhase === 'string' ? { currentPhase: a.currentPhase } : {}),
    ...(Array.isArray(a.completedPhases) ? { completedPhases: a.completedPhases.map(String) } : {}),
  };
}

function parseOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
