import {
  GetParameterCommand,
  ParameterNotFound,
  PutParameterCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { AccessDeniedError, Mm2FailoverError } from '../errors.ts';
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

/** Map an AWS SDK error to the product's errors without copying its message blindly (it may echo input). */
export function mapAwsError(e: unknown, resource: string): Error {
  const name = (e as { name?: string } | undefined)?.name ?? 'Error';
  if (name === 'AccessDeniedException' || name === 'AccessDenied' || name === 'UnauthorizedException') {
    return new AccessDeniedError(resource, { cause: e });
  }
  const throttled =
    name === 'ThrottlingException' || name === 'TooManyUpdates' || name === 'ThrottledException';
  // A network failure (an unreachable region or endpoint) is a plain Error; its system code says what happened.
  const code = (e as { code?: unknown } | undefined)?.code;
  const why = typeof code === 'string' && code !== name ? `${name} (${code})` : name;
  return new Mm2FailoverError(`AWS call on ${resource} failed: ${why}`, { cause: e, retriable: throttled });
}
