import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { mapAwsError } from '../errors.ts';
import type { AskForFailover } from './failover-trigger.ts';

/**
 * The probe's direct trigger reaches the failover function as the alarm's EventBridge rule does: an asynchronous
 * invocation (`Event`). The probe goes on probing; if the function finds the lock held (the alarm's invocation got
 * there first), Lambda retries the request, and the retry finds the secondary active and stops.
 */
export function triggerFailoverFunction(
  lambda: Pick<LambdaClient, 'send'>,
  functionName: string,
): AskForFailover {
  return async (request) => {
    try {
      await lambda.send(
        new InvokeCommand({
          FunctionName: functionName,
          InvocationType: 'Event',
          Payload: new TextEncoder().encode(JSON.stringify(request)),
        }),
      );
    } catch (e: unknown) {
      throw mapAwsError(e, `function ${functionName}`);
    }
  };
}
