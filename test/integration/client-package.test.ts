import { execFile, execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsClientConfig } from '#harness/aws-clients.ts';
import { kafkaClient } from '#harness/kafka-clients.ts';
import { uniqueName } from '#harness/unique-name.ts';
import { createAwsStores } from '#shared/client/index.ts';
import { deploymentWithTopic } from './client-deployment.ts';
import { packageAppSource, RunningApp } from './package-app.ts';
import { harness } from './shared-harness.ts';

// @mm2-failover/client as an application gets it: packed (`npm pack` builds it), installed from the tarball into a
// scratch application outside the repository, and run on Node 20 (the oldest supported) and Node 24 at once against
// the shared harness through a failover.

const run = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, '..', '..');
const packageDir = path.join(repoRoot, 'packages', 'client');
/** The one warning an application on Node 20 prints, from the AWS SDK (its own Node support policy). */
const awsSdkNodeVersionWarning =
  /^\(node:\d+\) Warning: NodeVersionSupportWarning: [\s\S]*?\(Use `node --trace-warnings \.\.\.` to show where the warning was created\)\n/;
/** Records acknowledged in each epoch, per application, before moving on. */
const PER_EPOCH = 40;

/** The first `node` on PATH whose major version is `major` (npm scripts put the project's Node 24 first). */
function nodeOnPath(major: number): string | undefined {
  const seen = new Set<string>();
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, 'node');
    if (!existsSync(candidate)) continue;
    const real = realpathSync(candidate);
    if (seen.has(real)) continue;
    seen.add(real);
    const version = execFileSync(real, ['--version'], { encoding: 'utf8' }).trim();
    if (version.startsWith(`v${major}.`)) return real;
  }
  return undefined;
}

interface Packed {
  filename: string;
  size: number;
  unpackedSize: number;
  entryCount: number;
}

