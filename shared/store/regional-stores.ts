import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { Stores } from './active-config.ts';
import { type AwsCallLimits, awsClientOptions } from './aws-client-options.ts';
import { type StoreClients, storesOf } from './aws-stores.ts';

/**
 * The deployment's extra regions (`regions` in the config): failover and failback write the active configuration
 * there too, after the home region, so clients in those regions read it locally. Both functions wire them from
 * here, with the same clients and the same rule for which regions are extra.
 */

/** Clients of an extra region, by region name (created on first use, kept per container). */
export type RegionalClients = (region: string) => StoreClients;

/**
 * The Lambda functions' {@link RegionalClients}: SDK clients with the default credentials, one pair per region,
 * each call bounded by the deployment's `aws` limits as in the home region.
 */
export function regionalAwsClients(limits: Partial<AwsCallLimits>): RegionalClients {
  const options = awsClientOptions(limits);
  return perRegion((region) => ({
    ssm: new SSMClient({ region, ...options }),
    secretsManager: new SecretsManagerClient({ region, ...options }),
  }));
}

/** Stores of each extra region, built once per region from its clients. */
export function regionStoresOf(regional: RegionalClients): (region: string) => Stores {
  return perRegion((region) => storesOf(regional(region)));
}

/** `make(region)` on a region's first use, the same value afterwards (kept per container). */
function perRegion<T>(make: (region: string) => T): (region: string) => T {
  const made = new Map<string, T>();
  return (region) => {
    let value = made.get(region);
    if (value === undefined) {
      value = make(region);
      made.set(region, value);
    }
    return value;
  };
}

/**
 * The regions written after the home region: the config's `regions` without the function's own region (it holds
 * the active configuration already; writing it twice would only race with itself), in the config's order.
 */
export function extraRegions(regions: readonly string[], homeRegion: string | undefined): string[] {
  return [...new Set(regions)].filter((r) => r !== homeRegion);
}
