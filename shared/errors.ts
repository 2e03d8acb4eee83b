/**
 * The product's error hierarchy. Every error has a stable `name`, chains its `cause`, and says whether a retry
 * could help. Messages say what was expected and what was found, and never contain a secret.
 */
export class Mm2FailoverError extends Error {
  readonly retriable: boolean;
  constructor(message: string, options: { cause?: unknown; retriable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'Mm2FailoverError';
    this.retriable = options.retriable ?? false;
  }
}

/** One problem found while validating input: where (a dotted path) and what. */
export interface ValidationProblem {
  path: string;
  message: string;
}

/** Input from outside (a payload, the config file, a parameter read back) did not pass its schema. */
export class ValidationError extends Mm2FailoverError {
  readonly problems: ValidationProblem[];
  readonly subject: string;
  constructor(subject: string, problems: ValidationProblem[]) {
    super(
      `invalid ${subject}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n${problems
        .map((p) => `  - ${p.path || '(root)'}: ${p.message}`)
        .join('\n')}`,
    );
    this.name = 'ValidationError';
    this.subject = subject;
    this.problems = problems;
  }
}

/** A parameter or secret that the contract says must exist does not. */
export class MissingConfigurationError extends Mm2FailoverError {
  readonly resource: string;
  constructor(resource: string, options: { cause?: unknown } = {}) {
    super(`missing ${resource}`, { ...options, retriable: false });
    this.name = 'MissingConfigurationError';
    this.resource = resource;
  }
}

/** The store denied access (IAM). */
export class AccessDeniedError extends Mm2FailoverError {
  constructor(resource: string, options: { cause?: unknown } = {}) {
    super(`access denied to ${resource}`, { ...options, retriable: false });
    this.name = 'AccessDeniedError';
  }
}

/** A Kafka operation failed; `reason` is machine-readable (connect-refused, timeout, auth-failed, ...). */
export class KafkaOperationError extends Mm2FailoverError {
  readonly reason: string;
  constructor(reason: string, message: string, options: { cause?: unknown; retriable?: boolean } = {}) {
    super(message, { retriable: true, ...options });
    this.name = 'KafkaOperationError';
    this.reason = reason;
  }
}

/**
 * One reason for a refusal: `code` is machine-readable and stable (`lock-held`, `phase-out-of-order`, ...), so a
 * script can branch on it; `message` says what was expected and what was found, for a person.
 */
export interface Reason {
  code: string;
  message: string;
}

/** An operation was refused by a safety rule; nothing was changed. Every reason carries a code. */
export class RefusedError extends Mm2FailoverError {
  readonly reasons: Reason[];
  /** What did not stop the operation but is worth knowing. */
  readonly warnings: Reason[];
  constructor(what: string, reasons: Reason[], options: { warnings?: Reason[] } = {}) {
    super(`${what} refused: ${reasons.map((r) => r.message).join('; ')}`);
    this.name = 'RefusedError';
    this.reasons = reasons;
    this.warnings = options.warnings ?? [];
  }
}

/**
 * What a function answers when it refuses: every reason with its code, nothing read from the clusters after the
 * refusal, nothing written. Failover and failback answer in this one shape (failover adds its preflight report).
 */
export interface RefusedAnswer {
  status: 'refused';
  reasons: Reason[];
  warnings?: Reason[];
}

/** What a function answers for input that did not pass its schema: every problem by path. */
export interface InvalidAnswer {
  status: 'invalid';
  subject: string;
  problems: ValidationProblem[];
}

/** Another invocation holds the lock. */
export class LockHeldError extends Mm2FailoverError {
  readonly holder: string;
  constructor(lock: string, holder: string) {
    super(`lock ${lock} is held by ${holder}`, { retriable: true });
    this.name = 'LockHeldError';
    this.holder = holder;
  }
}

/**
 * The active parameter and secret kept disagreeing on the epoch for longer than the reader's deadline: a switch
 * is in flight, or one stopped half-way (secret written, parameter not). The reader never returns a mixed pair.
 */
export class TornReadError extends Mm2FailoverError {
  readonly parameterEpoch: number;
  readonly secretEpoch: number;
  constructor(resource: string, parameterEpoch: number, secretEpoch: number, waitedMs: number) {
    super(
      `${resource} still torn after ${waitedMs} ms: expected the parameter's epoch (${parameterEpoch}) to equal ` +
        `the secret's (${secretEpoch}); a switch is in flight or stopped half-way`,
      { retriable: true },
    );
    this.name = 'TornReadError';
    this.parameterEpoch = parameterEpoch;
    this.secretEpoch = secretEpoch;
  }
}

/** The active configuration's epoch went down. Epochs only grow, so the lower one is stale and is not followed. */
export class EpochRegressionError extends Mm2FailoverError {
  constructor(resource: string, currentEpoch: number, foundEpoch: number) {
    super(
      `${resource}: expected an epoch of at least ${currentEpoch}, found ${foundEpoch}; keeping epoch ${currentEpoch} ` +
        '(epochs only grow: was the parameter rewritten by hand?)',
    );
    this.name = 'EpochRegressionError';
  }
}

/**
 * A record handed to a following producer could not be acknowledged by any active cluster before its deadline,
 * or the producer was closed first. The caller still owns the record: nothing was dropped silently.
 */
export class SendFailedError extends Mm2FailoverError {
  readonly reason: 'timeout' | 'closed' | 'unknown-topic' | 'rejected';
  readonly attempts: number;
  constructor(
    reason: SendFailedError['reason'],
    message: string,
    options: { cause?: unknown; attempts: number; retriable?: boolean },
  ) {
    super(message, { cause: options.cause, retriable: options.retriable ?? reason === 'timeout' });
    this.name = 'SendFailedError';
    this.reason = reason;
    this.attempts = options.attempts;
  }
}

/** Map an AWS SDK error to the product's errors without copying its message blindly (it may echo input). */
export function mapAwsError(e: unknown, resource: string): Error {
  const name = (e as { name?: string } | undefined)?.name ?? 'Error';
  if (name === 'AccessDeniedException' || name === 'AccessDenied' || name === 'UnauthorizedException') {
    return new AccessDeniedError(resource, { cause: e });
  }
  const throttled =
    name === 'ThrottlingException' || name === 'TooManyUpdates' || name === 'ThrottledException';
  // A network failure (an unreachable region or endpoint) is a plain Error; its system code says what happened.
  const code = (e as { code?: unknown } | undefined)?.code;
  const why = typeof code === 'string' && code !== name ? `${name} (${code})` : name;
  return new Mm2FailoverError(`AWS call on ${resource} failed: ${why}`, { cause: e, retriable: throttled });
}

/** Describe any thrown value in one line without ever printing an object (which could hold a secret). */
export function describeError(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return typeof e === 'string' ? e : 'unknown error';
}

/** An MM2 internal record (heartbeat, checkpoint, offset sync) does not have the shape Kafka writes. */
export class Mm2RecordError extends Mm2FailoverError {
  /** Which record and part: `checkpoint value`, `offset-sync key`, ... */
  readonly record: string;
  constructor(record: string, message: string, options: { cause?: unknown } = {}) {
    super(`malformed MM2 ${record}: ${message}`, { ...options, retriable: false });
    this.name = 'Mm2RecordError';
    this.record = record;
  }
}

/**
 * A Kafka offset that the product cannot hold exactly: past `Number.MAX_SAFE_INTEGER` (2^53 - 1), or not an
 * integer at all. Offsets are int64 on the wire and plain numbers in the product (see kafka/offset.ts).
 */
export class OffsetRangeError extends Mm2FailoverError {
  constructor(what: string, found: string) {
    super(
      `${what}: expected an integer offset of at most ${Number.MAX_SAFE_INTEGER} (2^53 - 1), found ${found}`,
      { retriable: false },
    );
    this.name = 'OffsetRangeError';
  }
}

/** A call to the system running MirrorMaker 2 (Kafka Connect REST, Aiven's API) failed or was refused. */
export class MirrorControlError extends Mm2FailoverError {
  /** The HTTP status, when there was an answer. */
  readonly status: number | undefined;
  constructor(message: string, options: { status?: number; retriable?: boolean; cause?: unknown } = {}) {
    super(message, {
      cause: options.cause,
      retriable:
        options.retriable ??
        (options.status === undefined || options.status >= 500 || options.status === 409),
    });
    this.name = 'MirrorControlError';
    this.status = options.status;
  }
}
