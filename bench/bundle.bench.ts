// `npm run bench:bundle`: what each function costs to ship and to start.
//
// For every handler in functions/ (the same list the stack deploys), two bundles are built with esbuild:
// - deployed: exactly as the stack bundles it (infra/bundling.ts `deployedBuildOptions`: ESM, node24, minified,
//   the AWS SDK inside, Node built-ins reached through require(), the stack-trace mapper injected first);
// - baseline: the same handler as NodejsFunction bundles by default (not minified, @aws-sdk/* and @smithy/*
//   external, loaded from node_modules as Lambda would load them from the runtime).
// Size is the .mjs (the source map ships beside it and is read only to format a stack trace).
// Init is a cold start without the Lambda runtime: a fresh Node 24 process imports the bundle, which reads the
// config and builds its AWS SDK and Kafka clients at module scope. Measured from just before the import to just
// after it, the median of RUNS processes per bundle. No network: clients are built, never called. Every bundle
// is imported with the Node options the stack gives the functions: none. (Until the deployed bundles mapped
// their own stack traces, the stack set NODE_OPTIONS=--enable-source-maps and the deployed import ran with it;
// Node then read the source map during the import. Now the map is read when a stack trace is first formatted,
// in production as here, and no trace is formatted during these imports.)
// The deployment config is a file beside the bundle (mm2-failover.config.json, named by MM2_FAILOVER_CONFIG_FILE
// and resolved against LAMBDA_TASK_ROOT), as the stack ships it (infra/bundled-config.ts). The deployed bundles
// are measured a second time with a large config, 1,000 topics and 500 consumer groups (`largeConfig`): what a
// config in the environment could not hold (Lambda's 4 KB).
// Targets: every deployed bundle under 1.5 MB, every deployed init under 300 ms on this machine, with either
// config.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { deployedBuildOptions, esbuildTarget, esmRequireBanner, mainFields } from '#infra/bundling.ts';
import { discoverFunctionEntries, type FunctionName } from '#infra/function-catalog.ts';
import { projectRoot } from '#infra/mm2-failover.ts';
import {
  bundledConfigFileName,
  configFileVariable,
  loadDeploymentConfigFile,
  parseDeploymentConfig,
} from '#shared/config/load.ts';
import { deploymentPaths } from '#shared/config/paths.ts';
import type { DeploymentConfig } from '#shared/config/schema.ts';

const RUNS = Number(process.env.BENCH_BUNDLE_RUNS ?? 9);
const MAX_BYTES = 1_500_000;
const MAX_INIT_MS = 300;
const work = path.join(projectRoot, '.out', 'bench-bundle');
const resultFile = path.join(projectRoot, 'bench', 'results', 'bundle.json');

type Variant = 'deployed' | 'baseline';

interface Measured {
  bytes: number;
  /** Wall time of the import: the figure the target is about, and the one a busy machine inflates. */
  initMsMedian: number;
  initMsRuns: number[];
  /** CPU time (user + system, all threads) of the same import: much less sensitive to other load. */
  initCpuMsMedian: number;
}

async function bundle(name: FunctionName, entry: string, variant: Variant): Promise<string> {
  const outfile = path.join(work, name, variant, 'index.mjs');
  rmSync(path.dirname(outfile), { recursive: true, force: true });
  await build(
    variant === 'deployed'
      ? deployedBuildOptions(entry, outfile, projectRoot)
      : {
          entryPoints: [entry],
          outfile,
          bundle: true,
          platform: 'node',
          format: 'esm',
          target: esbuildTarget,
          mainFields,
          banner: { js: esmRequireBanner },
          sourcemap: false,
          minify: false,
          external: ['@aws-sdk/*', '@smithy/*'],
          logLevel: 'warning',
        },
  );
  return outfile;
}

