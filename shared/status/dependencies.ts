import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import * as z from 'zod';
import { deploymentPaths } from '../config/paths.ts';
import type { DeploymentConfig } from '../config/schema.ts';
import { parseOrThrow } from '../config/validate.ts';
import type { StoreClients } from '../store/aws-stores.ts';
import { DynamoJournal } from '../store/dynamo-journal.ts';
import { DynamoLock } from '../store/dynamo-lock.ts';
import { SsmParameterStore } from '../store/ssm-parameter-store.ts';
import { DynamoEpochAuthority } from '../switch/dynamo-epoch-authority.ts';
import type { StatusDeps } from './status.ts';

/** Wire the status reader to AWS: it only reads (the lock is needed by the journal type, never taken here). */
export function statusDependencies(
  config: DeploymentConfig,
  table: string,
  clients: Pick<StoreClients, 'ssm'> & { dynamodb: Pick<DynamoDBClient, 'send'> },
): StatusDeps {
  const lock = new DynamoLock(clients.dynamodb, { table, deployment: config.name });
  const journal = (kind: string) =>
    new DynamoJournal(clients.dynamodb, { table, deployment: config.name, kind, lock });
  return {
    stores: { parameters: new SsmParameterStore(clients.ssm) },
    paths: deploymentPaths(config.name),
    authority: new DynamoEpochAuthority(clients.dynamodb, { table, deployment: config.name, lock }),
    failoverJournal: journal('failover'),
    failbackJournal: journal('failback'),
    plannedJournal: journal('planned'),
  };
}

const environmentSchema = z.object({
  MM2_FAILOVER_TABLE: z
    .string({ error: 'expected the DynamoDB table of the lock and journal, found nothing' })
    .min(1, 'expected the DynamoDB table of the lock and journal, found an empty string'),
});

/** The function's environment, read once at cold start; a missing variable fails naming it. */
export function statusEnvironment(env: NodeJS.ProcessEnv): { table: string } {
  return { table: parseOrThrow(environmentSchema, env, 'environment').MM2_FAILOVER_TABLE };
}
