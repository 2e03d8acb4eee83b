import { readFileSync } from 'node:fs';
import { ValidationError } from '../errors.ts';
import { type DeploymentConfig, deploymentConfigSchema } from './schema.ts';
import { parseJsonOrThrow, parseOrThrow } from './validate.ts';

/** Validate an already-parsed config object (the stack passes it to the functions as JSON). */
export function parseDeploymentConfig(value: unknown, subject = 'deployment config'): DeploymentConfig {
  return parseOrThrow(deploymentConfigSchema, value, subject, { once: true });
}

/** Read and validate `failover.config.json` (or another file). Every problem is listed by path. */
export function loadDeploymentConfigFile(file: string): DeploymentConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e: unknown) {
    throw new ValidationError(`deployment config ${file}`, [
      { path: '', message: `cannot read the file (${(e as NodeJS.ErrnoException).code ?? 'error'})` },
    ]);
  }
  return parseJsonOrThrow(deploymentConfigSchema, text, `deployment config ${file}`, { once: true });
}

/**
 * At cold start the stack hands the config to a function in the `MM2_FAILOVER_CONFIG` environment variable
 * (JSON). Read once, typed, and fail naming the variable.
 */
export function loadDeploymentConfigFromEnv(env: NodeJS.ProcessEnv = process.env): DeploymentConfig {
  const text = env.MM2_FAILOVER_CONFIG;
  if (!text) {
    throw new ValidationError('environment', [
      { path: 'MM2_FAILOVER_CONFIG', message: 'expected the deployment config as JSON, found nothing' },
    ]);
  }
  return parseJsonOrThrow(deploymentConfigSchema, text, 'deployment config in MM2_FAILOVER_CONFIG', {
    once: true,
  });
}
