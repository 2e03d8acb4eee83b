import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient, type SSMClientConfig } from '@aws-sdk/client-ssm';
import type { Stores } from './active-config.ts';
import { type AwsCallLimits, awsClientOptions } from './aws-client-options.ts';
import { SecretsManagerStore } from './secrets-manager-store.ts';
import { SsmParameterStore } from './ssm-parameter-store.ts';

/**
 * The one place {@link Stores} are made on AWS: SSM Parameter Store for parameters, Secrets Manager for secrets.
 * The functions' wirings pass the SDK clients they keep per container ({@link storesOf}); applications, the CLI and
 * the benchmarks pass a region and an endpoint ({@link createAwsStores}, the client library's public name).
 */

/** The two AWS clients the active configuration is read and written with, in one region. */
export interface StoreClients {
  ssm: Pick<SSMClient, 'send'>;
  secretsManager: Pick<SecretsManagerClient, 'send'>;
}

/** Stores over SDK clients the caller already holds (and reuses, once per container). */
export function storesOf(clients: StoreClients): Stores {
  return {
    parameters: new SsmParameterStore(clients.ssm),
    secrets: new SecretsManagerStore(clients.secretsManager),
  };
}

export interface AwsStoresOptions extends Partial<AwsCallLimits> {
  /** Region holding the active configuration (one of the deployment's regions). Default: the SDK's resolution. */
  region?: string;
  /** Endpoint override for both services (a VPC endpoint, or moto in tests). */
  endpoint?: string;
  /** Default: the SDK's provider chain (Lambda role, ECS task role, profile, environment). */
  credentials?: SSMClientConfig['credentials'];
  // The limits of each call (`connectTimeoutMs` 3 s, `requestTimeoutMs` 5 s, `maxAttempts` 3 by default, reasons in
  // aws-client-options.ts): a read that hangs fails instead of holding the caller, and the watcher reads again on
  // its next poll anyway.
}

/**
 * Stores with SDK clients of their own, for applications that read the active configuration. Create them once
 * per process (at module scope in a Lambda) and share them. Every call is bounded: see {@link AwsStoresOptions}.
 *
 * The application's role needs `ssm:GetParameter` on `/mm2-failover/<name>/active` and
 * `secretsmanager:GetSecretValue` on `mm2-failover/<name>/active-credentials-*` (plus `kms:Decrypt` for a
 * customer-managed key).
 *
 * @example
 * ```ts
 * const stores = createAwsStores({ region: 'eu-west-1' });
 * const patient = createAwsStores({ region: 'eu-west-1', requestTimeoutMs: 10_000, maxAttempts: 5 });
 * ```
 */
export function createAwsStores(options: AwsStoresOptions = {}): Stores {
  const common = {
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    ...awsClientOptions({
      connectTimeoutMs: options.connectTimeoutMs,
      requestTimeoutMs: options.requestTimeoutMs,
      maxAttempts: options.maxAttempts,
    }),
  };
  return storesOf({ ssm: new SSMClient(common), secretsManager: new SecretsManagerClient(common) });
}
