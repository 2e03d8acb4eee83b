import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { FunctionName } from './cold-start.ts';
import { type ErrorAnswer, errorAnswers } from './error-answers.ts';
import { parsedEvent } from './parsed-event.ts';

/**
 * The one handler convention of functions/*, written once here:
 *
 * - Cold start (module scope, once per container): `coldStart(fn, <fn>Environment)` reads the deployment config,
 *   the function's variables through its zod schema (failing the cold start naming the variable) and builds the
 *   Powertools logger (service name from `POWERTOOLS_SERVICE_NAME`, keys `deployment` and `fn`). Then the AWS and
 *   Kafka clients are created once and handed to the function's `<fn>Dependencies(...)` wiring from shared/.
 * - Input: the raw event goes through `parse` (a zod schema at the edge) in a middleware before the body runs, so
 *   the body sees only validated input. A function without input (status) gives no `parse`: its event is ignored.
 * - Errors that are answers are answered, in the same shapes by every function (see {@link errorAnswers}):
 *   `{ status: 'invalid', subject, problems: [{ path, message }] }` for bad input and
 *   `{ status: 'refused', reasons: [{ code, message }], warnings? }` for a refusal. Anything else is logged in one
 *   line and rethrown: the invocation fails, and Lambda retries an asynchronous one.
 * - A held lock means another failover or failback is running. An operator's (synchronous) invocation is answered
 *   `refused` with code `lock-held`: the operator reads who holds it and invokes again later. An asynchronous
 *   invocation that nobody waits for - the failover that the alarm's EventBridge rule starts - must not be
 *   answered: nobody would read the answer and the switch would never happen. Its error is rethrown
 *   (`retryWhenLockHeld`), so Lambda retries the event minutes later, when the retry finds the lock free and the
 *   secondary already active or the switch still needed.
 */
export interface HandlerSpec<E> {
  fn: FunctionName;
  logger: Logger;
  /** Parses the raw event into the function's input; omitted: the function takes no input. */
  parse?: (raw: unknown) => E;
  /** See {@link ErrorAnswerOptions}: which events a held lock is rethrown for. */
  retryWhenLockHeld?: (event: E) => boolean;
}

/** What Lambda calls: the raw event in, the body's result or an error answer out. */
export type LambdaEntry<R> = (event: unknown, context: Context) => Promise<R | ErrorAnswer>;

export function lambdaHandler<E, R>(
  spec: HandlerSpec<E>,
  body: (event: E, context: Context) => Promise<R>,
): LambdaEntry<R> {
  const handler = middy<E, R | ErrorAnswer>()
    .use(injectLambdaContext(spec.logger))
    .use(
      errorAnswers<E, R>(
        spec.fn,
        spec.logger,
        spec.retryWhenLockHeld ? { retryWhenLockHeld: spec.retryWhenLockHeld } : {},
      ),
    );
  if (spec.parse) handler.use(parsedEvent(spec.parse));
  // The raw event is parsed before the body sees it: callers hand in whatever Lambda would.
  return handler.handler(body) as unknown as LambdaEntry<R>;
}