const exampleConfig = loadDeploymentConfigFile(path.join(projectRoot, 'failover.config.json'));
const LARGE = { topics: 1_000, groups: 500 };
const largeConfig = parseDeploymentConfig({
  ...exampleConfig,
  topics: Array.from({ length: LARGE.topics }, (_, i) => `orders.region-${String(i).padStart(4, '0')}`),
  consumerGroups: Array.from(
    { length: LARGE.groups },
    (_, i) => `billing-service-${String(i).padStart(3, '0')}`,
  ),
});

/**
 * What the stack puts in every function's environment and bundle, with stand-ins for what only CloudFormation
 * knows: the config is written beside `bundleFile`, which is where the function finds it.
 */
function functionEnvironment(
  name: FunctionName,
  bundleFile: string,
  config: DeploymentConfig,
): NodeJS.ProcessEnv {
  const taskRoot = path.dirname(bundleFile);
  writeFileSync(path.join(taskRoot, bundledConfigFileName), JSON.stringify(config));
  return {
    PATH: process.env.PATH,
    LAMBDA_TASK_ROOT: taskRoot,
    [configFileVariable]: bundledConfigFileName,
    MM2_FAILOVER_TABLE: 'bench-table',
    MM2_FAILOVER_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:bench',
    POWERTOOLS_SERVICE_NAME: `mm2-failover-${name}`,
    POWERTOOLS_METRICS_NAMESPACE: deploymentPaths(config.name).metricsNamespace,
    POWERTOOLS_LOG_LEVEL: 'INFO',
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_LAMBDA_FUNCTION_NAME: `mm2-failover-${name}`,
  };
}

/** The deployed bundle copied into a folder of its own, for a measurement with another config beside it. */
function copyBundle(file: string, folder: string): string {
  const dir = path.join(path.dirname(path.dirname(file)), folder);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const f of [path.basename(file), `${path.basename(file)}.map`]) {
    copyFileSync(path.join(path.dirname(file), f), path.join(dir, f));
  }
  return path.join(dir, path.basename(file));
}

