import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AssetStaging, Stage } from 'aws-cdk-lib';
import type { ICommandHooks } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { IConstruct } from 'constructs';
import { bundledConfigFileName, configFileVariable } from '#shared/config/load.ts';
import type { DeploymentConfig } from '#shared/config/schema.ts';

/**
 * The deployment config travels inside each function's bundle as `mm2-failover.config.json`, beside
 * `index.mjs`, and the function reads it at cold start (shared/config/load.ts). Not the environment: Lambda
 * caps a function's environment at 4 KB, which a few dozen topics and groups fill. Not an SSM parameter read at
 * init: an advanced parameter holds 8 KB at most, and the read would add a network round trip to every cold
 * start. A file in the bundle has no size limit that matters (the zip may hold 50 MB), is read from local disk,
 * and changes with the asset, so a config change is a code change CloudFormation rolls out like any other.
 */
export interface BundledConfig {
  /** Copies the file into the bundle after esbuild has written it. */
  commandHooks: ICommandHooks;
  /** The variable the function reads: the file's name, resolved against `LAMBDA_TASK_ROOT`. */
  environment: Record<string, string>;
}

/**
 * Writes the config once per content into the cloud assembly (`cdk.out/mm2-failover-config/<sha256>.json`,
 * beside the templates synth writes anyway) and returns the hooks that copy it into a bundle.
 *
 * The file's name carries the content's hash, and so does the copy command. That matters: the CDK reuses a
 * bundle for every function built with the same bundling options in one app, and the options include the
 * commands, so two deployments with different configs in one app get two bundles, not one.
 */
export function bundledConfig(scope: IConstruct, config: DeploymentConfig): BundledConfig {
  const text = JSON.stringify(config);
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 32);
  const stage = Stage.of(scope);
  if (!stage) throw new Error(`${scope.node.path}: the deployment config needs an App to synthesize into`);
  const dir = join(stage.outdir, 'mm2-failover-config');
  const source = join(dir, `${hash}.json`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(source, text);
  return {
    environment: { [configFileVariable]: bundledConfigFileName },
    commandHooks: {
      beforeBundling: () => [],
      beforeInstall: () => [],
      afterBundling: (_inputDir, outputDir) =>
        outputDir === AssetStaging.BUNDLING_OUTPUT_DIR
          ? [
              // A container cannot see the cloud assembly. esbuild is a dependency of this package, so the CDK
              // bundles locally; it falls back to Docker only when esbuild cannot run here.
              `echo "mm2-failover: deployment config ${hash} cannot be copied into a Docker-built bundle; install the package's dependencies so that esbuild runs locally" >&2 && exit 1`,
            ]
          : [`cp ${shellQuoted(source)} ${shellQuoted(join(outputDir, bundledConfigFileName))}`],
    },
  };
}

function shellQuoted(path: string): string {
  return `'${path.replaceAll("'", `'\\''`)}'`;
}
