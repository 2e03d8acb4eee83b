import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ValidationError } from '../errors.ts';
import { type DeploymentConfig, type DeploymentConfigWithPointer, deploymentConfigSchema } from './schema.ts';
import { type ParseOptions, parseJsonOrThrow, parseOrThrow } from './validate.ts';

/**
 * The environment variable that names the deployment config file a function reads at cold start. The stack
 * writes the validated config into every function's bundle as {@link bundledConfigFileName} and sets this to
 * that name, resolved against the function's code directory (`LAMBDA_TASK_ROOT`); the drill and `--local` runs
 * write the file into the harness's run folder and set it to the absolute path. A file, not the config itself
 * in the environment: Lambda caps a function's whole environment at 4 KB, a few dozen topics and groups.
 */
export const configFileVariable = 'MM2_FAILOVER_CONFIG_FILE';

/** The config file's name inside a function's bundle. */
export const bundledConfigFileName = 'mm2-failover.config.json';

/**
 * Validate an already-parsed config object. `$schema` (the editor's pointer to failover.config.schema.json) is
 * accepted and dropped: nothing downstream reads it.
 */
export function parseDeploymentConfig(value: unknown, subject = 'deployment config'): DeploymentConfig {
  return withoutSchemaPointer(parseOrThrow(deploymentConfigSchema, value, subject, once));
}

/** Read and validate `failover.config.json` (or another file). Every problem is listed by path. */
export function loadDeploymentConfigFile(file: string): DeploymentConfig {
  const subject = `deployment config ${file}`;
  return withoutSchemaPointer(
    parseJsonOrThrow(deploymentConfigSchema, readConfigText(file, subject), subject, once),
  );
}

/**
 * At cold start: the file {@link configFileVariable} names, read once, validated again, typed. A missing
 * variable, an unreadable file, text that is not JSON and an invalid config each fail the cold start naming the
 * variable and the file.
 */
export function loadDeploymentConfigFromEnv(env: NodeJS.ProcessEnv = process.env): DeploymentConfig {
  const named = env[configFileVariable];
  if (!named) {
    throw new ValidationError('environment', [
      {
        path: configFileVariable,
        message: 'expected the path of the deployment config file (the stack bundles it), found nothing',
      },
    ]);
  }
  // Relative names are the bundle's own file; Lambda runs the code from LAMBDA_TASK_ROOT.
  const file = resolve(env.LAMBDA_TASK_ROOT ?? process.cwd(), named);
  const subject = `deployment config ${file} (${configFileVariable})`;
  return withoutSchemaPointer(
    parseJsonOrThrow(deploymentConfigSchema, readConfigText(file, subject), subject, once),
  );
}

// The config is parsed once per process: compiling zod's fast path would cost more than it saves.
const once: ParseOptions = { once: true };

function readConfigText(file: string, subject: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e: unknown) {
    throw new ValidationError(subject, [
      { path: '', message: `cannot read the file (${(e as NodeJS.ErrnoException).code ?? 'error'})` },
    ]);
  }
}

function withoutSchemaPointer(parsed: DeploymentConfigWithPointer): DeploymentConfig {
  const { $schema: _pointer, ...config } = parsed;
  return config;
}
