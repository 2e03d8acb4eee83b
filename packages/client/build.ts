/**
 * Builds `@mm2-failover/client` from the library's source in shared/client (the functions and the drill use the
 * same source): `dist/index.js`, one ES module bundled by esbuild with every npm dependency left external, and
 * `dist/types/`, the declarations tsc emits for it. Node does not strip types inside node_modules, so the
 * package ships JavaScript. Run by `npm pack` (prepack) and `npm run build` in this folder.
 *
 * It fails when the bundle imports a package this package.json does not declare, when a declared dependency is
 * not imported, or when a declared version differs from the one the project tests (the root package.json).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

const here = import.meta.dirname;
const root = resolve(here, '..', '..');
const dist = join(here, 'dist');

interface Manifest {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}
const readManifest = (dir: string) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
const manifest = readManifest(here);
const tested = readManifest(root).dependencies ?? {};

rmSync(dist, { recursive: true, force: true });

const bundled = await build({
  absWorkingDir: root,
  entryPoints: ['shared/client/index.ts'],
  outfile: join(dist, 'index.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  // The oldest Node the package supports (package.json "engines"); esbuild lowers syntax, not APIs.
  target: 'node20',
  packages: 'external',
  metafile: true,
  legalComments: 'none',
  banner: {
    js: `// ${manifest.name} ${manifest.version}: built from shared/client by packages/client/build.ts`,
  },
  logLevel: 'warning',
});

/** `@aws-sdk/client-ssm/sub/path` → `@aws-sdk/client-ssm`, `kafkajs/src/x.js` → `kafkajs`. */
const packageOf = (specifier: string) =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');
const imported = new Set(
  Object.values(bundled.metafile.outputs)
    .flatMap((o) => o.imports)
    .filter((i) => i.external && !isBuiltin(i.path))
    .map((i) => packageOf(i.path)),
);
const declared = { ...manifest.dependencies, ...manifest.peerDependencies };
const problems = [
  ...[...imported]
    .filter((p) => !(p in declared))
    .map(
      (p) => `the bundle imports ${p}: expected it in dependencies or peerDependencies, found it in neither`,
    ),
  ...Object.keys(declared)
    .filter((p) => !imported.has(p))
    .map((p) => `${p} is declared: expected the bundle to import it, found no import`),
  ...Object.entries(declared)
    .filter(([p, range]) => tested[p] !== range)
    .map(
      ([p, range]) => `${p}: expected the version the project tests (${tested[p] ?? 'none'}), found ${range}`,
    ),
];
if (problems.length > 0) {
  throw new Error(`${manifest.name}: package.json does not match the bundle\n  - ${problems.join('\n  - ')}`);
}

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(here, 'tsconfig.build.json')], { stdio: 'inherit' });

// The sources import each other as `./x.ts` (Node runs them as they are); declarations for compiled JavaScript
// name `./x.js`, which TypeScript resolves to `./x.d.ts` in every module resolution mode.
const declarations = (dir: string): string[] =>
  readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? declarations(path) : path.endsWith('.d.ts') ? [path] : [];
  });
for (const file of declarations(join(dist, 'types'))) {
  const text = readFileSync(file, 'utf8');
  writeFileSync(file, text.replace(/((?:from|import\()\s*['"]\.{1,2}\/[^'"]+)\.ts(['"])/g, '$1.js$2'));
}

const size = statSync(join(dist, 'index.js')).size;
process.stderr.write(
  `${manifest.name} ${manifest.version}: dist/index.js ${(size / 1024).toFixed(1)} KiB; ` +
    `imports ${[...imported].sort().join(', ')}\n`,
);
