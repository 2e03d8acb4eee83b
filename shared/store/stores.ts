import type { Redacted } from './redacted.ts';

/**
 * The small interfaces through which the product's logic touches AWS stores. Logic takes these, so unit tests
 * pass fakes and integration tests pass the real adapters pointed at moto.
 */

export interface StoredParameter {
  value: string;
  version: number;
}

/** Options of one store call: `signal` aborts it (a writer's deadline inside its lease). */
export interface CallOptions {
  signal?: AbortSignal;
}

export interface ParameterStore {
  /** `undefined` when the parameter does not exist. */
  get(name: string, options?: CallOptions): Promise<StoredParameter | undefined>;
  /** Creates or overwrites; returns the new version. */
  put(
    name: string,
    value: string,
    options?: CallOptions & { description?: string },
  ): Promise<{ version: number }>;
}

export interface SecretStore {
  /** `undefined` when the secret does not exist. The value is the secret string, redacted by construction. */
  get(name: string, options?: CallOptions): Promise<Redacted<string> | undefined>;
  /** Creates the secret if missing, otherwise stores a new AWSCURRENT version. */
  put(name: string, value: Redacted<string>, options?: CallOptions): Promise<void>;
}

/** Which version of a secret is current, without reading its value: how a rotated cluster secret is noticed. */
export interface SecretVersions {
  /** The id of the secret's AWSCURRENT version; `undefined` when the secret does not exist. */
  version(name: string, options?: CallOptions): Promise<string | undefined>;
}