/** One fresh process: import the bundle, print how long the import took. */
function initOnce(file: string, env: NodeJS.ProcessEnv): { ms: number; cpuMs: number } {
  const script = [
    `const c0 = process.cpuUsage();`,
    `const t0 = performance.now();`,
    `const m = await import(${JSON.stringify(pathToFileURL(file).href)});`,
    `const t1 = performance.now();`,
    `const c1 = process.cpuUsage(c0);`,
    `if (typeof m.handler !== 'function') throw new Error('no handler export');`,
    `process.stdout.write(JSON.stringify({ ms: t1 - t0, cpuMs: (c1.user + c1.system) / 1000 }));`,
  ].join('\n');
  // No Node options: the stack sets no NODE_OPTIONS (the deployed bundle maps its own stack traces).
  const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (out.status !== 0) {
    throw new Error(
      `import of ${file} failed (exit ${out.status}): ${out.stderr.split('\n').slice(0, 5).join(' ')}`,
    );
  }
  const last = out.stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(last) as { ms: number; cpuMs: number };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function measure(file: string, env: NodeJS.ProcessEnv): Measured {
  initOnce(file, env); // warm the file system cache, as Lambda's own is warm for its image
  const runs = Array.from({ length: RUNS }, () => initOnce(file, env));
  const initMsRuns = runs.map((r) => Math.round(r.ms * 10) / 10);
  return {
    bytes: statSync(file).size,
    initMsMedian: median(initMsRuns),
    initMsRuns,
    initCpuMsMedian: Math.round(median(runs.map((r) => r.cpuMs)) * 10) / 10,
  };
}

const entries = discoverFunctionEntries(projectRoot);
const names = Object.keys(entries) as FunctionName[];
mkdirSync(work, { recursive: true });
// Init times depend on what else the machine runs: the load is recorded with the figures.
const loadAtStart = loadavg()[0] ?? 0;
console.log(
  `node ${process.version}; ${RUNS} cold imports per bundle; ${availableParallelism()} cores, ` +
    `load ${loadAtStart.toFixed(1)}; functions: ${names.join(', ') || 'none'}`,
);

const rows: {
  name: FunctionName;
  bytes: number;
  initMsMedian: number;
  initMsRuns: number[];
  initCpuMsMedian: number;
  baseline: Measured;
  ratios: { bytes: number; initMs: number; initCpuMs: number };
  withinTargets: boolean;
}[] = [];
const large: { name: FunctionName; initMsMedian: number; initCpuMsMedian: number; configBytes: number }[] =
  [];
const failures: string[] = [];
for (const name of names) {
  const entry = entries[name] as string;
  try {
    const deployedFile = await bundle(name, entry, 'deployed');
    const deployed = measure(deployedFile, functionEnvironment(name, deployedFile, exampleConfig));
    const baselineFile = await bundle(name, entry, 'baseline');
    const baseline = measure(baselineFile, functionEnvironment(name, baselineFile, exampleConfig));
    const largeFile = copyBundle(deployedFile, 'deployed-large-config');
    const withLarge = measure(largeFile, functionEnvironment(name, largeFile, largeConfig));
    large.push({
      name,
      initMsMedian: withLarge.initMsMedian,
      initCpuMsMedian: withLarge.initCpuMsMedian,
      configBytes: statSync(path.join(path.dirname(largeFile), bundledConfigFileName)).size,
    });
    rows.push({
      name,
      ...deployed,
      baseline,
      ratios: {
        bytes: Math.round((deployed.bytes / baseline.bytes) * 100) / 100,
        initMs: Math.round((deployed.initMsMedian / baseline.initMsMedian) * 100) / 100,
        initCpuMs: Math.round((deployed.initCpuMsMedian / baseline.initCpuMsMedian) * 100) / 100,
      },
      withinTargets:
        deployed.bytes < MAX_BYTES &&
        deployed.initMsMedian < MAX_INIT_MS &&
        withLarge.initMsMedian < MAX_INIT_MS,
    });
  } catch (e: unknown) {
    failures.push(`${name}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

const kb = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
console.table(
  rows.map((r) => ({
    function: r.name,
    'bundle (min, SDK inside)': kb(r.bytes),
    'baseline (SDK external)': kb(r.baseline.bytes),
    'size ratio': r.ratios.bytes,
    'init ms (median)': r.initMsMedian,
    'init CPU ms': r.initCpuMsMedian,
    'baseline init ms': r.baseline.initMsMedian,
    'baseline CPU ms': r.baseline.initCpuMsMedian,
    'init ratio': r.ratios.initMs,
    'CPU ratio': r.ratios.initCpuMs,
    [`init ms, ${LARGE.topics} topics`]: large.find((l) => l.name === r.name)?.initMsMedian,
    [`< ${MAX_BYTES / 1e6} MB and < ${MAX_INIT_MS} ms`]: r.withinTargets ? 'yes' : 'NO',
  })),
);
for (const f of failures) console.error(`could not measure ${f}`);

mkdirSync(path.dirname(resultFile), { recursive: true });
const previous = existsSync(resultFile) ? readFileSync(resultFile, 'utf8') : undefined;
const result = {
  measuredAt: new Date().toISOString(),
  node: process.version,
  runs: RUNS,
  cores: availableParallelism(),
  loadAverage1m: {
    atStart: Math.round(loadAtStart * 10) / 10,
    atEnd: Math.round((loadavg()[0] ?? 0) * 10) / 10,
  },
  targets: { maxBytes: MAX_BYTES, maxInitMs: MAX_INIT_MS },
  functions: rows,
  // The slowest function's median with the large config: the figure the 300 ms target is checked against.
  largeConfig: {
    ...LARGE,
    initMsMedian: Math.max(0, ...large.map((l) => l.initMsMedian)),
    configBytes: large[0]?.configBytes,
    byFunction: large,
  },
  failures,
};
writeFileSync(resultFile, `${JSON.stringify(result, null, 2)}\n`);
console.log(
  `wrote ${path.relative(projectRoot, resultFile)}${previous ? ' (replacing the previous run)' : ''}`,
);
if (failures.length > 0 || rows.some((r) => !r.withinTargets)) process.exitCode = 1;
