import { describe, expect, it } from 'vitest';
import { deploymentPaths } from '#shared/config/paths.ts';
import { MissingConfigurationError } from '#shared/errors.ts';
import { clusterKafkaConfig } from '#shared/kafka/cluster-config.ts';
import { seededStores, testConfig } from '../failover/fakes.ts';

describe('clusterKafkaConfig', () => {
  const config = testConfig();
  const paths = deploymentPaths(config.name);

  it('names the function using it in the clientId and connects to the cluster the operator described', async () => {
    // Arrange
    const stores = seededStores(config);

    // Act
    const failover = await clusterKafkaConfig({ stores, paths, config }, 'secondary', 'failover');
    const failback = await clusterKafkaConfig({ stores, paths, config }, 'primary', 'failback');

    // Assert
    expect(failover).toMatchObject({
      clientId: 'mm2-failover-orders-dr-failover',
      brokers: ['127.0.0.1:29092'],
    });
    expect(failback).toMatchObject({
      clientId: 'mm2-failover-orders-dr-failback',
      brokers: ['127.0.0.1:19092'],
    });
    expect(failover.retry).toMatchObject({ retries: 1 });
  });

  it("reads the operator's own secret when the config names one by ARN", async () => {
    // Arrange: the contract's secret is gone; only the operator's own holds the credentials.
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:own-primary';
    const withArn = testConfig({
      clusters: {
        primary: { alias: 'primary', auth: 'mtls', expectedBrokers: 1, secretArn: arn },
        secondary: { alias: 'secondary', auth: 'mtls', expectedBrokers: 1 },
      },
    });
    const stores = seededStores(withArn);
    const contractSecret = paths.clusterSecret('primary');
    const credentials = stores.secretValues.get(contractSecret) ?? '';
    stores.secretValues.delete(contractSecret);

    // Act / Assert: without the ARN's secret the read fails naming it; with it, the config is built.
    await expect(
      clusterKafkaConfig({ stores, paths, config: withArn }, 'primary', 'failover'),
    ).rejects.toThrow(MissingConfigurationError);
    stores.secretValues.set(arn, credentials);
    await expect(
      clusterKafkaConfig({ stores, paths, config: withArn }, 'primary', 'failover'),
    ).resolves.toMatchObject({ brokers: ['127.0.0.1:19092'] });
  });
});
