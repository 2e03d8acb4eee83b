import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { LockHeldError, Mm2FailoverError } from '#shared/errors.ts';
import { DynamoJournal } from '#shared/store/dynamo-journal.ts';
import { DynamoLock } from '#shared/store/dynamo-lock.ts';

const ddb = mockClient(DynamoDBClient);
const now = Date.parse('2026-11-21T12:00:00.000Z');
const clock = { now: () => now };
const conditionFailed = () =>
  new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
const cancelled = (codes: string[]) =>
  new TransactionCanceledException({
    message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${codes.join(', ')}]`,
    $metadata: {},
    CancellationReasons: codes.map((Code) => ({ Code })),
  });

function lock() {
  return new DynamoLock(new DynamoDBClient({}), {
    table: 't',
    deployment: 'orders-dr',
    leaseMs: 60_000,
    clock,
  });
}

describe('DynamoLock', () => {
  beforeEach(() => ddb.reset());

  it('takes the lock with a conditional put that allows a free, expired or own lock', async () => {
    ddb.on(PutItemCommand).resolves({});

    const lease = await lock().acquire('req-1', 'failover');

    expect(lease).toEqual({ holder: 'req-1', leaseUntil: now + 60_000 });
    const input = ddb.commandCalls(PutItemCommand)[0]?.args[0].input;
    expect(input?.ConditionExpression).toBe(
      'attribute_not_exists(pk) OR leaseUntil < :now OR holder = :holder',
    );
    expect(input?.ExpressionAttributeValues).toEqual({
      ':now': { N: String(now) },
      ':holder': { S: 'req-1' },
    });
    expect(input?.Item).toMatchObject({
      pk: { S: 'lock#orders-dr' },
      sk: { S: 'lock' },
      holder: { S: 'req-1' },
      purpose: { S: 'failover' },
      leaseUntil: { N: String(now + 60_000) },
      expiresAt: { N: String((now + 60_000) / 1000 + 86_400) },
    });
  });

  it('says whose expired lease it took over', async () => {
    ddb.on(PutItemCommand).resolves({ Attributes: { holder: { S: 'req-dead' } } });

    await expect(lock().acquire('req-1', 'failover')).resolves.toMatchObject({ tookOverFrom: 'req-dead' });
  });

  it('throws LockHeldError naming the holder and its remaining lease when the condition fails', async () => {
    ddb.on(PutItemCommand).rejects(conditionFailed());
    ddb.on(GetItemCommand).resolves({
      Item: { holder: { S: 'req-9' }, purpose: { S: 'failback' }, leaseUntil: { N: String(now + 5_000) } },
    });

    const err = await lock()
      .acquire('req-1', 'failover')
      .catch((e: unknown) => e);

    expect(err).toBeInstanceOf(LockHeldError);
    expect((err as LockHeldError).holder).toBe('req-9 (failback, lease ends in 5000 ms)');
    expect(ddb.commandCalls(GetItemCommand)[0]?.args[0].input.ConsistentRead).toBe(true);
  });

  it('tries again when the holder released between the failed put and the read', async () => {
    ddb.on(PutItemCommand).rejectsOnce(conditionFailed()).resolves({});
    ddb.on(GetItemCommand).resolves({});

    await expect(lock().acquire('req-1', 'failover')).resolves.toMatchObject({ holder: 'req-1' });
    expect(ddb.commandCalls(PutItemCommand)).toHaveLength(2);
  });

  it('releases only its own lock, and quietly when someone took it over', async () => {
    ddb.on(DeleteItemCommand).rejects(conditionFailed());

    await expect(lock().release('req-1')).resolves.toBeUndefined();
    expect(ddb.commandCalls(DeleteItemCommand)[0]?.args[0].input).toMatchObject({
      ConditionExpression: 'holder = :holder',
      ExpressionAttributeValues: { ':holder': { S: 'req-1' } },
    });
  });

  it('maps other AWS errors without swallowing them', async () => {
    ddb.on(PutItemCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));

    await expect(lock().acquire('req-1', 'failover')).rejects.toThrow(
      'access denied to lock item lock#orders-dr',
    );
  });
});

describe('DynamoJournal', () => {
  beforeEach(() => ddb.reset());
  const journal = () =>
    new DynamoJournal(new DynamoDBClient({}), {
      table: 't',
      deployment: 'orders-dr',
      kind: 'failover',
      lock: lock(),
      clock,
    });

  it('begins a run in one transaction with a lease renewal, only if the run does not exist', async () => {
    ddb.on(TransactWriteItemsCommand).resolves({});

    await journal().begin('0000000001', { next: { epoch: 1 } }, 'req-1');

    const items = ddb.commandCalls(TransactWriteItemsCommand)[0]?.args[0].input.TransactItems ?? [];
    expect(items[0]?.Update).toMatchObject({
      Key: { pk: { S: 'lock#orders-dr' }, sk: { S: 'lock' } },
      ConditionExpression: 'holder = :holder',
    });
    expect(items[1]?.Put).toMatchObject({
      ConditionExpression: 'attribute_not_exists(pk)',
      Item: {
        pk: { S: 'journal#orders-dr' },
        sk: { S: 'failover#0000000001' },
        status: { S: 'in-progress' },
        plan: { S: '{"next":{"epoch":1}}' },
        steps: { M: {} },
      },
    });
  });

  it('throws LockHeldError when the lease was lost, and refuses a second begin of the same run', async () => {
    ddb
      .on(TransactWriteItemsCommand)
      .rejectsOnce(cancelled(['ConditionalCheckFailed', 'None']))
      .rejectsOnce(cancelled(['None', 'ConditionalCheckFailed']));
    const j = journal();

    await expect(j.begin('0000000001', {}, 'req-1')).rejects.toBeInstanceOf(LockHeldError);
    await expect(j.begin('0000000001', {}, 'req-1')).rejects.toThrow(
      'failover run 0000000001 was already started',
    );
  });

  it('records a step with its JSON result while the run is in progress', async () => {
    ddb.on(TransactWriteItemsCommand).resolves({});

    await journal().recordStep('0000000001', 'secret', { at: 'x' }, 'req-1');

    const update = ddb.commandCalls(TransactWriteItemsCommand)[0]?.args[0].input.TransactItems?.[1]?.Update;
    expect(update?.ConditionExpression).toBe('#status = :inProgress');
    expect(update?.ExpressionAttributeNames).toMatchObject({ '#step': 'secret' });
    expect(update?.ExpressionAttributeValues?.[':result']).toEqual({ S: '{"at":"x"}' });
  });

  it('reads the newest run back with its steps in the order they completed', async () => {
    ddb.on(QueryCommand).resolves({
      Items: [
        {
          pk: { S: 'journal#orders-dr' },
          sk: { S: 'failover#0000000002' },
          kind: { S: 'failover' },
          runId: { S: '0000000002' },
          status: { S: 'in-progress' },
          plan: { S: '{"a":1}' },
          steps: { M: { secret: { S: '{"at":"2"}' }, offsets: { S: '{"at":"1"}' } } },
          stepOrder: { L: [{ S: 'offsets' }, { S: 'secret' }] },
          startedAt: { S: 's' },
          startedBy: { S: 'req-1' },
          updatedAt: { S: 'u' },
        },
      ],
    });

    const entry = await journal().latest();

    expect(entry).toEqual({
      kind: 'failover',
      runId: '0000000002',
      status: 'in-progress',
      plan: { a: 1 },
      steps: [
        { name: 'offsets', result: { at: '1' } },
        { name: 'secret', result: { at: '2' } },
      ],
      startedAt: 's',
      startedBy: 'req-1',
      updatedAt: 'u',
    });
    expect(ddb.commandCalls(QueryCommand)[0]?.args[0].input).toMatchObject({
      ScanIndexForward: false,
      Limit: 1,
      ConsistentRead: true,
    });
  });

  it('refuses a journal item with an unknown status rather than guessing', async () => {
    ddb.on(QueryCommand).resolves({
      Items: [
        {
          kind: { S: 'failover' },
          runId: { S: '1' },
          sk: { S: 'failover#1' },
          status: { S: 'paused' },
          plan: { S: '{}' },
          startedAt: { S: 's' },
          startedBy: { S: 'r' },
          updatedAt: { S: 'u' },
        },
      ],
    });

    await expect(journal().latest()).rejects.toBeInstanceOf(Mm2FailoverError);
  });
});
