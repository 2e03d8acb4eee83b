import type { Redacted } from '#shared/store/redacted.ts';
import { Redacted as R } from '#shared/store/redacted.ts';
import type { ParameterStore, SecretStore, StoredParameter } from '#shared/store/stores.ts';

/** In-memory stores with a log of every write, in order, for unit tests. */
export class FakeStores {
  readonly params = new Map<string, StoredParameter>();
  readonly secretValues = new Map<string, string>();
  readonly writes: string[] = [];

  readonly parameters: ParameterStore = {
    get: async (name) => this.params.get(name),
    put: async (name, value) => {
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
      const v = this.secretValues.get(name);
      return v === undefined ? undefined : new R(v);
    },
    put: async (name, value: Redacted<string>) => {
      this.secretValues.set(name, value.reveal());
      this.writes.push(`secret ${name}`);
    },
  };
}
