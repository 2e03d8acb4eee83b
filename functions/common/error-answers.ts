import type { MiddlewareObj } from '@middy/core';
import {
  describeError,
  type InvalidAnswer,
  LockHeldError,
  type RefusedAnswer,
  RefusedError,
  ValidationError,
} from '#shared/errors.ts';

/** What a function answers instead of failing. */
export type ErrorAnswer = InvalidAnswer | RefusedAnswer;

interface AnswerLog {
  warn(message: string, ...extra: Array<Record<string, unknown>>): void;
  error(message: string, ...extra: Array<Record<string, unknown>>): void;
}

export interface ErrorAnswerOptions<E> {
  /**
   * True when a held lock must be rethrown for this (parsed) event, so that Lambda retries the asynchronous
   * invocation; otherwise it is answered `refused` with code `lock-held`. Default: answered.
   */
  retryWhenLockHeld?: (event: E) => boolean;
}

/** The refusal a held lock becomes: who holds it, and what to do. */
function lockHeldAnswer(e: LockHeldError): RefusedAnswer {
  return {
    status: 'refused',
    reasons: [
      {
        code: 'lock-held',
        message: `another failover or failback is running (${e.holder}); invoke again once it has finished`,
      },
    ],
  };
}

/**
 * Errors that are answers, not failures, become answers: a {@link ValidationError} `{ status: 'invalid', subject,
 * problems }`, a {@link RefusedError} `{ status: 'refused', reasons, warnings? }` (every reason with its code), a
 * held lock `refused` with code `lock-held` unless `retryWhenLockHeld` says to rethrow it. Anything else is logged
 * in one line (its description, never the object, which could hold a secret) and rethrown.
 */
export function errorAnswers<E, R>(
  fn: string,
  logger: AnswerLog,
  options: ErrorAnswerOptions<E> = {},
): MiddlewareObj<E, R | ErrorAnswer> {
  return {
    name: 'errorAnswers',
    onError: (request) => {
      const e: unknown = request.error;
      if (e instanceof ValidationError) {
        logger.warn(`${fn} input invalid`, { subject: e.subject, problems: e.problems });
        request.response = { status: 'invalid', subject: e.subject, problems: e.problems };
        return;
      }
      if (e instanceof RefusedError) {
        logger.warn(`${fn} refused`, { codes: e.reasons.map((r) => r.code) });
        request.response = {
          status: 'refused',
          reasons: e.reasons,
          ...(e.warnings.length > 0 ? { warnings: e.warnings } : {}),
        };
        return;
      }
      if (e instanceof LockHeldError) {
        if (options.retryWhenLockHeld?.(request.event)) {
          logger.warn(`${fn} lock held; the asynchronous invocation will be retried`, { holder: e.holder });
          return;
        }
        logger.warn(`${fn} refused`, { codes: ['lock-held'], holder: e.holder });
        request.response = lockHeldAnswer(e);
        return;
      }
      logger.error(`${fn} failed`, { error: describeError(e) });
    },
  };
}
