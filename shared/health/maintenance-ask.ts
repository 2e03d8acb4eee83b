import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { mapAwsError } from '../errors.ts';
import type { MaintenanceAsk } from './active-watch.ts';

/**
 * The probe asks the failover function for a maintenance write with an asynchronous invocation (`Event`): the
 * probe does not wait for the repair, and Lambda retries the request if the function finds the lock held.
 */
export function askFailoverFunction(
  lambda: Pick<LambdaClient, 'send'>,
  functionName: string,
): MaintenanceAsk {
  return async ({ action, reason }) => {
    try {
      await lambda.send(
        new InvokeCommand({
          FunctionName: functionName,
          InvocationType: 'Event',
          Payload: new TextEncoder().encode(JSON.stringify({ action, reason, requestedBy: 'probe' })),
        }),
      );
    } catch (e: unknown) {
      throw mapAwsError(e, `function ${functionName}`);
    }
  };
}
