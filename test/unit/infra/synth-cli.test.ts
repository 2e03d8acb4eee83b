import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverFunctionEntries, functionNames } from '#infra/function-catalog.ts';
import { projectRoot } from '#infra/mm2-failover.ts';
import { loadDeploymentConfigFile } from '#shared/config/load.ts';
import { exampleConfigInput } from './synthesize.ts';

/** The real `cdk synth` with real bundles of whatever functions/ holds: minutes on two busy cores. */
const cliTimeoutMs = 600_000;

interface Run {
  code: number | null;
  output: string;
}

/**
 * `cdk synth` as an operator runs it, but with no AWS credentials, no region, no account, instance metadata
 * off, and every HTTP(S) request sent to a closed port: whatever it needs, it must find offline.
 */
function cdkSynth(args: string[]): Promise<Run> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('AWS_') && !k.startsWith('CDK_')) env[k] = v;
  Object.assign(env, {
    PATH: `${join(projectRoot, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    HTTP_PROXY: 'http://127.0.0.1:9',
    HTTPS_PROXY: 'http://127.0.0.1:9',
    NO_PROXY: '',
  });
  return new Promise((resolve, reject) => {
    const child = spawn(join(projectRoot, 'node_modules', '.bin', 'cdk'), ['synth', '--quiet', ...args], {
      cwd: projectRoot,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** A PEM block with a body, raw or inside a JS string literal (`\\n` escapes). */
const pem = /-----BEGIN [A-Z ]*(PRIVATE KEY|CERTIFICATE)-----(\\n|\s)+[A-Za-z0-9+/=]{40,}/;

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('cdk synth (the CLI)', () => {
  const work = mkdtempSync(join(tmpdir(), 'mm2-failover-synth-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  describe('with the example config', () => {
    const outdir = join(work, 'cdk.out');
    let run: Run;
    beforeAll(async () => {
      run = await cdkSynth(['--output', outdir]);
    }, cliTimeoutMs);

    it('succeeds offline without credentials, account or region', () => {
      expect(run.code, run.output).toBe(0);
    });

    it('deploys a function for each handler in functions/, bundled as one ESM file', () => {
      const template = JSON.parse(
        readFileSync(join(outdir, 'mm2-failover-orders-dr.template.json'), 'utf8'),
      ) as {
        Resources: Record<string, { Type: string; Metadata?: Record<string, string> }>;
      };
      const present = Object.keys(discoverFunctionEntries(projectRoot));
      // Written first and the reason the stack exists: they must never silently drop out of the deployment.
      expect(present).toEqual(expect.arrayContaining(['probe', 'failover']));
      const deployed = Object.entries(template.Resources).filter(
        ([, r]) => r.Type === 'AWS::Lambda::Function',
      );
      expect(
        deployed.map(([id]) => functionNames.find((n) => id.toLowerCase().startsWith(`${n}function`))).sort(),
      ).toEqual([...present].sort());
      for (const [, r] of deployed) {
        const asset = r.Metadata?.['aws:asset:path'];
        expect(asset).toBeDefined();
        expect(readdirSync(join(outdir, asset as string)).sort()).toEqual([
          'index.mjs',
          'index.mjs.map',
          'mm2-failover.config.json',
        ]);
        // The config the function reads at cold start: the validated example, defaults filled in.
        expect(
          JSON.parse(readFileSync(join(outdir, asset as string, 'mm2-failover.config.json'), 'utf8')),
        ).toEqual(loadDeploymentConfigFile(join(projectRoot, 'failover.config.json')));
      }
    });

    it('ships bundles that import nothing and report a cold-start error at its source line', async () => {
      const template = JSON.parse(
        readFileSync(join(outdir, 'mm2-failover-orders-dr.template.json'), 'utf8'),
      ) as { Resources: Record<string, { Type: string; Metadata?: Record<string, string> }> };
      const bundles = Object.values(template.Resources)
        .filter((r) => r.Type === 'AWS::Lambda::Function')
        .map((r) => join(outdir, r.Metadata?.['aws:asset:path'] as string, 'index.mjs'));
      expect(bundles.length).toBeGreaterThan(0);
      for (const bundle of bundles) {
        // Everything is inside, and Node built-ins are reached through require(), never through an ES
        // module import (infra/bundling.ts says why).
        const scan = await build({
          entryPoints: [bundle],
          bundle: true,
          write: false,
          metafile: true,
          platform: 'node',
          format: 'esm',
          external: ['*'],
          logLevel: 'silent',
        });
        const imports = Object.values(scan.metafile.outputs)
          .flatMap((o) => o.imports)
          .filter((i) => i.kind !== 'require-call')
          .map((i) => `${i.kind} of ${i.path}`);
        expect(imports, bundle).toEqual([]);
        // With the stack's environment (no NODE_OPTIONS) and a config that fails validation, the import
        // throws; its stack trace points at our sources, not at the minified bundle.
        const badConfig = join(work, 'empty.config.json');
        writeFileSync(badConfig, '{}');
        const run = spawnSync(
          process.execPath,
          [
            '--input-type=module',
            '-e',
            `try { await import(${JSON.stringify(pathToFileURL(bundle).href)}); } catch (e) { process.stdout.write(e.stack); }`,
          ],
          { encoding: 'utf8', env: { PATH: process.env.PATH, MM2_FAILOVER_CONFIG_FILE: badConfig } },
        );
        expect(run.stdout, run.stderr).toContain(
          `invalid deployment config ${badConfig} (MM2_FAILOVER_CONFIG_FILE)`,
        );
        expect(run.stdout).toMatch(/\n {4}at \S+ \(\S*\/shared\/config\/validate\.ts:\d+:\d+\)\n/);
        expect(run.stdout).not.toContain('index.mjs');
      }
      // Four esbuild scans and four Node processes: seconds on a loaded two-core machine, not a speed test.
    }, 60_000);

    it('writes no secret value anywhere in cdk.out, bundles and source maps included', () => {
      // The scan recognises a PEM block as bundled code would carry it ...
      expect(
        pem.test(
          `const key = "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7"`,
        ),
      ).toBe(true);
      // ... and not the markers the code mentions to validate PEM input.
      expect(pem.test(`z.string().includes('-----BEGIN CERTIFICATE-----')`)).toBe(false);
      const files = filesUnder(outdir);
      const withPem = files.filter((f) => pem.test(readFileSync(f, 'utf8')));
      expect(withPem).toEqual([]);
      // Values a template could carry: a secret's initial value or generated value.
      const templates = files.filter((f) => f.endsWith('.template.json'));
      expect(templates).toHaveLength(1);
      for (const t of templates) {
        expect(readFileSync(t, 'utf8')).not.toMatch(/"(SecretString|GenerateSecretString|SecretBinary)"/);
      }
    });
  });

  it(
    'fails with every problem of an invalid config listed by path',
    async () => {
      const bad = exampleConfigInput() as Record<string, unknown>;
      Object.assign(bad, {
        name: 'Orders DR',
        topics: [],
        notifications: { emails: ['not-an-email'] },
        surprise: true,
      });
      (bad.clusters as { secondary: { auth: string } }).secondary.auth = 'kerberos';
      (bad.detection as { datapointsToAlarm: number }).datapointsToAlarm = 5;
      const file = join(work, 'bad.config.json');
      writeFileSync(file, JSON.stringify(bad));

      const run = await cdkSynth(['--output', join(work, 'bad.out'), '--context', `config=${file}`]);

      expect(run.code).not.toBe(0);
      expect(run.output).toContain(`invalid deployment config ${file}: 6 problems`);
      for (const path of [
        'name',
        'clusters.secondary.auth',
        'topics',
        'detection.datapointsToAlarm',
        'notifications.emails[0]',
        '(root)',
      ]) {
        expect(run.output).toContain(`  - ${path}: `);
      }
    },
    cliTimeoutMs,
  );
});
