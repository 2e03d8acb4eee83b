import { secretValueMaxBytes, standardParameterMaxChars } from '#shared/config/contract.ts';
import { mapAwsError } from '#shared/errors.ts';
import type { Stores } from '#shared/store/active-config.ts';
import type { Redacted } from '#shared/store/redacted.ts';
import { Redacted as R } from '#shared/store/redacted.ts';
import type { ParameterStore, SecretStore, SecretVersions, StoredParameter } from '#shared/store/stores.ts';

/** SSM's tiers and the longest value each holds, in characters. */
const parameterMaxChars = { Standard: standardParameterMaxChars, Advanced: 8_192 } as const;
export type ParameterTier = keyof typeof parameterMaxChars;

/**
 * The error a real adapter throws for a request AWS refuses as invalid: the service's `ValidationException`, mapped
 * the way shared/store maps every AWS error (moto does not check these sizes, so only the fakes hold them).
 */
function refusedAsInvalid(resource: string, message: string): Error {
  const aws = Object.assign(new Error(message), { name: 'ValidationException', $fault: 'client' });
  return mapAwsError(aws, resource);
}

/**
 * In-memory stores with a log of every write, in order, for unit tests. They hold AWS's size limits: a parameter
 * value longer than its tier allows (Standard 4,096 characters, Advanced 8,192) and a secret value over 65,536
 * bytes are refused as SSM and Secrets Manager refuse them, and nothing is stored.
 */
export class FakeStores {
  readonly params = new Map<string, StoredParameter>();
  readonly secretValues = new Map<string, string>();
  /** Each secret's number of versions (a new one per put), for `version`. */
  readonly secretVersions = new Map<string, number>();
  readonly writes: string[] = [];
  /** Set to make every read and write fail with this error (a region that cannot be reached). */
  failWith: Error | undefined;
  /** The tier parameters are written in: the product writes Standard parameters (SSM's default tier). */
  parameterTier: ParameterTier = 'Standard';

  readonly parameters: ParameterStore = {
    get: async (name) => {
      this.#check();
      return this.params.get(name);
    },
    put: async (name, value) => {
      this.#check();
      const max = parameterMaxChars[this.parameterTier];
      if (value.length > max) {
        throw refusedAsInvalid(
          `parameter ${name}`,
          this.parameterTier === 'Standard'
            ? `Standard tier parameters support a maximum parameter value of ${max} characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier.`
            : `1 validation error detected: Value at 'value' failed to satisfy constraint: Member must have length less than or equal to ${max}`,
        );
      }
      const version = (this.params.get(name)?.version ?? 0) + 1;
      this.params.set(name, { value, version });
      this.writes.push(`parameter ${name}`);
      return { version };
    },
  };

  /** A stored secret's JSON, parsed, for asserting what a switch wrote (undefined when absent). */
  secretJson(name: string): unknown {
    const v = this.secretValues.get(name);
    return v === undefined ? undefined : JSON.parse(v);
  }

  readonly secrets: SecretStore = {
    get: async (name) => {
      this.#check();
      const v = this.secretValues.get(name);
      return v === undefined ? undefined : new R(v);
    },
    put: async (name, value: Redacted<string>) => {
      this.#check();
      if (Buffer.byteLength(value.reveal(), 'utf8') > secretValueMaxBytes) {
        throw refusedAsInvalid(
          `secret ${name}`,
          `1 validation error detected: Value at 'secretString' failed to satisfy constraint: Member must have length less than or equal to ${secretValueMaxBytes}`,
        );
      }
      this.secretValues.set(name, value.reveal());
      this.secretVersions.set(name, (this.secretVersions.get(name) ?? 0) + 1);
      this.writes.push(`secret ${name}`);
    },
  };

  /** Secrets Manager's current version id of each secret (one per put). */
  readonly versions: SecretVersions = {
    version: async (name) => {
      this.#check();
      if (!this.secretValues.has(name)) return undefined;
      return `v${this.secretVersions.get(name) ?? 1}`;
    },
  };

  #check(): void {
    if (this.failWith) throw this.failWith;
  }
}

/** The stores of a deployment's extra regions (`regionStores`): one {@link FakeStores} per region, made on first use. */
export class FakeRegions {
  readonly byRegion = new Map<string, FakeStores>();

  of(region: string): FakeStores {
    let s = this.byRegion.get(region);
    if (!s) {
      s = new FakeStores();
      this.byRegion.set(region, s);
    }
    return s;
  }

  readonly regionStores = (region: string): Stores => this.of(region);
}
