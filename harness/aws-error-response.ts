import { randomUUID } from 'node:crypto';
import type { AwsCall } from './aws-fault.ts';

/** An HTTP answer, ready to write. */
export interface AwsErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export type AwsErrorKind = 'throttle' | 500 | 503;

/**
 * The error codes the services send, as the SDKs model them: the SDK names its exception after the code
 * and decides on retries by it (throttling codes back off longer) and by the status (5xx is transient).
 */
const CODES: Record<AwsCall['service'], Record<AwsErrorKind, string>> = {
  ssm: { throttle: 'ThrottlingException', 500: 'InternalServerError', 503: 'ServiceUnavailable' },
  secretsmanager: { throttle: 'ThrottlingException', 500: 'InternalServiceError', 503: 'ServiceUnavailable' },
  dynamodb: {
    throttle: 'ProvisionedThroughputExceededException',
    500: 'InternalServerError',
    503: 'ServiceUnavailable',
  },
  sns: { throttle: 'Throttling', 500: 'InternalError', 503: 'ServiceUnavailable' },
  other: { throttle: 'ThrottlingException', 500: 'InternalFailure', 503: 'ServiceUnavailable' },
};

const MESSAGES: Record<AwsErrorKind, string> = {
  throttle: 'Rate exceeded (injected by the harness AWS fault proxy)',
  500: 'We encountered an internal error. Please try again. (injected by the harness AWS fault proxy)',
  503: 'Service unavailable (injected by the harness AWS fault proxy)',
};

/**
 * The error AWS would answer `call` with: JSON (`__type`, `x-amzn-ErrorType`) for the JSON protocols, the
 * query protocol's `<ErrorResponse>` XML for SNS. Throttling is HTTP 400, as AWS sends it.
 */
export function awsErrorResponse(call: AwsCall, kind: AwsErrorKind): AwsErrorResponse {
  const status = kind === 'throttle' ? 400 : kind;
  const code = CODES[call.service][kind];
  const message = MESSAGES[kind];
  const requestId = randomUUID();
  if (call.service === 'sns') {
    const type = kind === 'throttle' ? 'Sender' : 'Receiver';
    return {
      status,
      headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
      body: [
        '<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">',
        `<Error><Type>${type}</Type><Code>${code}</Code><Message>${message}</Message></Error>`,
        `<RequestId>${requestId}</RequestId>`,
        '</ErrorResponse>',
      ].join(''),
    };
  }
  // DynamoDB speaks JSON 1.0 and qualifies its codes; the SDK strips the namespace either way.
  const dynamo = call.service === 'dynamodb';
  return {
    status,
    headers: {
      'content-type': dynamo ? 'application/x-amz-json-1.0' : 'application/x-amz-json-1.1',
      'x-amzn-errortype': code,
      'x-amzn-requestid': requestId,
    },
    body: JSON.stringify({
      __type: dynamo ? `com.amazonaws.dynamodb.v20120810#${code}` : code,
      message,
    }),
  };
}
