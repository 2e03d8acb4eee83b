import type { MiddlewareObj } from '@middy/core';
import { describeError, LockHeldError, RefusedError, ValidationError } from '#shared/errors.ts';

/** A refused invocation: every problem listed, nothing read from the clusters, nothing written. */
export interface RefusedResponse {
  status: 'refused';
  reasons: string[];
}

interface Log {
  warn(message: string, ...extra: Array<Record<string, unknown>>): void;
  error(message: string, ...extra: Array<Record<string, unknown>>): void;
}

/**
 * Refusals are answers, not failures: an invalid payload (every problem by path), a phase out of order, an
 * unsupported deployment and a held lock come back as `{ status: 'refused', reasons }`. Anything else is rethrown
 * (only its one-line description is logged, never the object), and the next invocation resumes from the journal.
 */
export function failbackErrors<T, R>(logger: Log): MiddlewareObj<T, R | RefusedResponse> {
  return {
    name: 'failbackErrors',
    onError: (request) => {
      const e: unknown = request.error;
      let reasons: string[] | undefined;
      if (e instanceof ValidationError)
        reasons = e.problems.map((p) => `${p.path || '(root)'}: ${p.message}`);
      else if (e instanceof RefusedError) reasons = e.reasons;
      else if (e instanceof LockHeldError) {
        reasons = [
          `another failover or failback is running (${e.holder}); invoke again once it has finished`,
        ];
      }
      if (reasons !== undefined) {
        logger.warn('failback refused', { reasons });
        request.response = { status: 'refused', reasons };
        return;
      }
      logger.error('failback failed', { error: describeError(e) });
    },
  };
}
