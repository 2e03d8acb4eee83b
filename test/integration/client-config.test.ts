import { DeleteSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DeleteParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import { awsClientConfig } from '#harness/aws-clients.ts';
import { uniqueName } from '#harness/unique-name.ts';
import {
  ActiveConfigWatcher,
  createAwsStores,
  loadActiveConfig,
  MissingConfigurationError,
  TornReadError,
  ValidationError,
} from '#shared/client/index.ts';
import type { ActiveConfig } from '#shared/config/contract.ts';
import { deploymentPaths } from '#shared/config/paths.ts';
import { writeActive, writeActiveStep } from '#shared/store/active-config.ts';
import { storesOf } from '#shared/store/aws-stores.ts';
import { Redacted } from '#shared/store/redacted.ts';
import { harness } from './shared-harness.ts';

// The real SSM and Secrets Manager adapters against moto: what an application sees when the active
// configuration is missing, edited by hand, or caught half-way through a switch.
describe('active configuration through SSM and Secrets Manager (moto)', () => {
  const { info } = harness();
  const aws = awsClientConfig(info);
  const stores = createAwsStores(aws);
  const ssm = new SSMClient(aws);
  const sm = new SecretsManagerClient(aws);
  const creds = new Redacted({ username: 'app', password: 'not-a-real-password' });
  const kafka = { clientId: 'client-config-test' };

  function active(name: string, epoch: number, cluster: 'primary' | 'secondary'): ActiveConfig {
    return {
      epoch,
      cluster,
      alias: cluster,
      bootstrapServers: [`${cluster}.example:9096`],
      securityProtocol: 'SASL_SSL',
      sasl: { mechanism: 'scram-sha-512' },
      credentialsSecret: deploymentPaths(name).activeCredentialsSecret,
      topics: {
        orders: { produce: cluster === 'primary' ? 'orders' : 'primary.orders', subscribe: ['orders'] },
      },
      switchedAt: new Date().toISOString(),
      reason: 'test',
    };
  }

  it('refuses a half-written switch with TornReadError, then reads it once the parameter follows', async () => {
    // Arrange: a switch that wrote its secret (epoch 2) but not yet its parameter (still epoch 1).
    const name = uniqueName('client');
    const paths = deploymentPaths(name);
    await writeActive(stores, paths, active(name, 1, 'primary'), creds);
    await writeActiveStep(stores, paths, 'secret', active(name, 2, 'secondary'), creds);

    // Act
    const torn = await loadActiveConfig({ deployment: name, stores, kafka, tornReadDeadlineMs: 500 }).catch(
      (e: unknown) => e,
    );
    await writeActiveStep(stores, paths, 'parameter', active(name, 2, 'secondary'), creds);
    const after = await loadActiveConfig({ deployment: name, stores, kafka });

    // Assert
    expect(torn).toBeInstanceOf(TornReadError);
    expect(torn).toMatchObject({ parameterEpoch: 1, secretEpoch: 2 });
    expect(after.epoch).toBe(2);
    expect(after.kafka.reveal().sasl).toMatchObject({ mechanism: 'scram-sha-512', username: 'app' });
    expect(JSON.stringify(after)).not.toContain('not-a-real-password');
  });

  it('keeps the last good configuration through a hand edit, a deleted secret and a deleted parameter', async () => {
    // Arrange
    const name = uniqueName('client');
    const paths = deploymentPaths(name);
    await writeActive(stores, paths, active(name, 1, 'primary'), creds);
    const errors: Error[] = [];
    const watcher = new ActiveConfigWatcher({
      deployment: name,
      stores,
      kafka,
      intervalMs: 60_000, // polled by hand below
      onError: (e) => errors.push(e),
    });
    await watcher.start();

    try {
      // Act
      await ssm.send(
        new PutParameterCommand({
          Name: paths.activeParameter,
          Value: '{"epoch": 2,',
          Type: 'String',
          Overwrite: true,
        }),
      );
      const handEdited = await watcher.poll();
      await writeActiveStep(stores, paths, 'parameter', active(name, 2, 'secondary'), creds);
      await sm.send(
        new DeleteSecretCommand({
          SecretId: paths.activeCredentialsSecret,
          ForceDeleteWithoutRecovery: true,
        }),
      );
      const secretGone = await watcher.poll();
      await ssm.send(new DeleteParameterCommand({ Name: paths.activeParameter }));
      const parameterGone = await watcher.poll();
      await writeActive(stores, paths, active(name, 3, 'secondary'), creds);
      const repaired = await watcher.poll();

      // Assert
      expect([handEdited.kind, secretGone.kind, parameterGone.kind]).toEqual(['failed', 'failed', 'failed']);
      expect(errors[0]).toBeInstanceOf(ValidationError);
      expect(errors[0]?.message).toContain(`invalid parameter ${paths.activeParameter}`);
      expect(errors[1]).toBeInstanceOf(MissingConfigurationError);
      expect(errors[1]?.message).toContain(`missing secret ${paths.activeCredentialsSecret}`);
      expect(errors[2]).toBeInstanceOf(MissingConfigurationError);
      expect(errors[2]?.message).toContain(`missing parameter ${paths.activeParameter}`);
      expect(repaired).toEqual({ kind: 'switched', from: 1, to: 3 });
      expect(watcher.current().cluster).toBe('secondary');
    } finally {
      await watcher.stop();
    }
  });

  it("polls only Secrets Manager with pollVia: 'secret', and reads the parameter once to follow a switch", async () => {
    // Arrange: clients of the watcher's own, every request counted by API as SSM's and Secrets Manager's quotas count them.
    const name = uniqueName('client');
    const paths = deploymentPaths(name);
    await writeActive(stores, paths, active(name, 1, 'primary'), creds);
    const calls: string[] = [];
    const countedSsm = new SSMClient(aws);
    const countedSm = new SecretsManagerClient(aws);
    const step = { step: 'finalizeRequest', priority: 'low', name: 'countCalls' } as const;
    countedSsm.middlewareStack.add(
      (next, context) => (args) => {
        calls.push(context.commandName ?? 'unknown');
        return next(args);
      },
      step,
    );
    countedSm.middlewareStack.add(
      (next, context) => (args) => {
        calls.push(context.commandName ?? 'unknown');
        return next(args);
      },
      step,
    );
    const watcher = new ActiveConfigWatcher({
      deployment: name,
      stores: storesOf({ ssm: countedSsm, secretsManager: countedSm }),
      kafka,
      pollVia: 'secret',
      intervalMs: 60_000, // polled by hand below
    });
    await watcher.start();

    try {
      // Act
      calls.length = 0;
      const steady = [await watcher.poll(), await watcher.poll(), await watcher.poll()];
      const steadyCalls = calls.splice(0);
      await writeActive(stores, paths, active(name, 2, 'secondary'), creds);
      const followed = await watcher.poll();

      // Assert
      expect(steady.map((o) => o.kind)).toEqual(['unchanged', 'unchanged', 'unchanged']);
      expect(steadyCalls).toEqual([
        'GetSecretValueCommand',
        'GetSecretValueCommand',
        'GetSecretValueCommand',
      ]);
      expect(followed).toEqual({ kind: 'switched', from: 1, to: 2 });
      expect(calls.filter((c) => c === 'GetParameterCommand')).toHaveLength(1);
      expect(watcher.current().kafka.reveal().brokers).toEqual(['secondary.example:9096']);
    } finally {
      await watcher.stop();
    }
  });
});
