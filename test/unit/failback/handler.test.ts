import {
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { writeConfigFile } from '../../fakes/config-file.ts';
import { testConfig } from '../failover/fakes.ts';

const ssm = mockClient(SSMClient);
const sm = mockClient(SecretsManagerClient);
const ddb = mockClient(DynamoDBClient);
const sns = mockClient(SNSClient);
const context = {
  awsRequestId: 'req-1',
  functionName: 'failback',
  getRemainingTimeInMillis: () => 900_000,
} as unknown as Context;
const request = { action: 'failback', reason: 'primary repaired', requestedBy: 'alice' };

type Handler = (event: unknown, context: Context) => Promise<unknown>;
let handler: Handler;

beforeAll(async () => {
  vi.stubEnv('MM2_FAILOVER_CONFIG_FILE', writeConfigFile(testConfig({ replicationPolicy: 'identity' })));
  vi.stubEnv('MM2_FAILOVER_TABLE', 'mm2-failover');
  vi.stubEnv('AWS_REGION', 'eu-west-1');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  ({ handler } = (await import('#functions/failback/handler.ts')) as { handler: Handler });
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

describe('failback handler', () => {
  it('answers an invalid payload with status invalid and every problem by path, and makes no AWS call', async () => {
    // Act
    const response = await handler(
      { action: 'failbak', phase: 'reboot', confirm: 'yes', requestedBy: '', extra: 1 },
      context,
    );

    // Assert
    expect(response).toMatchObject({ status: 'invalid', subject: 'failback request' });
    const problems = (response as { problems: Array<{ path: string; message: string }> }).problems;
    expect(problems.map((p) => p.path).sort()).toEqual(
      ['', 'action', 'confirm', 'phase', 'reason', 'requestedBy'].sort(),
    );
    expect([...ssm.calls(), ...sm.calls(), ...ddb.calls(), ...sns.calls()]).toHaveLength(0);
  });

  it('answers a held lock with status refused, code lock-held and the holder, and reads nothing else', async () => {
    // Arrange
    ddb
      .on(PutItemCommand)
      .rejects(Object.assign(new Error('held'), { name: 'ConditionalCheckFailedException' }));
    ddb.on(GetItemCommand).resolves({ Item: { holder: { S: 'req-0' }, purpose: { S: 'failover' } } });

    // Act
    const response = await handler(request, context);

    // Assert
    expect(response).toEqual({
      status: 'refused',
      reasons: [{ code: 'lock-held', message: expect.stringContaining('req-0') }],
    });
    expect(ddb.commandCalls(QueryCommand)).toHaveLength(0);
    expect(ssm.calls()).toHaveLength(0);
  });

  it('answers a refusal with status refused and a coded reason, in the same shape', async () => {
    // Arrange: the lock is free, no run in the journal, no active configuration at all.
    ddb.on(PutItemCommand).resolves({});
    ddb.on(QueryCommand).resolves({ Items: [] });
    ddb.on(DeleteItemCommand).resolves({});
    // No epoch ever claimed: the authority item is absent.
    ddb.on(GetItemCommand).resolves({});
    ssm.on(GetParameterCommand).rejects(Object.assign(new Error('none'), { name: 'ParameterNotFound' }));
    sm.on(GetSecretValueCommand).rejects(
      Object.assign(new Error('none'), { name: 'ResourceNotFoundException' }),
    );

    // Act
    const response = await handler(request, context);

    // Assert
    expect(response).toEqual({
      status: 'refused',
      reasons: [
        {
          code: 'no-active-configuration',
          message: 'no active configuration at /mm2-failover/orders-dr/active: nothing to fail back',
        },
      ],
    });
    expect(ddb.commandCalls(DeleteItemCommand)).toHaveLength(1);
  });

  it('rethrows anything else, so the invocation fails', async () => {
    // Arrange
    ddb.on(PutItemCommand).rejects(new Error('DynamoDB unreachable'));

    // Act
    const outcome = handler(request, context);

    // Assert
    await expect(outcome).rejects.toThrow(
      'AWS call on lock item lock#orders-dr in table mm2-failover failed',
    );
  });
});
