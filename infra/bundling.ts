/**
 * How every function is bundled. One place, so the stack (through NodejsFunction) and `bench/bundle.bench.ts`
 * (through esbuild's API) build the same bundle.
 */

/** Lambda's `nodejs24.x`. */
export const esbuildTarget = 'node24';

/**
 * Prefer the ESM builds of dependencies (the AWS SDK v3 ships both): esbuild can drop what is unused.
 */
export const mainFields = ['module', 'main'];

/**
 * The bundle is ESM, but kafkajs and parts of the SDK are CommonJS and `require()` Node built-ins at run time;
 * esbuild's ESM output has no `require`, so give it one.
 */
export const esmRequireBanner =
  "import { createRequire as __mm2CreateRequire } from 'node:module'; const require = __mm2CreateRequire(import.meta.url);";

/**
 * Nothing is external: the AWS SDK the tests ran against ships in the bundle instead of whatever version the
 * Lambda runtime carries that day.
 */
export const externalModules: string[] = [];
