import {
  type AttributeValue,
  type DynamoDBClient,
  QueryCommand,
  type TransactWriteItem,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { type Clock, systemClock } from '../clock.ts';
import { Mm2FailoverError, mapAwsError } from '../errors.ts';
import { cancelledConditions, type DynamoLock } from './dynamo-lock.ts';

/**
 * A journal of multi-step operations (a failover, a failback), one item per run, so that a crash after any
 * step is completed by the next invocation and no step that changed the world is done twice.
 *
 * Item: `{ pk: 'journal#<deployment>', sk: '<kind>#<runId>', kind, runId, status, plan, steps, startedAt,
 * startedBy, updatedAt, completedAt?, outcome?, expiresAt }` where `plan` and every `steps.<name>` are JSON
 * strings (never a secret: callers store redacted plans) and `status` is `in-progress` | `completed` |
 * `abandoned`. Run ids sort as strings (the failover uses the target epoch, zero-padded), so the newest run
 * is one descending query away.
 *
 * Every write is a transaction that also renews the caller's lease on the {@link DynamoLock}: a holder that lost
 * the lock can record nothing, and `begin` is conditional on the run not existing, so a run starts once.
 */

type JournalStatus = 'in-progress' | 'completed' | 'abandoned';

export interface JournalEntry {
  kind: string;
  runId: string;
  status: JournalStatus;
  /** The plan as stored (parsed JSON); callers validate it with their own schema. */
  plan: unknown;
  /** Completed steps and what each recorded, in completion order. */
  steps: Array<{ name: string; result: unknown }>;
  startedAt: string;
  startedBy: string;
  updatedAt: string;
  completedAt?: string;
  outcome?: unknown;
}

/** What logic needs from a journal. `holder` is the lock holder making the write. */
export interface RunJournal {
  /** The newest run of this kind, if any. */
  latest(): Promise<JournalEntry | undefined>;
  /** Start a run; fails if the run id exists (someone already started it). */
  begin(runId: string, plan: unknown, holder: string): Promise<void>;
  /** Record a completed step with its result. */
  recordStep(runId: string, step: string, result: unknown, holder: string): Promise<void>;
  /** Close a run. */
  finish(runId: string, status: 'completed' | 'abandoned', outcome: unknown, holder: string): Promise<void>;
}

export interface DynamoJournalOptions {
  table: string;
  deployment: string;
  /** `failover`, `failback`: the sort key prefix. */
  kind: string;
  lock: DynamoLock;
  /** TTL of a run's item after it was last written. A year: the journal is the audit trail of switches. */
  retainSeconds?: number;
  clock?: Pick<Clock, 'now'>;
}

export class DynamoJournal implements RunJournal {
  readonly #ddb: Pick<DynamoDBClient, 'send'>;
  readonly #table: string;
  readonly #pk: string;
  readonly #kind: string;
  readonly #lock: DynamoLock;
  readonly #retainSeconds: number;
  readonly #clock: Pick<Clock, 'now'>;

  constructor(ddb: Pick<DynamoDBClient, 'send'>, options: DynamoJournalOptions) {
    this.#ddb = ddb;
    this.#table = options.table;
    this.#pk = `journal#${options.deployment}`;
    this.#kind = options.kind;
    this.#lock = options.lock;
    this.#retainSeconds = options.retainSeconds ?? 366 * 86_400;
    this.#clock = options.clock ?? systemClock;
  }

  async latest(): Promise<JournalEntry | undefined> {
    let items: Record<string, AttributeValue>[] | undefined;
    try {
      const out = await this.#ddb.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': { S: this.#pk }, ':prefix': { S: `${this.#kind}#` } },
          ScanIndexForward: false,
          Limit: 1,
          ConsistentRead: true,
        }),
      );
      items = out.Items;
    } catch (e: unknown) {
      throw mapAwsError(e, `journal ${this.#pk} in table ${this.#table}`);
    }
    const item = items?.[0];
    return item ? this.#decode(item) : undefined;
  }

  async begin(runId: string, plan: unknown, holder: string): Promise<void> {
    const now = new Date(this.#clock.now()).toISOString();
    await this.#transact(holder, runId, 'begin', {
      Put: {
        TableName: this.#table,
        Item: {
          pk: { S: this.#pk },
          sk: { S: this.#sk(runId) },
          kind: { S: this.#kind },
          runId: { S: runId },
          status: { S: 'in-progress' },
          plan: { S: JSON.stringify(plan) },
          steps: { M: {} },
          stepOrder: { L: [] },
          startedAt: { S: now },
          startedBy: { S: holder },
          updatedAt: { S: now },
          expiresAt: { N: String(this.#ttl()) },
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    });
  }

  async recordStep(runId: string, step: string, result: unknown, holder: string): Promise<void> {
    await this.#transact(holder, runId, `step ${step}`, {
      Update: {
        TableName: this.#table,
        Key: { pk: { S: this.#pk }, sk: { S: this.#sk(runId) } },
        UpdateExpression:
          'SET steps.#step = :result, stepOrder = list_append(stepOrder, :names), updatedAt = :now, expiresAt = :ttl',
        ConditionExpression: '#status = :inProgress',
        ExpressionAttributeNames: { '#step': step, '#status': 'status' },
        ExpressionAttributeValues: {
          ':result': { S: JSON.stringify(result ?? null) },
          ':names': { L: [{ S: step }] },
          ':now': { S: new Date(this.#clock.now()).toISOString() },
          ':ttl': { N: String(this.#ttl()) },
          ':inProgress': { S: 'in-progress' },
        },
      },
    });
  }

  async finish(
    runId: string,
    status: 'completed' | 'abandoned',
    outcome: unknown,
    holder: string,
  ): Promise<void> {
    const now = new Date(this.#clock.now()).toISOString();
    await this.#transact(holder, runId, status, {
      Update: {
        TableName: this.#table,
        Key: { pk: { S: this.#pk }, sk: { S: this.#sk(runId) } },
        UpdateExpression:
          'SET #status = :status, outcome = :outcome, completedAt = :now, updatedAt = :now, expiresAt = :ttl',
        ConditionExpression: '#status = :inProgress',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':status': { S: status },
          ':outcome': { S: JSON.stringify(outcome ?? null) },
          ':now': { S: now },
          ':ttl': { N: String(this.#ttl()) },
          ':inProgress': { S: 'in-progress' },
        },
      },
    });
  }

  async #transact(holder: string, runId: string, what: string, item: TransactWriteItem): Promise<void> {
    try {
      await this.#ddb.send(
        new TransactWriteItemsCommand({ TransactItems: [this.#lock.renewal(holder), item] }),
      );
    } catch (e: unknown) {
      const failed = cancelledConditions(e);
      if (failed?.[0]) throw this.#lock.lost(holder);
      if (failed?.[1]) {
        throw new Mm2FailoverError(
          what === 'begin'
            ? `${this.#kind} run ${runId} was already started by another invocation`
            : `${this.#kind} run ${runId} is no longer in progress (cannot record ${what})`,
          { cause: e },
        );
      }
      throw mapAwsError(e, `journal ${this.#pk} in table ${this.#table}`);
    }
  }

  #decode(item: Record<string, AttributeValue>): JournalEntry {
    const s = (name: string): string | undefined => item[name]?.S;
    const required = (name: string): string => {
      const v = s(name);
      if (v === undefined) throw new Mm2FailoverError(`journal item ${s('sk') ?? '?'} lacks '${name}'`);
      return v;
    };
    const status = required('status');
    if (status !== 'in-progress' && status !== 'completed' && status !== 'abandoned') {
      throw new Mm2FailoverError(
        `journal item ${required('sk')}: expected status in-progress, completed or abandoned, got '${status}'`,
      );
    }
    const stepMap = item.steps?.M ?? {};
    const order = (item.stepOrder?.L ?? []).map((v) => v.S).filter((v): v is string => v !== undefined);
    const steps = order
      .filter((name, i) => order.indexOf(name) === i && stepMap[name]?.S !== undefined)
      .map((name) => ({ name, result: parseJson(stepMap[name]?.S ?? 'null', `step ${name}`) }));
    const entry: JournalEntry = {
      kind: required('kind'),
      runId: required('runId'),
      status,
      plan: parseJson(required('plan'), 'plan'),
      steps,
      startedAt: required('startedAt'),
      startedBy: required('startedBy'),
      updatedAt: required('updatedAt'),
    };
    const completedAt = s('completedAt');
    if (completedAt !== undefined) entry.completedAt = completedAt;
    const outcome = s('outcome');
    if (outcome !== undefined) entry.outcome = parseJson(outcome, 'outcome');
    return entry;
  }

  #sk(runId: string): string {
    return `${this.#kind}#${runId}`;
  }

  #ttl(): number {
    return Math.ceil(this.#clock.now() / 1000) + this.#retainSeconds;
  }
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e: unknown) {
    throw new Mm2FailoverError(`journal ${what} is not JSON`, { cause: e });
  }
}
