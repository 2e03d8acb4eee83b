import { LambdaClient, ListEventSourceMappingsCommand } from '@aws-sdk/client-lambda';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, describe, expect, it } from 'vitest';
import { awsClientConfig } from '#harness/aws-clients.ts';
import { uniqueName } from '#harness/unique-name.ts';
import { parseDeploymentConfig } from '#shared/config/load.ts';
import { deploymentPaths } from '#shared/config/paths.ts';
import { topicMapping } from '#shared/config/topic-mapping.ts';
import type { Claim } from '#shared/switch/epoch-authority.ts';
import {
  type MappingMove,
  moveEventSourceMappings,
  secretArnOf,
} from '#shared/switch/event-source-mappings.ts';
import { harness } from './shared-harness.ts';

/**
 * How far moto goes with the mapping step. moto 5.2's Lambda lists mappings and resolves secrets, but creates
 * mappings only for SQS, DynamoDB streams and Kinesis: a self-managed Kafka mapping is refused with
 * `Missing EventSourceArn`. So here the step runs its real AWS calls up to that refusal, which it must record
 * as the mapping's outcome (the switch goes on) rather than throw. Creating, enabling and disabling are covered
 * with the SDK mock (test/unit/switch/event-source-mappings.test.ts). If this test fails because moto started
 * to accept the mapping, extend it to check the created mapping.
 */
describe('event source mapping step against moto', () => {
  const aws = awsClientConfig(harness().info);
  const lambda = new LambdaClient(aws);
  const secrets = new SecretsManagerClient(aws);

  afterAll(() => {
    lambda.destroy();
    secrets.destroy();
  });

  it('lists, resolves the active secret, and records the refused create as the mapping outcome', async () => {
    const name = uniqueName('esm').toLowerCase().slice(0, 40);
    const config = parseDeploymentConfig({
      name,
      mode: 'active-passive',
      replicationPolicy: 'default',
      clusters: {
        primary: { alias: 'primary', auth: 'sasl-scram' },
        secondary: { alias: 'secondary', auth: 'sasl-scram' },
      },
      topics: ['orders'],
      consumerGroups: ['billing'],
      mirror: { kind: 'manual' },
      eventSourceMappings: [{ functionName: `${name}-billing`, consumerGroup: 'billing', topic: 'orders' }],
    });
    const paths = deploymentPaths(name);
    await secrets.send(
      new CreateSecretCommand({
        Name: paths.activeCredentialsSecret,
        SecretString: JSON.stringify({ epoch: 1, cluster: 'secondary', username: 'u', password: 'p' }),
      }),
    );
    const moves: MappingMove[] = [];
    let checks = 0;

    const out = await moveEventSourceMappings(
      {
        claim: { record: { epoch: 1 }, leaseUntil: 0 } as unknown as Claim,
        target: {
          cluster: 'secondary',
          bootstrapServers: ['127.0.0.1:29092'],
          topics: topicMapping(config, 'secondary'),
        },
        done: () => false,
        onMoved: async (_key, move) => {
          moves.push(move);
        },
      },
      { config, activeCredentialsSecret: paths.activeCredentialsSecret },
      {
        lambda,
        secretArn: secretArnOf(secrets),
        authority: {
          check: async (c) => {
            checks += 1;
            return c;
          },
        },
        logger: { info: () => undefined, warn: () => undefined },
      },
    );

    expect(out).toEqual([
      {
        functionName: `${name}-billing`,
        consumerGroup: 'billing',
        cluster: 'secondary',
        topic: 'primary.orders',
        ok: false,
        target: 'not-moved',
        disabled: [],
        error: 'InvalidParameterValueException: Missing EventSourceArn',
      },
    ]);
    expect(moves).toEqual(out);
    // The claim was checked before the create was sent: moto refused the create, not the step before it.
    expect(checks).toBe(1);
    const listed = await lambda.send(new ListEventSourceMappingsCommand({ FunctionName: `${name}-billing` }));
    expect(listed.EventSourceMappings).toEqual([]);
  });
});
