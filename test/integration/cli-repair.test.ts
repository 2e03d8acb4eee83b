import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsEnvironment } from '#harness/aws-clients.ts';
import { CountingAws, createDeployment, type Deployment } from '#harness/fixtures/failover-deployment.ts';
import { initialiseActiveConfig } from '#shared/failover/initialise-active.ts';
import { readActiveOnce } from '#shared/store/active-config.ts';
import { Redacted } from '#shared/store/redacted.ts';
import { SecretsManagerStore } from '#shared/store/secrets-manager-store.ts';
import { dynamoFencing } from '#shared/switch/dynamo-epoch-authority.ts';
import { writeConfigFile } from '../fakes/config-file.ts';
import { harness } from './shared-harness.ts';

const run = promisify(execFile);

describe('mm2-failover repair --local (the failover handler in-process, on moto)', () => {
  const h = harness();
  const aws = new CountingAws(h.info);
  let d: Deployment;
  let localFile: string;

  beforeAll(async () => {
    d = await createDeployment(h.info, aws, { topics: ['orders'] });
    // The first activation is adopted by the epoch authority (epoch 0), as `init --table` does.
    const fencing = dynamoFencing(aws.dynamodb, {
      table: d.table,
      deployment: d.config.name,
      versions: new SecretsManagerStore(aws.secretsManager),
    });
    const adopted = await initialiseActiveConfig(
      { requestedBy: 'integration test' },
      { config: d.config, stores: d.stores, paths: d.paths, fencing },
    );
    expect(adopted).toMatchObject({ status: 'adopted', epoch: 0 });
    // What `local up` writes, for this test's own deployment.
    localFile = path.join(mkdtempSync(path.join(tmpdir(), 'mm2-cli-repair-')), 'local-deployment.json');
    writeFileSync(
      localFile,
      JSON.stringify({
        deployment: d.config.name,
        functionEnv: {
          ...awsEnvironment(h.info),
          MM2_FAILOVER_CONFIG_FILE: writeConfigFile(d.config),
          MM2_FAILOVER_TABLE: d.table,
          MM2_FAILOVER_TOPIC_ARN: d.topicArn,
          // The handler's log lines would share stdout with the answer.
          POWERTOOLS_LOG_LEVEL: 'SILENT',
        },
      }),
    );
  }, 120_000);

  afterAll(async () => {
    await d?.close();
    aws.destroy();
  });

  it('rolls a torn active configuration forward to a new epoch, which clients read as consistent', async () => {
    // Arrange: a stalled writer's late write leaves the secret one epoch ahead of the parameter and the authority.
    const before = await readActiveOnce(d.stores, d.paths);
    if (before.kind !== 'consistent') throw new Error(`expected a consistent start, got ${before.kind}`);
    await d.stores.secrets.put(
      d.paths.activeCredentialsSecret,
      new Redacted(JSON.stringify({ ...before.credentials.reveal(), epoch: 1 })),
    );
    const torn = await readActiveOnce(d.stores, d.paths);

    // Act
    const out = await run(
      process.execPath,
      ['bin/mm2-failover.ts', 'repair', '--local', '--reason', 'status says torn', '--requested-by', 'test'],
      { env: { ...process.env, MM2_FAILOVER_LOCAL_FILE: localFile } },
    );

    // Assert
    expect(torn).toEqual({ kind: 'torn', parameterEpoch: 0, secretEpoch: 1 });
    // Above the stray epoch 1, so that a reader who saw it moves on too.
    expect(JSON.parse(out.stdout)).toMatchObject({
      status: 'repaired',
      epoch: 2,
      cluster: 'primary',
      newEpoch: true,
    });
    const after = await readActiveOnce(d.stores, d.paths);
    expect(after.kind).toBe('consistent');
    if (after.kind === 'consistent') {
      expect(after.config).toMatchObject({ epoch: 2, cluster: 'primary' });
      expect(after.config.bootstrapServers).toEqual(before.config.bootstrapServers);
    }
  }, 180_000);
});
