import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { aliasedBuiltins, deployedBuildOptions } from '#infra/bundling.ts';
import { discoverFunctionEntries } from '#infra/function-catalog.ts';
import { projectRoot } from '#infra/stack.ts';

/** esbuild on two busy cores: a few seconds per function. */
const buildTimeoutMs = 120_000;

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
