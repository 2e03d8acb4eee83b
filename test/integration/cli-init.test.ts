import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import { awsClientConfig, awsEnvironment } from '#harness/aws-clients.ts';
import { uniqueName } from '#harness/unique-name.ts';
import { deploymentPaths } from '#shared/config/paths.ts';
import { readActiveOnce } from '#shared/store/active-config.ts';
import { Redacted } from '#shared/store/redacted.ts';
import { SecretsManagerStore } from '#shared/store/secrets-manager-store.ts';
import { SsmParameterStore } from '#shared/store/ssm-parameter-store.ts';
import { harness } from './shared-harness.ts';

const run = promisify(execFile);

describe('mm2-failover init', () => {
  it('writes the first activation (primary, epoch 0) once and leaves an existing one alone', async () => {
    const { info } = harness();
    const name = uniqueName('cli')
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, '-')
      .slice(0, 40);
    const paths = deploymentPaths(name);
    const aws = awsClientConfig(info);
    const stores = {
      parameters: new SsmParameterStore(new SSMClient(aws)),
      secrets: new SecretsManagerStore(new SecretsManagerClient(aws)),
    };
    await stores.parameters.put(
      paths.clusterParameter('primary'),
      JSON.stringify({
        alias: 'primary',
        bootstrapServers: info.clusters.primary.bootstrapServers,
        securityProtocol: 'PLAINTEXT',
      }),
    );
    await stores.secrets.put(paths.clusterSecret('primary'), new Redacted('{}'));
    const dir = mkdtempSync(path.join(tmpdir(), 'mm2-cli-'));
    const configFile = path.join(dir, 'failover.config.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        name,
        mode: 'active-passive',
        replicationPolicy: 'identity',
        clusters: {
          primary: { alias: 'primary', auth: 'none' },
          secondary: { alias: 'secondary', auth: 'none' },
        },
        topics: ['orders'],
        mirror: { kind: 'manual' },
      }),
    );
    const cli = (args: string[]) =>
      run(process.execPath, ['bin/mm2-failover.ts', ...args], {
        env: { ...process.env, ...awsEnvironment(info) },
      });

    const first = await cli(['init', '--config', configFile, '--requested-by', 'test']);
    const second = await cli(['init', '--config', configFile, '--requested-by', 'test']);

    expect(JSON.parse(first.stdout)).toEqual({ status: 'initialised', cluster: 'primary', epoch: 0 });
    expect(JSON.parse(second.stdout)).toMatchObject({ status: 'exists', epoch: 0, cluster: 'primary' });
    const active = await readActiveOnce(stores, paths);
    expect(active.kind).toBe('consistent');
    if (active.kind === 'consistent') {
      expect(active.config.bootstrapServers).toEqual([info.clusters.primary.bootstrapServers]);
    }
  });

  it('refuses a broken config file with every problem by path and writes nothing', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mm2-cli-'));
    const configFile = path.join(dir, 'failover.config.json');
    writeFileSync(configFile, JSON.stringify({ name: 'Bad Name', mode: 'sideways' }));

    const failed = await run(process.execPath, ['bin/mm2-failover.ts', 'init', '--config', configFile]).catch(
      (e: { code: number; stderr: string }) => e,
    );

    expect('code' in failed ? failed.code : 0).toBe(1);
    expect('stderr' in failed ? failed.stderr : '').toMatch(/name: .*\n.*mode: /s);
  });
});
