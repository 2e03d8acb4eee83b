import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mapAwsError } from '../errors.ts';
import { Redacted } from './redacted.ts';
import { sendOptions } from './ssm-parameter-store.ts';
import type { CallOptions, SecretStore, SecretVersions } from './stores.ts';

/** Secrets Manager behind {@link SecretStore}. Values are strings (JSON by convention), never logged. */
export class SecretsManagerStore implements SecretStore, SecretVersions {
  readonly #sm: Pick<SecretsManagerClient, 'send'>;
  constructor(sm: Pick<SecretsManagerClient, 'send'>) {
    this.#sm = sm;
  }

  async get(name: string, options: CallOptions = {}): Promise<Redacted<string> | undefined> {
    try {
      const out = await this.#sm.send(new GetSecretValueCommand({ SecretId: name }), sendOptions(options));
      return out.SecretString === undefined ? undefined : new Redacted(out.SecretString);
    } catch (e: unknown) {
      if ((e as { name?: string }).name === 'ResourceNotFoundException') return undefined;
      throw mapAwsError(e, `secret ${name}`);
    }
  }

  async put(name: string, value: Redacted<string>, options: CallOptions = {}): Promise<void> {
    try {
      await this.#sm.send(
        new PutSecretValueCommand({ SecretId: name, SecretString: value.reveal() }),
        sendOptions(options),
      );
    } catch (e: unknown) {
      if ((e as { name?: string }).name !== 'ResourceNotFoundException')
        throw mapAwsError(e, `secret ${name}`);
      try {
        await this.#sm.send(
          new CreateSecretCommand({ Name: name, SecretString: value.reveal() }),
          sendOptions(options),
        );
      } catch (e2: unknown) {
        throw mapAwsError(e2, `secret ${name}`);
      }
    }
  }

  async version(name: string, options: CallOptions = {}): Promise<string | undefined> {
    try {
      const out = await this.#sm.send(new DescribeSecretCommand({ SecretId: name }), sendOptions(options));
      const current = Object.entries(out.VersionIdsToStages ?? {}).find(([, stages]) =>
        stages.includes('AWSCURRENT'),
      );
      return current?.[0];
    } catch (e: unknown) {
      if ((e as { name?: string }).name === 'ResourceNotFoundException') return undefined;
      throw mapAwsError(e, `secret ${name}`);
    }
  }
}
