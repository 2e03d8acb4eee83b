import {
  GetParameterCommand,
  ParameterNotFound,
  PutParameterCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { mapAwsError } from '../errors.ts';
import type { CallOptions, ParameterStore, StoredParameter } from './stores.ts';

/** SSM Parameter Store behind {@link ParameterStore}. String parameters; Standard tier (4 KB) is plenty. */
export class SsmParameterStore implements ParameterStore {
  readonly #ssm: Pick<SSMClient, 'send'>;
  constructor(ssm: Pick<SSMClient, 'send'>) {
    this.#ssm = ssm;
  }

  async get(name: string, options: CallOptions = {}): Promise<StoredParameter | undefined> {
    try {
      const out = await this.#ssm.send(new GetParameterCommand({ Name: name }), sendOptions(options));
      const p = out.Parameter;
      if (p?.Value === undefined) return undefined;
      return { value: p.Value, version: p.Version ?? 0 };
    } catch (e: unknown) {
      if (e instanceof ParameterNotFound || (e as { name?: string }).name === 'ParameterNotFound')
        return undefined;
      throw mapAwsError(e, `parameter ${name}`);
    }
  }

  async put(
    name: string,
    value: string,
    options: CallOptions & { description?: string } = {},
  ): Promise<{ version: number }> {
    try {
      const out = await this.#ssm.send(
        new PutParameterCommand({
          Name: name,
          Value: value,
          Type: 'String',
          Overwrite: true,
          ...(options.description ? { Description: options.description } : {}),
        }),
        sendOptions(options),
      );
      return { version: out.Version ?? 0 };
    } catch (e: unknown) {
      throw mapAwsError(e, `parameter ${name}`);
    }
  }
}

/** The SDK's per-call options: only the abort signal, when there is one. */
export function sendOptions(options: CallOptions): { abortSignal?: AbortSignal } {
  return options.signal ? { abortSignal: options.signal } : {};
}
