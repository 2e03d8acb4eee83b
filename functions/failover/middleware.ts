import type { MiddlewareObj } from '@middy/core';
import { describeError, LockHeldError, ValidationError, type ValidationProblem } from '#shared/errors.ts';

/** What an invocation refused for bad input returns: every problem by path, nothing read or written. */
export interface InvalidInputResponse {
  status: 'invalid';
  subject: string;
  problems: ValidationProblem[];
}

/**
 * Replace the raw event with its parsed form before the handler runs (like Powertools' parser middleware), so
 * the handler only ever sees validated input; `parse` throws a ValidationError listing every problem.
 */
export function parsedEvent<T>(parse: (raw: unknown) => T): MiddlewareObj<T> {
  return {
    name: 'parsedEvent',
    before: (request) => {
      request.event = parse(request.event as unknown);
    },
  };
}

interface Log {
  warn(message: string, ...extra: Array<Record<string, unknown>>): void;
  error(message: string, ...extra: Array<Record<string, unknown>>): void;
}

/**
 * Invalid input is an answer, not a failure: it is returned (an asynchronous invocation is not retried for
 * it). A held lock and every other error are rethrown, so Lambda retries an asynchronous invocation; their
 * messages hold no secrets, and only a one-line description is logged, never the error object.
 */
export function failoverErrors<T, R>(logger: Log): MiddlewareObj<T, R | InvalidInputResponse> {
  return {
    name: 'failoverErrors',
    onError: (request) => {
      const e: unknown = request.error;
      if (e instanceof ValidationError) {
        logger.warn('failover input refused', { subject: e.subject, problems: e.problems });
        request.response = { status: 'invalid', subject: e.subject, problems: e.problems };
        return;
      }
      if (e instanceof LockHeldError) {
        logger.warn('failover lock held; an asynchronous invocation will be retried', { holder: e.holder });
        return;
      }
      logger.error('failover failed', { error: describeError(e) });
    },
  };
}
