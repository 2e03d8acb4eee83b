import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  type TransactWriteItem,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { parseJsonOrThrow } from '../config/validate.ts';
import { mapAwsError } from '../errors.ts';
import { cancelledConditions, DynamoLock } from '../store/dynamo-lock.ts';
import type { SecretVersions } from '../store/stores.ts';
import {
  type AuthorityRecord,
  authorityRecordSchema,
  type Claim,
  type ClaimRequest,
  type EpochAuthority,
  EpochClaimLostError,
} from './epoch-authority.ts';

/**
 * {@link EpochAuthority} as one item in the lock and journal table: `{ pk: 'authority#<deployment>', sk: 'epoch',
 * epoch, holder, record }` where `record` is the JSON of {@link AuthorityRecord} and `epoch` / `holder` repeat its
 * fields so conditions can compare them. Every write is a transaction with the lock's lease renewal, so a writer
 * whose lease was taken over can neither claim nor pass a check. No TTL: the item is the deployment's state.
 */
export class DynamoEpochAuthority implements EpochAuthority {
  readonly #ddb: Pick<DynamoDBClient, 'send'>;
  readonly #table: string;
  readonly #lock: DynamoLock;
  readonly #key: { pk: AttributeValue; sk: AttributeValue };
  readonly #name: string;

  constructor(
    ddb: Pick<DynamoDBClient, 'send'>,
    options: { table: string; deployment: string; lock: DynamoLock },
  ) {
    this.#ddb = ddb;
    this.#table = options.table;
    this.#lock = options.lock;
    this.#name = `authority#${options.deployment}`;
    this.#key = { pk: { S: this.#name }, sk: { S: 'epoch' } };
  }

  async read(): Promise<AuthorityRecord | undefined> {
    let item: Record<string, AttributeValue> | undefined;
    try {
      const out = await this.#ddb.send(
        new GetItemCommand({ TableName: this.#table, Key: this.#key, ConsistentRead: true }),
      );
      item = out.Item;
    } catch (e: unknown) {
      throw mapAwsError(e, `epoch authority ${this.#name} in table ${this.#table}`);
    }
    const text = item?.record?.S;
    if (text === undefined) return undefined;
    return parseJsonOrThrow(authorityRecordSchema, text, `epoch authority ${this.#name}`);
  }

  async claim(request: ClaimRequest): Promise<Claim> {
    const record: AuthorityRecord = authorityRecordSchema.parse({
      epoch: request.epoch,
      cluster: request.config.cluster,
      writer: request.writer,
      holder: request.holder,
      claimedAt: new Date(this.#now()).toISOString(),
      state: 'claimed',
      config: request.config,
      credentials: request.credentials,
    });
    if (record.config.epoch !== record.epoch) {
      throw new Error(
        `claim of epoch ${record.epoch} carries a configuration of epoch ${record.config.epoch}`,
      );
    }
    const condition =
      request.expected === undefined
        ? { ConditionExpression: 'attribute_not_exists(pk)' }
        : {
            ConditionExpression: 'epoch = :expected',
            ExpressionAttributeValues: { ':expected': { N: String(request.expected) } },
          };
    return this.#write(request.holder, 'claim', request.expected, record, {
      Put: { TableName: this.#table, Item: this.#item(record), ...condition },
    });
  }

  async takeOver(current: AuthorityRecord, holder: string): Promise<Claim> {
    const record: AuthorityRecord = { ...current, holder, state: 'claimed' };
    delete record.writtenAt;
    return this.#write(holder, 'take over', current.epoch, record, {
      Put: {
        TableName: this.#table,
        Item: this.#item(record),
        ConditionExpression: 'epoch = :epoch',
        ExpressionAttributeValues: { ':epoch': { N: String(current.epoch) } },
      },
    });
  }

  async check(claim: Claim): Promise<Claim> {
    const { epoch, holder } = claim.record;
    return this.#write(holder, 'check', epoch, claim.record, {
      ConditionCheck: {
        TableName: this.#table,
        Key: this.#key,
        ConditionExpression: 'epoch = :epoch AND holder = :holder',
        ExpressionAttributeValues: { ':epoch': { N: String(epoch) }, ':holder': { S: holder } },
      },
    });
  }

  async restamp(claim: Claim, switchedAt: string): Promise<Claim> {
    const record: AuthorityRecord = { ...claim.record, config: { ...claim.record.config, switchedAt } };
    return this.#guardedPut(record, 'restamp');
  }

  async complete(claim: Claim, writtenAt: string): Promise<Claim> {
    return this.#guardedPut({ ...claim.record, state: 'written', writtenAt }, 'complete');
  }

  /** Rewrite the record if its epoch and holder are still the claim's. */
  #guardedPut(record: AuthorityRecord, what: string): Promise<Claim> {
    const { epoch, holder } = record;
    return this.#write(holder, what, epoch, record, {
      Put: {
        TableName: this.#table,
        Item: this.#item(record),
        ConditionExpression: 'epoch = :epoch AND holder = :holder',
        ExpressionAttributeValues: { ':epoch': { N: String(epoch) }, ':holder': { S: holder } },
      },
    });
  }

  #item(record: AuthorityRecord): Record<string, AttributeValue> {
    return {
      ...this.#key,
      epoch: { N: String(record.epoch) },
      holder: { S: record.holder },
      record: { S: JSON.stringify(record) },
    };
  }

  /** One transaction: the lease renewal, then the authority item; a failed condition says which one. */
  async #write(
    holder: string,
    what: string,
    expected: number | undefined,
    record: AuthorityRecord,
    item: TransactWriteItem,
  ): Promise<Claim> {
    const renewal = this.#lock.renewal(holder);
    const leaseUntil = this.#now() + this.#lock.leaseMs;
    try {
      await this.#ddb.send(new TransactWriteItemsCommand({ TransactItems: [renewal, item] }));
    } catch (e: unknown) {
      const failed = cancelledConditions(e);
      if (failed?.[0]) throw this.#lock.lost(holder);
      if (failed?.[1]) {
        const found = await this.read().catch(() => undefined);
        throw new EpochClaimLostError(`epoch authority ${what}`, expected, found?.epoch);
      }
      throw mapAwsError(e, `epoch authority ${this.#name} in table ${this.#table}`);
    }
    return { record, leaseUntil };
  }

  #now(): number {
    return this.#lock.now();
  }
}

/**
 * The lock and the epoch authority of a deployment in its table, with Secrets Manager versions: what a writer of the
 * active configuration outside the functions (`mm2-failover init`, the drill's provisioning) claims its epoch with.
 */
export function dynamoFencing(
  ddb: Pick<DynamoDBClient, 'send'>,
  options: { table: string; deployment: string; versions: SecretVersions },
): { lock: DynamoLock; authority: DynamoEpochAuthority; versions: SecretVersions } {
  const lock = new DynamoLock(ddb, { table: options.table, deployment: options.deployment });
  return {
    lock,
    authority: new DynamoEpochAuthority(ddb, { table: options.table, deployment: options.deployment, lock }),
    versions: options.versions,
  };
}
