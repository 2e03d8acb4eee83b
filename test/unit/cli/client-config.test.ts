import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ActiveConfig } from '#shared/config/contract.ts';
import { deploymentPaths } from '#shared/config/paths.ts';
import { writeActive } from '#shared/store/active-config.ts';
import { Redacted } from '#shared/store/redacted.ts';
import { clientConfig } from '../../../bin/client-config.ts';
import { FakeStores } from '../../fakes/stores.ts';

const paths = deploymentPaths('orders-dr');

function active(epoch: number): ActiveConfig {
  return {
    epoch,
    cluster: 'secondary',
    alias: 'secondary',
    bootstrapServers: ['b1:9093'],
    securityProtocol: 'SSL',
    credentialsSecret: paths.activeCredentialsSecret,
    topics: { orders: { produce: 'primary.orders', subscribe: ['primary.orders'] } },
    switchedAt: '2026-11-21T10:00:00.000Z',
    reason: 'test',
  };
}

const key = '-----BEGIN PRIVATE KEY-----\nnot-a-real-key\n-----END PRIVATE KEY-----\n';
const creds = new Redacted({ ca: 'CA PEM', cert: 'CERT PEM', key });

/** Runs the command on fake stores holding epoch 3 of an mTLS deployment; what it printed and returned. */
async function run(...argv: string[]) {
  const stores = new FakeStores();
  await writeActive(stores, paths, active(3), creds);
  const out = { stdout: '', stderr: '' };
  const code = await clientConfig(argv, {
    localFile: '/nonexistent/local-deployment.json',
    stdout: (t) => {
      out.stdout += t;
    },
    stderr: (t) => {
      out.stderr += t;
    },
    stores: () => stores,
  });
  return { code, ...out };
}

describe('mm2-failover client-config', () => {
  it('documents every format and the secret rules in --help', async () => {
    const { code, stdout } = await run('--help');

    expect(code).toBe(0);
    for (const text of [
      'properties',
      'librdkafka',
      'json',
      'ssl.keystore.type=PEM',
      '--out-dir',
      '--inline-secrets',
    ]) {
      expect(stdout).toContain(text);
    }
  });

  it.each([
    [
      ['--deployment', 'orders-dr', '--format', 'yaml'],
      "--format: expected one of properties, librdkafka, json, got 'yaml'",
    ],
    [['--format', 'json'], 'give the deployment with --deployment <name>, or --local'],
    [
      ['--deployment', 'orders-dr', '--role', 'admins'],
      "--role: expected one of producers, consumers, got 'admins'",
    ],
    [['--local'], 'no local deployment'],
    [['--deployment', 'orders-dr', '--bogus'], "Unknown option '--bogus'"],
  ])('exits 2 with the reason and the usage for %j', async (argv, message) => {
    const { code, stdout, stderr } = await run(...argv);

    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(message);
    expect(stderr).toContain('usage:\n  mm2-failover client-config');
  });

  it('never prints a private key unless asked: exits 2 without --out-dir or --inline-secrets', async () => {
    const refused = await run('--deployment', 'orders-dr', '--format', 'json');
    const asked = await run('--deployment', 'orders-dr', '--format', 'json', '--inline-secrets');

    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain(
      "epoch 3's configuration holds a private key or a password: expected --out-dir <dir> (files of mode 0600), " +
        'or --inline-secrets to print it on standard output',
    );
    expect(refused.stderr).not.toContain('not-a-real-key');
    expect(asked.code).toBe(0);
    expect(JSON.parse(asked.stdout)).toMatchObject({ epoch: 3, tls: { key } });
  });

  it('writes the configuration and its PEM files with mode 0600 into --out-dir and prints the path', async () => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'mm2-client-config-')), 'kafka');

    const { code, stdout } = await run(
      '--deployment',
      'orders-dr',
      '--format',
      'librdkafka',
      '--out-dir',
      dir,
    );

    expect(code).toBe(0);
    expect(stdout).toBe(`${path.join(dir, 'librdkafka.properties')}\n`);
    expect(readdirSync(dir).sort()).toEqual(['ca.pem', 'client.crt', 'client.key', 'librdkafka.properties']);
    for (const file of readdirSync(dir)) expect(statSync(path.join(dir, file)).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readFileSync(path.join(dir, 'client.key'), 'utf8')).toBe(key);
    expect(readFileSync(path.join(dir, 'librdkafka.properties'), 'utf8')).toContain(
      `ssl.key.location=${path.join(dir, 'client.key')}\n`,
    );
  });
});