describe('@mm2-failover/client installed from its tarball', () => {
  const h = harness();
  const { info } = h;
  const aws = awsClientConfig(info);
  const stores = createAwsStores(aws);
  const work = mkdtempSync(path.join(tmpdir(), 'mm2-client-package-'));
  const appDir = path.join(work, 'app');
  let packed: Packed;
  let installedPackages: number;
  let primaryAdmin: Admin;
  let secondaryAdmin: Admin;
  const apps: RunningApp[] = [];

  beforeAll(async () => {
    primaryAdmin = kafkaClient(info, 'primary').admin();
    secondaryAdmin = kafkaClient(info, 'secondary').admin();
    await Promise.all([primaryAdmin.connect(), secondaryAdmin.connect()]);

    const packStarted = Date.now();
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], {
      cwd: packageDir,
      maxBuffer: 16 * 1024 * 1024,
    });
    [packed] = JSON.parse(stdout) as [Packed];
    const packMs = Date.now() - packStarted;

    const installStarted = Date.now();
    mkdirSync(appDir);
    writeFileSync(
      path.join(appDir, 'package.json'),
      `${JSON.stringify({ name: 'scratch-app', private: true, type: 'module' }, null, 2)}\n`,
    );
    // From npm's cache where it can (the project's own install filled it): the same registry, fewer round trips.
    await run(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        path.join(work, packed.filename),
        'kafkajs@2.2.4',
      ],
      { cwd: appDir, maxBuffer: 16 * 1024 * 1024 },
    );
    const lock = JSON.parse(
      readFileSync(path.join(appDir, 'node_modules', '.package-lock.json'), 'utf8'),
    ) as {
      packages: Record<string, unknown>;
    };
    installedPackages = Object.keys(lock.packages).filter((p) => p.startsWith('node_modules/')).length;
    writeFileSync(path.join(appDir, 'app.mjs'), packageAppSource);
    console.info(
      `[client-package] tarball ${packed.filename}: ${packed.size} bytes, ${packed.unpackedSize} unpacked, ` +
        `${packed.entryCount} files (pack ${packMs} ms); the application installed it and kafkajs in ` +
        `${Date.now() - installStarted} ms: ${installedPackages} packages in node_modules`,
    );
  }, 300_000);

  afterAll(async () => {
    for (const app of apps) app.kill();
    await Promise.all([primaryAdmin?.disconnect(), secondaryAdmin?.disconnect()]);
    rmSync(work, { recursive: true, force: true });
  });

  it('ships compiled JavaScript with declarations that an application type-checks against', async () => {
    // Arrange: one file uses the API as documented, one passes a number as the deployment.
    writeFileSync(
      path.join(appDir, 'typed.ts'),
      [
        "import { type ActiveClientConfig, createAwsStores, type FollowingBatchPayload, FollowingConsumer, watchActiveConfig } from '@mm2-failover/client';",
        'export async function follow(): Promise<number> {',
        "  const watcher = await watchActiveConfig({ deployment: 'orders-dr', stores: createAwsStores({ region: 'eu-west-1' }), kafka: { clientId: 'typed' } });",
        "  const consumer = new FollowingConsumer({ source: watcher, groupId: 'g', topics: ['orders'], eachBatch: async (p: FollowingBatchPayload) => p.resolveOffset(p.batch.lastOffset()) });",
        '  await consumer.start();',
        '  const active: ActiveClientConfig = watcher.current();',
        '  return active.epoch;',
        '}',
        '',
      ].join('\n'),
    );
    writeFileSync(
      path.join(appDir, 'mistyped.ts'),
      [
        "import { createAwsStores, watchActiveConfig } from '@mm2-failover/client';",
        "export const watcher = watchActiveConfig({ deployment: 42, stores: createAwsStores(), kafka: { clientId: 'x' } });",
        '',
      ].join('\n'),
    );
    writeFileSync(
      path.join(appDir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
          typeRoots: [path.join(repoRoot, 'node_modules', '@types')],
        },
        files: ['typed.ts', 'mistyped.ts'],
      }),
    );
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

    // Act
    const checked = await run(process.execPath, [tsc, '-p', appDir], { cwd: appDir }).then(
      () => ({ code: 0, stdout: '' }),
      (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
    );

    // Assert: exactly the one mistake, found through the package's declarations.
    const errors = checked.stdout.split('\n').filter((l) => /error TS\d+/.test(l));
    expect(errors, checked.stdout).toHaveLength(1);
    expect(errors[0]).toMatch(
      /^mistyped\.ts\(2,\d+\): error TS2322: Type 'number' is not assignable to type 'string'/,
    );
  }, 120_000);

  it('follows a failover in an application on Node 20 and one on Node 24: every acknowledged record consumed, no kafkajs warning', async () => {
    // Arrange
    const node20 = nodeOnPath(20);
    expect(node20, "a Node 20 on PATH (the machine's node; see the README prerequisites)").toBeDefined();
    const d = await deploymentWithTopic(info, stores, { primaryAdmin, secondaryAdmin });
    const env = (app: string, extra: Record<string, string>): Record<string, string> => ({
      APP_ID: app,
      DEPLOYMENT: d.name,
      TOPIC: d.topic,
      GROUP: uniqueName(app),
      REGION: aws.region,
      ENDPOINT: aws.endpoint,
      ACCESS_KEY_ID: aws.credentials.accessKeyId,
      SECRET_ACCESS_KEY: aws.credentials.secretAccessKey,
      ...extra,
    });
    const onNode20 = new RunningApp(
      'node20',
      node20 ?? '',
      appDir,
      env('node20', { HANDLER: 'eachMessage' }),
    );
    const onNode24 = new RunningApp(
      'node24',
      process.execPath,
      appDir,
      env('node24', { HANDLER: 'eachBatch', CRASH_ON: 'node24-10' }),
    );
    apps.push(onNode20, onNode24);
    const both = (each: (app: RunningApp) => Promise<void>) => Promise.all([each(onNode20), each(onNode24)]);
    /** What each application did, printed whatever happens: a failed wait names only what it waited for. */
    const report = () => {
      for (const app of [onNode20, onNode24]) {
        const seen = app.ownSeen();
        console.info(
          `[client-package] ${app.name} (${app.of('ready')[0]?.node}): handed ${app.of('stopped')[0]?.handed}, ` +
            `${app.of('acked').length} acknowledged (epoch 1: ${app.ackedIn(1)}, epoch 2: ${app.ackedIn(2)}), ` +
            `${seen.length} consumed (${seen.length - new Set(seen.map((e) => e.id)).size} duplicates), ` +
            `switch ${JSON.stringify(app.of('consumer-switch')[0])}; last events ` +
            `${app.events
              .slice(-5)
              .map((e) => JSON.stringify(e))
              .join(' ')}; stderr ${JSON.stringify(app.stderr)}`,
        );
      }
    };

    // Act
    let exitCodes: unknown[];
    try {
      await both((app) => app.until(() => app.of('ready').length === 1, 'ready'));
      await both((app) =>
        app.until(
          () => app.ackedIn(1) >= PER_EPOCH && app.ownSeen().length >= PER_EPOCH / 2,
          'records acknowledged and consumed on the primary',
        ),
      );
      const rebuilt = () => onNode24.of('log').some((e) => e.message === 'consumer rebuilt after a crash');
      await onNode24.until(rebuilt, 'the consumer rebuilt after its handler crashed');
      await d.switchTo(2, 'secondary');
      await both((app) =>
        app.until(
          () => app.ackedIn(2) >= PER_EPOCH && app.of('consumer-switch').length === 1,
          'producer and consumer following the failover to the secondary',
        ),
      );
      await both(async (app) => {
        app.tell('stop');
        await app.until(() => app.of('stopped').length === 1, 'sends in flight settled');
        await app
          .until(() => app.missing().length === 0, 'every acknowledged record consumed', 90_000)
          .catch(() => undefined); // the assertion lists what is missing
        app.tell('close');
      });
      exitCodes = await Promise.all(
        [onNode20, onNode24].map((app) =>
          Promise.race([
            app.exited,
            new Promise((r) => setTimeout(() => r('still running 30 s after close'), 30_000)),
          ]),
        ),
      );
    } finally {
      report();
    }

    // Assert
    for (const app of [onNode20, onNode24]) {
      const seen = app.ownSeen();
      expect(app.of('rejected')).toEqual([]);
      expect(app.missing()).toEqual([]);
      expect(app.of('watcher-error')).toEqual([]);
      expect(new Set(seen.map((e) => e.cluster))).toEqual(new Set(['primary', 'secondary']));
      expect(app.of('consumer-switch').map((e) => [e.from?.cluster, e.to?.cluster])).toEqual([
        ['primary', 'secondary'],
      ]);
      expect(app.otherOutput).toEqual([]);
      expect(app.stderr).not.toContain('TimeoutNegativeWarning');
      // On Node 20 the AWS SDK says that its releases after the first week of January 2027 need Node 22.
      expect(app.stderr.replace(awsSdkNodeVersionWarning, '')).toBe('');
    }
    expect(exitCodes).toEqual([0, 0]);
    expect(onNode20.of('ready')[0]?.node).toMatch(/^v20\./);
    expect(onNode24.of('ready')[0]?.node).toMatch(/^v24\./);
    expect(onNode24.of('crashing').map((e) => e.id)).toEqual(['node24-10']);
    expect(onNode24.of('seen').some((e) => e.id === 'node24-10')).toBe(true);
  }, 300_000);
});
