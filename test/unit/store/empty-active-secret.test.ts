import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { deploymentPaths } from '#shared/config/paths.ts';
import { initialiseActiveConfig } from '#shared/failover/initialise-active.ts';
import { readActiveOnce, type Stores } from '#shared/store/active-config.ts';
import { SecretsManagerStore } from '#shared/store/secrets-manager-store.ts';
import { inspectAtRest } from '#shared/switch/at-rest.ts';
import { MemoryEpochAuthority } from '../../fakes/epoch-authority.ts';
import { FakeClock, FakeLock, PRIMARY_CREDS, seededStores, testConfig } from '../failover/fakes.ts';

const sm = mockClient(SecretsManagerClient);

/**
 * Secrets Manager as AWS answers for the secrets of a deployment: each secret a list of versions, the active one
 * created by the stack with none (CloudFormation got no SecretString). For such a secret AWS answers
 * GetSecretValue with ResourceNotFoundException, DescribeSecret with no version stages, and accepts
 * PutSecretValue; CreateSecret on its name fails because the secret exists.
 */
function secretsManagerLikeAws(secrets: Map<string, string[]>) {
  const notFound = (message: string) => new ResourceNotFoundException({ message, $metadata: {} });
  sm.on(GetSecretValueCommand).callsFake(({ SecretId }: { SecretId: string }) => {
    const versions = secrets.get(SecretId);
    if (!versions) throw notFound("Secrets Manager can't find the specified secret.");
    const current = versions.at(-1);
    if (current === undefined) {
      throw notFound("Secrets Manager can't find the specified secret value for staging label: AWSCURRENT");
    }
    return { Name: SecretId, SecretString: current, VersionId: `v${versions.length}` };
  });
  sm.on(DescribeSecretCommand).callsFake(({ SecretId }: { SecretId: string }) => {
    const versions = secrets.get(SecretId);
    if (!versions) throw notFound("Secrets Manager can't find the specified secret.");
    return {
      Name: SecretId,
      ...(versions.length > 0 ? { VersionIdsToStages: { [`v${versions.length}`]: ['AWSCURRENT'] } } : {}),
    };
  });
  sm.on(PutSecretValueCommand).callsFake(
    ({ SecretId, SecretString }: { SecretId: string; SecretString: string }) => {
      const versions = secrets.get(SecretId);
      if (!versions) throw notFound("Secrets Manager can't find the specified secret.");
      versions.push(SecretString);
      return { Name: SecretId, VersionId: `v${versions.length}` };
    },
  );
  sm.on(CreateSecretCommand).callsFake(({ Name }: { Name: string }) => {
    if (secrets.has(Name))
      throw new ResourceExistsException({ message: `${Name} already exists`, $metadata: {} });
    secrets.set(Name, []);
    return { Name };
  });
}

describe('the active credentials secret the stack creates empty', () => {
  const config = testConfig();
  const paths = deploymentPaths(config.name);
  let secrets: Map<string, string[]>;
  let stores: Stores;
  let store: SecretsManagerStore;

  beforeEach(() => {
    sm.reset();
    // The cluster secrets the operator wrote, and the active one as the stack left it.
    const seeded = seededStores(config);
    secrets = new Map([
      [paths.clusterSecret('primary'), [seeded.secretValues.get(paths.clusterSecret('primary')) ?? '']],
      [paths.clusterSecret('secondary'), [seeded.secretValues.get(paths.clusterSecret('secondary')) ?? '']],
      [paths.activeCredentialsSecret, []],
    ]);
    secretsManagerLikeAws(secrets);
    store = new SecretsManagerStore(new SecretsManagerClient({ region: 'eu-west-1' }));
    stores = { parameters: seeded.parameters, secrets: store };
  });

  it('reads as absent: no value, no version, nothing at rest', async () => {
    await expect(store.get(paths.activeCredentialsSecret)).resolves.toBeUndefined();
    await expect(store.version(paths.activeCredentialsSecret)).resolves.toBeUndefined();
    const atRest = await inspectAtRest(stores, paths);
    expect(atRest.secret.state).toBe('absent');
    expect(atRest.parameter.state).toBe('absent');
  });

  it('takes the first activation as its first version (claimed epoch 0), without creating another secret', async () => {
    const clock = new FakeClock();
    const lock = new FakeLock(clock);
    const fencing = { lock, authority: new MemoryEpochAuthority(lock, clock), versions: store };

    const result = await initialiseActiveConfig(
      { requestedBy: 'operator' },
      { config, stores, paths, fencing, now: clock.now },
    );

    expect(result).toMatchObject({ status: 'initialised', config: { epoch: 0, cluster: 'primary' } });
    expect(sm.commandCalls(CreateSecretCommand)).toEqual([]);
    expect(secrets.get(paths.activeCredentialsSecret)).toHaveLength(1);
    const read = await readActiveOnce(stores, paths);
    expect(read.kind).toBe('consistent');
    expect(read.kind === 'consistent' && read.credentials.reveal()).toEqual({
      epoch: 0,
      cluster: 'primary',
      ...PRIMARY_CREDS,
    });
    await expect(fencing.authority.read()).resolves.toMatchObject({ epoch: 0, cluster: 'primary' });
  });
});
