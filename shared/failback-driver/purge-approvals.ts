import { randomUUID } from 'node:crypto';
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import * as z from 'zod';
import { parseJsonOrThrow, parseOrThrow } from '../config/validate.ts';
import { mapAwsError } from '../errors.ts';
import type { PurgeApproval } from './states.ts';

/**
 * Where a driven failback waits for the operator to approve the purge: one item in the deployment's lock and
 * journal table, `{ pk: 'approval#<deployment>', sk: 'failback-purge' }`. The state machine's
 * `AwaitPurgeApproval` state writes it with its task token (and waits); `mm2-failover failback approve` reads it
 * and sends the token back with SendTaskSuccess. In the table, not in a log or a notification: a task token
 * lets whoever holds it resume the execution, and the table is readable only with the operator's credentials
 * (the functions' roles read it too; no application role can).
 *
 * The in-process driver (`--local`) waits on the same item: it writes a token of its own, and `approve --local`
 * writes the approval into the item, which the driver reads back.
 */
export const purgeApprovalAttributes = {
  taskToken: 'taskToken',
  executionArn: 'executionArn',
  /** The failback answer that asked for the approval, as JSON. */
  answer: 'answer',
  requestedAt: 'requestedAt',
  /** Only in-process: the approval `approve --local` wrote, as JSON. */
  approval: 'approval',
} as const;

export function purgeApprovalKey(deployment: string): { pk: string; sk: string } {
  return { pk: `approval#${deployment}`, sk: 'failback-purge' };
}

const pendingSchema = z.object({
  taskToken: z.string().min(1),
  executionArn: z.string().min(1),
  answer: z.string(),
  requestedAt: z.string(),
  approval: z.string().optional(),
});

/** A purge waiting for approval, as the item holds it. */
export type PendingPurgeApproval = z.output<typeof pendingSchema>;

const approvalSchema = z.object({ approvedBy: z.string().min(1), reason: z.string().min(1) });

export class PurgeApprovals {
  readonly #ddb: Pick<DynamoDBClient, 'send'>;
  readonly #table: string;
  readonly #key: Record<string, AttributeValue>;
  readonly #subject: string;

  constructor(ddb: Pick<DynamoDBClient, 'send'>, options: { table: string; deployment: string }) {
    this.#ddb = ddb;
    this.#table = options.table;
    const key = purgeApprovalKey(options.deployment);
    this.#key = { pk: { S: key.pk }, sk: { S: key.sk } };
    this.#subject = `purge approval item ${key.pk} in table ${options.table}`;
  }

  /** The purge waiting for approval, or undefined when nothing waits. */
  async pending(): Promise<PendingPurgeApproval | undefined> {
    const out = await this.#call(() =>
      this.#ddb.send(new GetItemCommand({ TableName: this.#table, Key: this.#key, ConsistentRead: true })),
    );
    if (!out.Item) return undefined;
    const flat = Object.fromEntries(Object.entries(out.Item).map(([k, v]) => [k, v.S]));
    return parseOrThrow(pendingSchema, flat, this.#subject);
  }

  /** What the in-process driver writes when it stops for the purge (the state machine writes the same). */
  async #put(pending: Omit<PendingPurgeApproval, 'approval'>): Promise<void> {
    const a = purgeApprovalAttributes;
    await this.#call(() =>
      this.#ddb.send(
        new PutItemCommand({
          TableName: this.#table,
          Item: {
            ...this.#key,
            [a.taskToken]: { S: pending.taskToken },
            [a.executionArn]: { S: pending.executionArn },
            [a.answer]: { S: pending.answer },
            [a.requestedAt]: { S: pending.requestedAt },
          },
        }),
      ),
    );
  }

  /**
   * The in-process driver's `AwaitPurgeApproval`: write the item with a token of its own, then read it every
   * `pollMs` until `approve --local` has recorded an approval for that token; the item is removed then.
   */
  async waitInPlace(
    answer: unknown,
    wait: { pollMs: number; sleep(ms: number): Promise<void>; now(): number },
  ): Promise<PurgeApproval> {
    const taskToken = `local-${randomUUID()}`;
    await this.#put({
      taskToken,
      executionArn: 'local',
      answer: JSON.stringify(answer),
      requestedAt: new Date(wait.now()).toISOString(),
    });
    for (;;) {
      const approval = await this.approvalOf(taskToken);
      if (approval) {
        await this.remove(taskToken);
        return approval;
      }
      await wait.sleep(wait.pollMs);
    }
  }

  /** `approve --local`: record the approval for the token that is waiting. False when that token waits no more. */
  async approveInPlace(taskToken: string, approval: PurgeApproval): Promise<boolean> {
    return this.#conditional(
      new UpdateItemCommand({
        TableName: this.#table,
        Key: this.#key,
        UpdateExpression: 'SET #approval = :approval',
        ConditionExpression: '#token = :token',
        ExpressionAttributeNames: {
          '#approval': purgeApprovalAttributes.approval,
          '#token': purgeApprovalAttributes.taskToken,
        },
        ExpressionAttributeValues: {
          ':approval': { S: JSON.stringify(approval) },
          ':token': { S: taskToken },
        },
      }),
    );
  }

  /** The approval recorded in place for this token, once there is one. */
  async approvalOf(taskToken: string): Promise<PurgeApproval | undefined> {
    const pending = await this.pending();
    if (pending?.taskToken !== taskToken || pending.approval === undefined) return undefined;
    return parseJsonOrThrow(approvalSchema, pending.approval, `${this.#subject}: approval`);
  }

  /** Remove the item once its token has been answered; a newer token's item stays. */
  async remove(taskToken: string): Promise<void> {
    await this.#conditional(
      new DeleteItemCommand({
        TableName: this.#table,
        Key: this.#key,
        ConditionExpression: '#token = :token',
        ExpressionAttributeNames: { '#token': purgeApprovalAttributes.taskToken },
        ExpressionAttributeValues: { ':token': { S: taskToken } },
      }),
    );
  }

  async #conditional(command: UpdateItemCommand | DeleteItemCommand): Promise<boolean> {
    try {
      await this.#ddb.send(command);
      return true;
    } catch (e: unknown) {
      if (e instanceof ConditionalCheckFailedException) return false;
      throw mapAwsError(e, this.#subject);
    }
  }

  async #call<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (e: unknown) {
      throw mapAwsError(e, this.#subject);
    }
  }
}
