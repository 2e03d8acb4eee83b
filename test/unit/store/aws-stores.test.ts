import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import { storesOf } from '#shared/store/aws-stores.ts';

describe('storesOf', () => {
  it('reads parameters through the SSM client and secrets through the Secrets Manager client it is given', async () => {
    // Arrange: each client answers only its own service's command, and counts what it was sent.
    const sent: string[] = [];
    const ssm: Pick<SSMClient, 'send'> = {
      send: (async (command: unknown) => {
        sent.push(`ssm ${(command as object).constructor.name}`);
        if (!(command instanceof GetParameterCommand)) throw new Error('unexpected SSM command');
        return { Parameter: { Value: 'v', Version: 3 } };
      }) as SSMClient['send'],
    };
    const secretsManager: Pick<SecretsManagerClient, 'send'> = {
      send: (async (command: unknown) => {
        sent.push(`secretsManager ${(command as object).constructor.name}`);
        if (!(command instanceof GetSecretValueCommand))
          throw new Error('unexpected Secrets Manager command');
        return { SecretString: '{"token":"t"}' };
      }) as SecretsManagerClient['send'],
    };

    // Act
    const stores = storesOf({ ssm, secretsManager });
    const parameter = await stores.parameters.get('/mm2-failover/d/active');
    const secret = await stores.secrets.get('mm2-failover/d/active-credentials');

    // Assert
    expect(parameter).toEqual({ value: 'v', version: 3 });
    expect(secret?.reveal()).toBe('{"token":"t"}');
    expect(sent).toEqual(['ssm GetParameterCommand', 'secretsManager GetSecretValueCommand']);
  });
});
