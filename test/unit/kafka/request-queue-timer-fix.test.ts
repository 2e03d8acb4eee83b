import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { deployedBuildOptions } from '#infra/bundling.ts';
import { projectRoot } from '#infra/mm2-failover.ts';

// kafkajs 2.2.4 schedules a timer at about minus the epoch after every response on an idle connection: a 1 ms loop,
// and on Node 24 a `TimeoutNegativeWarning` in every log. Each case runs a fresh Node 24 process (warnings are
// printed once per process) that answers one request on a kafkajs connection (fixtures/respond-once.mjs).

const here = dirname(fileURLToPath(import.meta.url));
const fixture = pathToFileURL(join(here, 'fixtures', 'respond-once.mjs')).href;
const work = mkdtempSync(join(tmpdir(), 'mm2-request-queue-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/**
 * In a fresh Node (the project's, 24): imports `first`, then calls `respondOnce` of `module`. What the process
 * printed on stderr, and how many timers kafkajs set.
 */
function respondOnce(module: string, first: string[] = []): { stderr: string; timers: number } {
  const script = [
    ...first.map((i) => `import ${JSON.stringify(i)};`),
    `const { respondOnce } = await import(${JSON.stringify(module)});`,
    'process.stdout.write(String(await respondOnce()));',
  ].join('\n');
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: projectRoot,
    encoding: 'utf8',
    env: { PATH: process.env.PATH },
  });
  expect(run.status, run.stderr).toBe(0);
  return { stderr: run.stderr, timers: Number(run.stdout) };
}

describe("kafkajs' request queue timer", () => {
  it('runs Node 24 (the warning exists from Node 23 on)', () => {
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(24);
  });

  it('left as kafkajs ships it, loops every millisecond and prints TimeoutNegativeWarning', () => {
    const { stderr, timers } = respondOnce(fixture);

    expect(stderr).toContain('TimeoutNegativeWarning');
    expect(timers).toBeGreaterThan(10);
  });

  it('once the product has loaded its Kafka client module, sets no timer for an empty queue and warns nothing', () => {
    const { stderr, timers } = respondOnce(fixture, ['#shared/kafka/client-factory.ts']);

    expect(stderr).not.toContain('TimeoutNegativeWarning');
    expect(timers).toBe(0);
  });

  it('is fixed inside a function bundle too (esbuild makes one copy of the queue module)', async () => {
    const outfile = join(work, 'bundle', 'index.mjs');
    await build({
      ...deployedBuildOptions('unused', outfile, projectRoot),
      entryPoints: [],
      stdin: {
        contents: `import '#shared/kafka/client-factory.ts';\nexport { respondOnce } from ${JSON.stringify(fileURLToPath(fixture))};\n`,
        resolveDir: projectRoot,
        sourcefile: 'entry.ts',
        loader: 'ts',
      },
    });

    const { stderr, timers } = respondOnce(pathToFileURL(outfile).href);

    expect(stderr).not.toContain('TimeoutNegativeWarning');
    expect(timers).toBe(0);
  }, 120_000);
});
