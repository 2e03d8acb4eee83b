import {
  CreateTableCommand,
  type DynamoDBClient,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { mapAwsError } from '../errors.ts';

/**
 * The table of the lock and the journal, as the CDK stack defines it: partition key `pk` (S), sort key `sk` (S),
 * on-demand, TTL on `expiresAt`. For the drill and the tests, which run against moto and have no stack; an
 * existing table is left as it is.
 */
export async function ensureFailoverTable(ddb: DynamoDBClient, table: string): Promise<'created' | 'exists'> {
  try {
    await ddb.send(
      new CreateTableCommand({
        TableName: table,
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  } catch (e: unknown) {
    if ((e as { name?: string }).name === 'ResourceInUseException') return 'exists';
    throw mapAwsError(e, `DynamoDB table ${table}`);
  }
  await waitUntilTableExists({ client: ddb, maxWaitTime: 60 }, { TableName: table });
  await ddb.send(
    new UpdateTimeToLiveCommand({
      TableName: table,
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    }),
  );
  return 'created';
}
