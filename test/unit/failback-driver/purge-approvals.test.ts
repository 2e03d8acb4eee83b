import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { PurgeApprovals, purgeApprovalKey } from '#shared/failback-driver/purge-approvals.ts';

type Item = Record<string, { S?: string }>;

/** One DynamoDB item slot, with the conditions PurgeApprovals sends (the token must match). */
function fakeTable() {
  let item: Item | undefined;
  const condition = (values: Record<string, { S?: string }> | undefined) => {
    if (item?.taskToken?.S !== values?.[':token']?.S) {
      throw new ConditionalCheckFailedException({ message: 'condition failed', $metadata: {} });
    }
  };
  const ddb = {
    send: async (command: unknown) => {
      if (command instanceof PutItemCommand) item = command.input.Item as Item;
      else if (command instanceof GetItemCommand) return { Item: item };
      else if (command instanceof UpdateItemCommand) {
        condition(command.input.ExpressionAttributeValues);
        item = {
          ...(item as Item),
          approval: command.input.ExpressionAttributeValues?.[':approval'] as { S: string },
        };
      } else if (command instanceof DeleteItemCommand) {
        condition(command.input.ExpressionAttributeValues);
        item = undefined;
      }
      return {};
    },
  };
  return { ddb, item: () => item };
}

describe('PurgeApprovals', () => {
  it('keeps the item under the deployment key the state machine writes', () => {
    expect(purgeApprovalKey('orders-dr')).toEqual({ pk: 'approval#orders-dr', sk: 'failback-purge' });
  });

  it('in-process: waits until `approve --local` records an approval for its token, then removes the item', async () => {
    const table = fakeTable();
    const approvals = new PurgeApprovals(table.ddb as never, { table: 't', deployment: 'orders-dr' });
    let polls = 0;
    const sleep = async () => {
      polls++;
      if (polls === 2) {
        const pending = await approvals.pending();
        expect(pending?.answer).toBe('{"status":"waiting"}');
        expect(
          await approvals.approveInPlace('someone-elses-token', { approvedBy: 'x', reason: 'stale' }),
        ).toBe(false);
        expect(
          await approvals.approveInPlace(pending?.taskToken ?? '', { approvedBy: 'bob', reason: 'checked' }),
        ).toBe(true);
      }
    };

    const approval = await approvals.waitInPlace({ status: 'waiting' }, { pollMs: 10, sleep, now: () => 0 });

    expect(approval).toEqual({ approvedBy: 'bob', reason: 'checked' });
    expect(polls).toBe(2);
    expect(table.item()).toBeUndefined();
  });

  it('answers that nothing waits when there is no item', async () => {
    const approvals = new PurgeApprovals(fakeTable().ddb as never, { table: 't', deployment: 'orders-dr' });

    expect(await approvals.pending()).toBeUndefined();
  });

  it('leaves a newer token in place when an older one is removed', async () => {
    const table = fakeTable();
    await table.ddb.send(
      new PutItemCommand({
        TableName: 't',
        Item: {
          pk: { S: 'approval#orders-dr' },
          sk: { S: 'failback-purge' },
          taskToken: { S: 'new' },
          executionArn: { S: 'arn' },
          answer: { S: '{}' },
          requestedAt: { S: '2026-12-03T00:00:00Z' },
        },
      }),
    );
    const approvals = new PurgeApprovals(table.ddb as never, { table: 't', deployment: 'orders-dr' });

    await approvals.remove('old');

    expect((await approvals.pending())?.taskToken).toBe('new');
  });
});
