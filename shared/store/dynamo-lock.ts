import {
  type AttributeValue,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import { type Clock, systemClock } from '../clock.ts';
import { LockHeldError, Mm2FailoverError, mapAwsError } from '../errors.ts';

/**
 * A lock with a lease, one per deployment, in the DynamoDB table the stack creates (partition key `pk`, sort key
 * `sk`, TTL attribute `expiresAt`). Failover and failback take the same lock, so they never switch at once.
 *
 * Item: `{ pk: 'lock#<deployment>', sk: 'lock', holder, purpose, acquiredAt, leaseUntil, expiresAt }`.
 * `leaseUntil` (epoch ms) is what the conditions compare: DynamoDB TTL deletes late (hours), so it only tidies.
 * A holder that died stops blocking when its lease runs out; a holder that comes back with the same id (a
 * Lambda async retry keeps its request id) takes its own lock again at once.
 */

export interface Lease {
  holder: string;
  leaseUntil: number;
  /** The previous holder whose lease had run out, when this acquisition took the lock over. */
  tookOverFrom?: string;
}

/** What logic needs from a lock. */
export interface DeploymentLock {
  /** Take the lock or throw {@link LockHeldError} naming the holder. */
  acquire(holder: string, purpose: string): Promise<Lease>;
  /** Give it back; a no-op when someone else holds it by now. */
  release(holder: string): Promise<void>;
}

export interface DynamoLockOptions {
  table: string;
  deployment: string;
  /**
   * How long a holder may go silent before others may take over. Journal writes renew it, and a failover
   * writes one every few seconds at most (confirmation probes are the longest gap: under 30 s by the config's
   * limits), so two minutes leaves room while a dead holder blocks nobody for long.
   */
  leaseMs?: number;
  /** How long a lock item stays after its lease, for the record, before TTL removes it. */
  retainSeconds?: number;
  clock?: Pick<Clock, 'now'>;
}

export class DynamoLock implements DeploymentLock {
  readonly #ddb: Pick<DynamoDBClient, 'send'>;
  readonly table: string;
  readonly key: { pk: AttributeValue; sk: AttributeValue };
  readonly leaseMs: number;
  readonly #retainSeconds: number;
  readonly #clock: Pick<Clock, 'now'>;
  readonly #name: string;

  constructor(ddb: Pick<DynamoDBClient, 'send'>, options: DynamoLockOptions) {
    this.#ddb = ddb;
    this.table = options.table;
    this.key = { pk: { S: `lock#${options.deployment}` }, sk: { S: 'lock' } };
    this.leaseMs = options.leaseMs ?? 120_000;
    this.#retainSeconds = options.retainSeconds ?? 86_400;
    this.#clock = options.clock ?? systemClock;
    this.#name = `lock#${options.deployment}`;
  }

  async acquire(holder: string, purpose: string): Promise<Lease> {
    // Two attempts: the holder seen on a failed condition may have released between our two calls.
    for (let attempt = 0; attempt < 2; attempt++) {
      const now = this.#clock.now();
      const leaseUntil = now + this.leaseMs;
      try {
        const out = await this.#ddb.send(
          new PutItemCommand({
            TableName: this.table,
            Item: {
              ...this.key,
              holder: { S: holder },
              purpose: { S: purpose },
              acquiredAt: { S: new Date(now).toISOString() },
              leaseUntil: { N: String(leaseUntil) },
              expiresAt: { N: String(this.#ttl(leaseUntil)) },
            },
            ConditionExpression: 'attribute_not_exists(pk) OR leaseUntil < :now OR holder = :holder',
            ExpressionAttributeValues: { ':now': { N: String(now) }, ':holder': { S: holder } },
            ReturnValues: 'ALL_OLD',
          }),
        );
        const previous = out.Attributes?.holder?.S;
        return previous !== undefined && previous !== holder
          ? { holder, leaseUntil, tookOverFrom: previous }
          : { holder, leaseUntil };
      } catch (e: unknown) {
        if (!isConditionFailure(e)) throw mapAwsError(e, `lock item ${this.#name} in table ${this.table}`);
      }
      const current = await this.#read();
      if (current) throw new LockHeldError(this.#name, describeHolder(current, this.#clock.now()));
    }
    throw new LockHeldError(this.#name, 'another invocation (it changed hands while we looked)');
  }

  /** The lock's clock: leases are compared in its time. */
  now(): number {
    return this.#clock.now();
  }

  async release(holder: string): Promise<void> {
    try {
      await this.#ddb.send(
        new DeleteItemCommand({
          TableName: this.table,
          Key: this.key,
          ConditionExpression: 'holder = :holder',
          ExpressionAttributeValues: { ':holder': { S: holder } },
        }),
      );
    } catch (e: unknown) {
      // Someone took the lock over after our lease ran out: it is theirs now, not ours to delete.
      if (isConditionFailure(e)) return;
      throw mapAwsError(e, `lock item ${this.#name} in table ${this.table}`);
    }
  }

  /**
   * A transaction item that renews `holder`'s lease and fails the whole transaction when `holder` no longer
   * holds the lock. Journal writes include it, so a holder that lost its lease can record nothing more.
   */
  renewal(holder: string): TransactWriteItem {
    const leaseUntil = this.#clock.now() + this.leaseMs;
    return {
      Update: {
        TableName: this.table,
        Key: this.key,
        UpdateExpression: 'SET leaseUntil = :lease, expiresAt = :ttl',
        ConditionExpression: 'holder = :holder',
        ExpressionAttributeValues: {
          ':lease': { N: String(leaseUntil) },
          ':ttl': { N: String(this.#ttl(leaseUntil)) },
          ':holder': { S: holder },
        },
      },
    };
  }

  /** The error to throw when a transaction's {@link renewal} failed. */
  lost(holder: string): LockHeldError {
    return new LockHeldError(
      this.#name,
      `someone other than ${holder} (our lease ran out and was taken over)`,
    );
  }

  async #read(): Promise<Record<string, AttributeValue> | undefined> {
    try {
      const out = await this.#ddb.send(
        new GetItemCommand({ TableName: this.table, Key: this.key, ConsistentRead: true }),
      );
      return out.Item;
    } catch (e: unknown) {
      throw mapAwsError(e, `lock item ${this.#name} in table ${this.table}`);
    }
  }

  #ttl(leaseUntil: number): number {
    return Math.ceil(leaseUntil / 1000) + this.#retainSeconds;
  }
}

function describeHolder(item: Record<string, AttributeValue>, now: number): string {
  const holder = item.holder?.S ?? 'an unknown holder';
  const purpose = item.purpose?.S ?? 'unknown purpose';
  const leaseUntil = Number(item.leaseUntil?.N ?? Number.NaN);
  const left = Number.isFinite(leaseUntil) ? `, lease ends in ${Math.max(0, leaseUntil - now)} ms` : '';
  return `${holder} (${purpose}${left})`;
}

/** A failed condition, on a single write or inside a transaction. */
function isConditionFailure(e: unknown): boolean {
  const name = (e as { name?: string } | undefined)?.name;
  return name === 'ConditionalCheckFailedException';
}

/** Which items of a cancelled transaction failed their condition (by index), or undefined if not a cancellation. */
export function cancelledConditions(e: unknown): boolean[] | undefined {
  const err = e as { name?: string; CancellationReasons?: Array<{ Code?: string }> } | undefined;
  if (err?.name !== 'TransactionCanceledException') return undefined;
  const reasons = err.CancellationReasons;
  if (!reasons) {
    // Some emulators omit the reasons; the message still names them ("[ConditionalCheckFailed, None]").
    const text = (e as Error).message ?? '';
    const list = /\[([^\]]*)\]/.exec(text)?.[1];
    if (!list) throw new Mm2FailoverError('transaction cancelled for an unknown reason', { cause: e });
    return list.split(',').map((s) => s.trim() === 'ConditionalCheckFailed');
  }
  return reasons.map((r) => r.Code === 'ConditionalCheckFailed');
}
