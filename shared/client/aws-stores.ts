import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient, type SSMClientConfig } from '@aws-sdk/client-ssm';
import type { Stores } from '../store/active-config.ts';
import { SecretsManagerStore } from '../store/secrets-manager-store.ts';
import { SsmParameterStore } from '../store/ssm-parameter-store.ts';

export interface AwsStoresOptions {
  /** Region holding the active configuration (one of the deployment's regions). Default: the SDK's resolution. */
  region?: string;
  /** Endpoint override for both services (a VPC endpoint, or moto in tests). */
  endpoint?: string;
  /** Default: the SDK's provider chain (Lambda role, ECS task role, profile, environment). */
  credentials?: SSMClientConfig['credentials'];
  /** SDK retry attempts per call. The watcher retries on its next poll anyway. Default 3 (the SDK's). */
  maxAttempts?: number;
}

/**
 * SSM Parameter Store and Secrets Manager behind the {@link Stores} interface, for applications that read the
 * active configuration. Create it once per process (at module scope in a Lambda) and share it.
 *
 * The application's role needs `ssm:GetParameter` on `/mm2-failover/<name>/active` and
 * `secretsmanager:GetSecretValue` on `mm2-failover/<name>/active-credentials-*` (plus `kms:Decrypt` for a
 * customer-managed key).
 *
 * @example
 * ```ts
 * const stores = createAwsStores({ region: 'eu-west-1' });
 * ```
 */
export function createAwsStores(options: AwsStoresOptions = {}): Stores {
  const common = {
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
  };
  return {
    parameters: new SsmParameterStore(new SSMClient(common)),
    secrets: new SecretsManagerStore(new SecretsManagerClient(common)),
  };
}
