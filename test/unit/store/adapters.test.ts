import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, ParameterNotFound, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { AccessDeniedError, Mm2FailoverError } from '#shared/errors.ts';
import { Redacted } from '#shared/store/redacted.ts';
import { SecretsManagerStore } from '#shared/store/secrets-manager-store.ts';
import { SsmParameterStore } from '#shared/store/ssm-parameter-store.ts';

const ssm = mockClient(SSMClient);
const sm = mockClient(SecretsManagerClient);

describe('SsmParameterStore', () => {
  beforeEach(() => ssm.reset());

  it('returns value and version of an existing parameter', async () => {
    ssm.on(GetParameterCommand, { Name: '/p' }).resolves({ Parameter: { Value: 'v', Version: 4 } });

    await expect(new SsmParameterStore(new SSMClient({})).get('/p')).resolves.toEqual({
      value: 'v',
      version: 4,
    });
  });

  it('returns undefined when the parameter does not exist', async () => {
    ssm.on(GetParameterCommand).rejects(new ParameterNotFound({ message: 'nope', $metadata: {} }));

    await expect(new SsmParameterStore(new SSMClient({})).get('/p')).resolves.toBeUndefined();
  });

  it('overwrites as a String parameter and returns the new version', async () => {
    ssm.on(PutParameterCommand).resolves({ Version: 7 });

    const out = await new SsmParameterStore(new SSMClient({})).put('/p', 'x');

    expect(out.version).toBe(7);
    expect(ssm.commandCalls(PutParameterCommand)[0]?.args[0].input).toMatchObject({
      Name: '/p',
      Value: 'x',
      Type: 'String',
      Overwrite: true,
    });
  });

  it('maps AccessDenied to a named error and other failures to a retriable flag for throttling', async () => {
    const denied = Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' });
    ssm.on(GetParameterCommand).rejects(denied);
    const store = new SsmParameterStore(new SSMClient({}));

    await expect(store.get('/p')).rejects.toBeInstanceOf(AccessDeniedError);

    ssm
      .on(PutParameterCommand)
      .rejects(Object.assign(new Error('slow down'), { name: 'ThrottlingException' }));
    const err = await store.put('/p', 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Mm2FailoverError);
    expect((err as Mm2FailoverError).retriable).toBe(true);
  });

  it('names the system code of a network failure, so an unreachable region says why it failed', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    ssm.on(PutParameterCommand).rejects(refused);

    const err = await new SsmParameterStore(new SSMClient({})).put('/p', 'x').catch((e: unknown) => e);

    expect((err as Error).message).toBe('AWS call on parameter /p failed: Error (ECONNREFUSED)');
  });
});

describe('SecretsManagerStore', () => {
  beforeEach(() => sm.reset());

  it('returns the secret string redacted', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: '{"password":"s3cret"}' });

    const value = await new SecretsManagerStore(new SecretsManagerClient({})).get('s');

    expect(JSON.stringify(value)).not.toContain('s3cret');
    expect(value?.reveal()).toBe('{"password":"s3cret"}');
  });

  it('returns undefined for a missing secret', async () => {
    sm.on(GetSecretValueCommand).rejects(new ResourceNotFoundException({ message: 'no', $metadata: {} }));

    await expect(new SecretsManagerStore(new SecretsManagerClient({})).get('s')).resolves.toBeUndefined();
  });

  it('creates the secret when putting a value into one that does not exist yet', async () => {
    sm.on(PutSecretValueCommand).rejects(new ResourceNotFoundException({ message: 'no', $metadata: {} }));
    sm.on(CreateSecretCommand).resolves({});

    await new SecretsManagerStore(new SecretsManagerClient({})).put('s', new Redacted('v'));

    expect(sm.commandCalls(CreateSecretCommand)[0]?.args[0].input).toEqual({ Name: 's', SecretString: 'v' });
  });
});
