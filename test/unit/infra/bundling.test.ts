import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aliasedBuiltins, deployedBuildOptions } from '#infra/bundling.ts';
import { discoverFunctionEntries } from '#infra/function-catalog.ts';
import { projectRoot } from '#infra/mm2-failover.ts';

/** esbuild on two busy cores: a few seconds per function. */
const buildTimeoutMs = 120_000;

const fixture = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'stack-trace', 'entry.ts');
const work = mkdtempSync(join(tmpdir(), 'mm2-bundling-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('deployed bundles', () => {
  it(
    'reach every Node built-in through require(), never through an ES module import',
    async () => {
      const entries = Object.entries(discoverFunctionEntries(projectRoot));
      expect(entries.length).toBeGreaterThan(0);
      const imported: string[] = [];
      for (const [name, entry] of entries) {
        const result = await build({
          ...deployedBuildOptions(entry, join(work, name, 'index.mjs'), projectRoot),
          write: false,
          metafile: true,
        });
        for (const output of Object.values(result.metafile.outputs)) {
          for (const i of output.imports) {
            if (i.external && i.kind !== 'require-call') imported.push(`${name}: ${i.kind} of ${i.path}`);
          }
        }
      }
      // A new one means a dependency started importing it: add it to aliasedBuiltins (infra/bundling.ts).
      expect(imported).toEqual([]);
    },
    buildTimeoutMs,
  );

  it('alias only Node built-ins, each to a shim that hands back the built-in itself', () => {
    for (const name of aliasedBuiltins) {
      expect(isBuiltin(`node:${name}`), name).toBe(true);
      const shim = readFileSync(
        join(projectRoot, 'infra', 'node-builtins', `${name.replaceAll('/', '-')}.cjs`),
        'utf8',
      );
      expect(shim).toBe(`module.exports = process.getBuiltinModule('node:${name}');\n`);
    }
  });
});

describe('stack traces of a deployed bundle', () => {
  const outfile = join(work, 'stack-trace', 'index.mjs');
  beforeAll(async () => {
    await build(deployedBuildOptions(fixture, outfile, projectRoot));
  }, buildTimeoutMs);

  /** A fresh process imports the bundle, runs `before` (a statement), then prints the fixture's stacks. */
  function stacks(flags: string[], before = ''): string[] {
    const script = [
      `import { renameSync, rmSync } from 'node:fs';`,
      `const m = await import(${JSON.stringify(pathToFileURL(outfile).href)});`,
      before,
      `process.stdout.write(JSON.stringify(await m.stacks()));`,
    ].join('\n');
    const run = spawnSync(process.execPath, [...flags, '--input-type=module', '-e', script], {
      cwd: work,
      encoding: 'utf8',
      env: { PATH: process.env.PATH },
    });
    expect(run.status, run.stderr).toBe(0);
    return JSON.parse(run.stdout) as string[];
  }

  /** `<fixture>:<line>:` of the line marked `// MARK`. */
  function at(mark: string): string {
    const line =
      readFileSync(fixture, 'utf8')
        .split('\n')
        .findIndex((l) => l.endsWith(`// ${mark}`)) + 1;
    expect(line).toBeGreaterThan(0);
    return `${fixture}:${line}:`;
  }

  function topFrame(header: string, prefix: string, mark: string): RegExp {
    const literal = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return new RegExp(`^${literal(header)}\\n {4}at ${prefix}\\S+ \\(${literal(at(mark))}\\d+\\)\\n`);
  }

  it(
    'are mapped to the source lines exactly as --enable-source-maps maps them',
    () => {
      const lazy = stacks([]);
      expect(lazy).toEqual(stacks(['--enable-source-maps']));
      const [sync, async, constructed, method, node] = lazy;
      // The top frame points at the line that threw (names are whatever Node recovers from the map).
      expect(sync).toMatch(topFrame('Error: sync', '', 'SYNC'));
      expect(async).toMatch(topFrame('TypeError: async', '', 'ASYNC'));
      expect(constructed).toMatch(topFrame('RangeError: constructor', 'new ', 'CONSTRUCTOR'));
      expect(method).toMatch(topFrame('Error: method', '', 'METHOD'));
      // Node's own errors keep Node's header, code included.
      expect(node).toMatch(/^RangeError \[ERR_OUT_OF_RANGE\]: /);
      expect(lazy.join('\n')).not.toContain('index.mjs');
    },
    buildTimeoutMs,
  );

  it(
    'read the source map when a trace is formatted, not when the bundle loads',
    () => {
      const away = `${outfile}.map.away`;
      renameSync(`${outfile}.map`, away);
      try {
        // The map is missing while the bundle loads, and back before the first trace is formatted.
        const [sync] = stacks(
          [],
          `renameSync(${JSON.stringify(away)}, ${JSON.stringify(`${outfile}.map`)});`,
        );
        expect(sync).toMatch(topFrame('Error: sync', '', 'SYNC'));
      } finally {
        rmSync(away, { force: true });
      }
      // No map at all: the frames stay as V8 wrote them, the trace is still whole.
      const kept = `${outfile}.map.kept`;
      renameSync(`${outfile}.map`, kept);
      try {
        const [sync] = stacks([]);
        expect(sync).toMatch(/^Error: sync\n {4}at \S+ \(file:\/\/.*index\.mjs:\d+:\d+\)/);
      } finally {
        renameSync(kept, `${outfile}.map`);
      }
    },
    buildTimeoutMs,
  );
});
