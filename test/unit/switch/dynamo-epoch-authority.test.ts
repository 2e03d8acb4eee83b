import {
  DynamoDBClient,
  GetItemCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { LockHeldError } from '#shared/errors.ts';
import { DynamoLock } from '#shared/store/dynamo-lock.ts';
import { DynamoEpochAuthority } from '#shared/switch/dynamo-epoch-authority.ts';
import { type ClaimRequest, EpochClaimLostError } from '#shared/switch/epoch-authority.ts';

const ddb = mockClient(DynamoDBClient);
const now = Date.parse('2026-11-21T12:00:00.000Z');
const clock = { now: () => now };
const cancelled = (codes: string[]) =>
  new TransactionCanceledException({
    message: `Transaction cancelled [${codes.join(', ')}]`,
    $metadata: {},
    CancellationReasons: codes.map((Code) => ({ Code })),
  });

function authority() {
  const client = new DynamoDBClient({});
  const lock = new DynamoLock(client, { table: 't', deployment: 'orders-dr', leaseMs: 60_000, clock });
  return new DynamoEpochAuthority(client, { table: 't', deployment: 'orders-dr', lock });
}

const request: ClaimRequest = {
  expected: 4,
  epoch: 5,
  writer: { kind: 'failover', runId: '0000000005' },
  holder: 'req-1',
  config: {
    epoch: 5,
    cluster: 'secondary',
    alias: 'secondary',
    bootstrapServers: ['b:9092'],
    securityProtocol: 'SSL',
    credentialsSecret: 'mm2-failover/orders-dr/active-credentials',
    topics: {},
    switchedAt: '2026-11-21T12:00:00.000Z',
    reason: 'test',
  },
  credentials: { active: { secret: 'mm2-failover/orders-dr/clusters/secondary', version: 'v-1' } },
};

describe('DynamoEpochAuthority', () => {
  beforeEach(() => ddb.reset());

  it('claims N+1 only from N, in one transaction with the lease renewal', async () => {
    ddb.on(TransactWriteItemsCommand).resolves({});

    const claim = await authority().claim(request);

    expect(claim.leaseUntil).toBe(now + 60_000);
    const items = ddb.commandCalls(TransactWriteItemsCommand)[0]?.args[0].input.TransactItems ?? [];
    expect(items[0]?.Update?.ConditionExpression).toBe('holder = :holder');
    expect(items[0]?.Update?.ExpressionAttributeValues?.[':holder']).toEqual({ S: 'req-1' });
    expect(items[1]?.Put?.ConditionExpression).toBe('epoch = :expected');
    expect(items[1]?.Put?.ExpressionAttributeValues).toEqual({ ':expected': { N: '4' } });
    expect(items[1]?.Put?.Item).toMatchObject({
      pk: { S: 'authority#orders-dr' },
      sk: { S: 'epoch' },
      epoch: { N: '5' },
      holder: { S: 'req-1' },
    });
    expect(JSON.parse(items[1]?.Put?.Item?.record?.S ?? '{}')).toMatchObject({ state: 'claimed', epoch: 5 });
  });

  it('claims the first epoch only when no record exists', async () => {
    ddb.on(TransactWriteItemsCommand).resolves({});

    await authority().claim({ ...request, expected: undefined });

    const items = ddb.commandCalls(TransactWriteItemsCommand)[0]?.args[0].input.TransactItems ?? [];
    expect(items[1]?.Put?.ConditionExpression).toBe('attribute_not_exists(pk)');
  });

  it('says the lease was lost when the renewal fails, and the epoch moved when the claim fails', async () => {
    ddb.on(TransactWriteItemsCommand).rejectsOnce(cancelled(['ConditionalCheckFailed', 'None']));
    await expect(authority().claim(request)).rejects.toBeInstanceOf(LockHeldError);

    ddb.on(TransactWriteItemsCommand).rejects(cancelled(['None', 'ConditionalCheckFailed']));
    ddb.on(GetItemCommand).resolves({
      Item: { record: { S: JSON.stringify({ ...request, expected: undefined }) } },
    });
    const error = await authority()
      .claim(request)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EpochClaimLostError);
    expect((error as EpochClaimLostError).expected).toBe(4);
  });

  it('checks a claim by its epoch and holder', async () => {
    ddb.on(TransactWriteItemsCommand).resolves({});
    const a = authority();
    const claim = await a.claim(request);

    await a.check(claim);

    const items = ddb.commandCalls(TransactWriteItemsCommand)[1]?.args[0].input.TransactItems ?? [];
    expect(items[1]?.ConditionCheck?.ConditionExpression).toBe('epoch = :epoch AND holder = :holder');
    expect(items[1]?.ConditionCheck?.ExpressionAttributeValues).toEqual({
      ':epoch': { N: '5' },
      ':holder': { S: 'req-1' },
    });
  });

  it('refuses a record edited by hand into something that does not parse', async () => {
    ddb.on(GetItemCommand).resolves({ Item: { record: { S: '{"epoch": "five"}' } } });

    await expect(authority().read()).rejects.toThrow(/invalid epoch authority authority#orders-dr/);
  });
});
