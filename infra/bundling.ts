/**
 * How every function is bundled. One place, so the stack (through NodejsFunction) and `bench/bundle.bench.ts`
 * (through esbuild's API) build the same bundle.
 */

import type { BuildOptions } from 'esbuild';

/** Lambda's `nodejs24.x`. */
export const esbuildTarget = 'node24';

/**
 * Prefer the ESM builds of dependencies (the AWS SDK v3 ships both): esbuild can drop what is unused.
 */
export const mainFields = ['module', 'main'];

/**
 * The bundle is ESM, but kafkajs and parts of the SDK are CommonJS and `require()` Node built-ins at run time;
 * esbuild's ESM output has no `require`, so give it one. (`process.getBuiltinModule` rather than an `import`
 * of `node:module`: see {@link builtinAliases}.)
 */
export const esmRequireBanner =
  "const require = process.getBuiltinModule('node:module').createRequire(import.meta.url);";

/**
 * Nothing is external: the AWS SDK the tests ran against ships in the bundle instead of whatever version the
 * Lambda runtime carries that day.
 */
export const externalModules: string[] = [];

/**
 * Evaluated first in every bundle: stack traces are mapped to the sources through the bundle's source map when
 * they are formatted (shared/runtime/source-maps.ts), instead of Node's `--enable-source-maps` reading the map
 * on every cold start. Relative to the project root.
 */
export const injectedModules = ['./shared/runtime/install-source-maps.ts'];

/**
 * The Node built-ins that the bundled ES modules (the AWS SDK's, Powertools', ours) import. An `import` of a
 * built-in makes Node build an ES module facade for it, which reads every export once, getters included:
 * `node:http`'s `WebSocket` getter alone loads Node's internal undici (about 30 ms of CPU per cold start on
 * the bench machine), `node:process`' getters open stdin/stdout/stderr. `require()` reads nothing, and the
 * Lambda runtime itself loads `node:http` that way. So each of these is aliased to a one-line CommonJS shim
 * (`infra/node-builtins/<name>.cjs`: `module.exports = process.getBuiltinModule('node:<name>')`) that esbuild
 * bundles as a `require`: the same module object, reached without the facade. Measured on this machine: 75 ms
 * of CPU to import 16 of these as ES modules, 31 ms to require them.
 *
 * `test/unit/infra/bundling.test.ts` fails, naming it, when a dependency starts importing a built-in that is
 * not listed here.
 */
export const aliasedBuiltins = [
  'async_hooks',
  'buffer',
  'child_process',
  'console',
  'crypto',
  'fs',
  'fs/promises',
  'http',
  'https',
  'module',
  'os',
  'path',
  'process',
  'stream',
  'timers',
  'url',
  'util',
  'zlib',
] as const;

/** Relative to the project root, where both NodejsFunction and the bench run esbuild. */
function builtinShimPath(builtin: string): string {
  return `./infra/node-builtins/${builtin.replaceAll('/', '-')}.cjs`;
}

/** esbuild `alias`: `http` and `node:http` (and the rest of {@link aliasedBuiltins}) to their shims. */
export const builtinAliases: Record<string, string> = Object.fromEntries(
  aliasedBuiltins.flatMap((b) => [
    [b, builtinShimPath(b)],
    [`node:${b}`, builtinShimPath(b)],
  ]),
);

/**
 * The deployed bundle as esbuild API options: what `Mm2Function`'s NodejsFunction bundling passes to the
 * esbuild CLI (ESM, minified, a linked source map without sources content, the injected module and the
 * aliases above).
 */
export function deployedBuildOptions(entry: string, outfile: string, projectRoot: string): BuildOptions {
  return {
    absWorkingDir: projectRoot,
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: esbuildTarget,
    mainFields,
    banner: { js: esmRequireBanner },
    inject: injectedModules,
    alias: builtinAliases,
    external: externalModules,
    minify: true,
    sourcemap: 'linked',
    sourcesContent: false,
    logLevel: 'warning',
  };
}
