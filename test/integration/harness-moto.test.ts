import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, describe, expect, it } from 'vitest';
import { awsClientConfig } from '#harness/aws-clients.ts';
import { uniqueName } from '#harness/unique-name.ts';
import { harness } from './shared-harness.ts';

describe('harness moto server', () => {
  const config = awsClientConfig(harness().info);
  const ssm = new SSMClient(config);
  const secrets = new SecretsManagerClient(config);

  afterAll(() => {
    ssm.destroy();
    secrets.destroy();
  });

  it('keeps SSM parameter versions increasing across overwrites', async () => {
    // Arrange
    const name = `/mm2-failover/${uniqueName('test')}/active`;

    // Act
    const first = await ssm.send(
      new PutParameterCommand({ Name: name, Value: '{"epoch":1}', Type: 'String' }),
    );
    const second = await ssm.send(
      new PutParameterCommand({ Name: name, Value: '{"epoch":2}', Type: 'String', Overwrite: true }),
    );
    const read = await ssm.send(new GetParameterCommand({ Name: name }));

    // Assert
    expect(first.Version).toBe(1);
    expect(second.Version).toBe(2);
    expect(read.Parameter?.Value).toBe('{"epoch":2}');
    expect(read.Parameter?.Version).toBe(2);
  });

  it('moves AWSCURRENT to the value put last and AWSPREVIOUS to the one before', async () => {
    // Arrange
    const name = `mm2-failover/${uniqueName('test')}/active-credentials`;
    const created = await secrets.send(new CreateSecretCommand({ Name: name, SecretString: '{"epoch":1}' }));

    // Act
    const put = await secrets.send(
      new PutSecretValueCommand({ SecretId: name, SecretString: '{"epoch":2}' }),
    );
    const current = await secrets.send(new GetSecretValueCommand({ SecretId: name }));
    const described = await secrets.send(new DescribeSecretCommand({ SecretId: name }));

    // Assert
    expect(current.SecretString).toBe('{"epoch":2}');
    expect(current.VersionId).toBe(put.VersionId);
    const stages = described.VersionIdsToStages ?? {};
    expect(stages[put.VersionId ?? '']).toContain('AWSCURRENT');
    expect(stages[created.VersionId ?? '']).toContain('AWSPREVIOUS');
  });
});
