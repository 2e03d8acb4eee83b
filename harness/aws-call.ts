import type { IncomingHttpHeaders } from 'node:http';
import type { AwsCall, AwsFaultService } from './aws-fault.ts';

/** The JSON protocols name the operation in `X-Amz-Target: <prefix>.<Operation>`. */
const TARGET_PREFIXES: Readonly<Record<string, AwsFaultService>> = {
  AmazonSSM: 'ssm',
  secretsmanager: 'secretsmanager',
  DynamoDB_20120810: 'dynamodb',
};

/**
 * Which service and operation an SDK v3 request is: the JSON protocols (SSM, Secrets Manager, DynamoDB) by
 * their `X-Amz-Target`, SNS's query protocol by `Action=` in the form body (or the query string) and `sns`
 * in the signature's credential scope. Anything else is `other`, named by its target or method and path.
 */
export function identifyAwsCall(
  method: string,
  url: string,
  headers: IncomingHttpHeaders,
  body: Buffer,
): AwsCall {
  const target = headerValue(headers['x-amz-target']);
  if (target !== undefined) {
    const dot = target.indexOf('.');
    const prefix = dot < 0 ? target : target.slice(0, dot);
    const operation = dot < 0 ? target : target.slice(dot + 1);
    return { service: TARGET_PREFIXES[prefix] ?? 'other', operation };
  }
  const query = new URL(url, 'http://proxy').searchParams;
  const contentType = headerValue(headers['content-type']) ?? '';
  const form = contentType.startsWith('application/x-www-form-urlencoded')
    ? new URLSearchParams(body.toString('utf8'))
    : undefined;
  const action = form?.get('Action') ?? query.get('Action');
  if (action !== null) {
    return { service: signingService(headers) === 'sns' ? 'sns' : 'other', operation: action };
  }
  return { service: 'other', operation: `${method} ${url.split('?')[0] ?? url}` };
}

/** The service in a SigV4 `Authorization` header's scope: `Credential=AKID/20250101/us-east-1/sns/aws4_request`. */
function signingService(headers: IncomingHttpHeaders): string | undefined {
  const scope = /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(headers.authorization ?? '');
  return scope?.[1];
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
