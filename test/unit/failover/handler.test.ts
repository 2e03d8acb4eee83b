import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { writeConfigFile } from '../../fakes/config-file.ts';
import { testConfig } from './fakes.ts';
import { alarmEvent, malformedPayloads } from './payloads.ts';

const ssm = mockClient(SSMClient);
const sm = mockClient(SecretsManagerClient);
const ddb = mockClient(DynamoDBClient);
const sns = mockClient(SNSClient);
const context = { awsRequestId: 'req-1', functionName: 'failover' } as Context;

type Handler = (event: unknown, context: Context) => Promise<unknown>;
let handler: Handler;

beforeAll(async () => {
  vi.stubEnv('MM2_FAILOVER_CONFIG_FILE', writeConfigFile(testConfig()));
  vi.stubEnv('MM2_FAILOVER_TABLE', 'mm2-failover');
  vi.stubEnv('MM2_FAILOVER_TOPIC_ARN', 'arn:aws:sns:eu-west-1:123456789012:mm2-failover');
  vi.stubEnv('AWS_REGION', 'eu-west-1');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  ({ handler } = (await import('#functions/failover/handler.ts')) as { handler: Handler });
});
afterAll(() => {
  vi.unstubAllEnvs();
});
beforeEach(() => {
  ssm.reset();
  sm.reset();
  ddb.reset();
  sns.reset();
});

describe('failover handler', () => {
  it.each(malformedPayloads)(
    'answers $name with every problem by path and makes no AWS call',
    async ({ payload, paths }) => {
      const response = (await handler(payload, context)) as {
        status: string;
        problems: Array<{ path: string }>;
      };

      expect(response.status).toBe('invalid');
      expect(response.problems.map((p) => p.path).sort()).toEqual([...paths].sort());
      expect(ssm.calls()).toHaveLength(0);
      expect(sm.calls()).toHaveLength(0);
      expect(ddb.calls()).toHaveLength(0);
      expect(sns.calls()).toHaveLength(0);
    },
  );

  it('rethrows a held lock for an alarm-triggered failover so that Lambda retries the asynchronous invocation', async () => {
    ssm.on(GetParameterCommand).resolves({});
    ddb
      .on(PutItemCommand)
      .rejects(Object.assign(new Error('held'), { name: 'ConditionalCheckFailedException' }));
    ddb.on(GetItemCommand).resolves({ Item: { holder: { S: 'req-0' }, purpose: { S: 'failover' } } });

    await expect(handler(alarmEvent, context)).rejects.toThrow('lock lock#orders-dr is held by req-0');
  });

  it('answers a held lock for a manual failover with status refused, code lock-held and the holder', async () => {
    ssm.on(GetParameterCommand).resolves({});
    ddb
      .on(PutItemCommand)
      .rejects(Object.assign(new Error('held'), { name: 'ConditionalCheckFailedException' }));
    ddb.on(GetItemCommand).resolves({ Item: { holder: { S: 'req-0' }, purpose: { S: 'failover' } } });

    const response = await handler(
      { action: 'failover', reason: 'primary region down', requestedBy: 'alice' },
      context,
    );

    expect(response).toEqual({
      status: 'refused',
      reasons: [{ code: 'lock-held', message: expect.stringContaining('req-0') }],
    });
  });
});
