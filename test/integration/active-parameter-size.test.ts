import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, describe, expect, it } from 'vitest';
import { awsClientConfig } from '#harness/aws-clients.ts';
import { uniqueName } from '#harness/unique-name.ts';
import { SecretsManagerStore } from '#shared/store/secrets-manager-store.ts';
import { SsmParameterStore } from '#shared/store/ssm-parameter-store.ts';
import { switchEveryWay } from '../unit/switch/largest-deployment-world.ts';
import { harness } from './shared-harness.ts';

// The largest deployment the schemas accept, switched by every writer of the active configuration into moto's
// SSM and Secrets Manager (Kafka, the lock and the epoch authority are the unit fakes: only the stores are real).
// moto accepts a parameter of any size, so the test measures what was written against the Standard tier itself.

describe('the largest deployment on moto', () => {
  const h = harness();
  const ssm = new SSMClient(awsClientConfig(h.info));
  const secretsManager = new SecretsManagerClient(awsClientConfig(h.info));

  afterAll(() => {
    ssm.destroy();
    secretsManager.destroy();
  });

  it('writes a Standard-tier parameter at every switch, and clients read every topic from it', async () => {
    const secrets = new SecretsManagerStore(secretsManager);
    const stores = { parameters: new SsmParameterStore(ssm), secrets, versions: secrets };

    const r = await switchEveryWay(stores, { name: uniqueName('largest').padEnd(40, 'x') });

    const { primary, secondary } = r.expected;
    expect(r.failover.routes).toEqual({ epoch: 1, producers: secondary, consumers: secondary });
    expect(r.stages.map((s) => s.routes)).toEqual([
      { epoch: 2, producers: secondary, consumers: primary },
      { epoch: 3, producers: primary, consumers: primary },
    ]);
    expect(r.repair.result).toMatchObject({ status: 'repaired', epoch: 4 });
    expect(r.refresh.result).toMatchObject({ status: 'refreshed', epoch: 5 });
    expect(r.refresh.routes).toEqual({ epoch: 5, producers: primary, consumers: primary });
    const lengths = [r.failover, ...r.stages, r.repair, r.refresh].map((s) => s.length);
    expect(Math.min(...lengths)).toBeGreaterThan(0);
    expect(Math.max(...lengths)).toBeLessThanOrEqual(4_096);
  }, 120_000);
});
