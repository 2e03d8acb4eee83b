import type { Logger } from '@aws-lambda-powertools/logger';
import { loadDeploymentConfigFromEnv } from '#shared/config/load.ts';
import type { DeploymentConfig } from '#shared/config/schema.ts';
import { functionLogger } from './logger.ts';

export type FunctionName = 'probe' | 'failover' | 'failback' | 'status';

export interface ColdStart<V> {
  config: DeploymentConfig;
  /** The function's own variables, as its schema typed them. */
  variables: V;
  logger: Logger;
}

/**
 * What every function reads once per container, before its first invocation: the deployment config (the file
 * bundled with the function, named by `MM2_FAILOVER_CONFIG_FILE`), its own variables through its zod schema
 * (`<fn>Environment` beside its wiring in shared/), and its logger. A missing or malformed variable, or a config file that is missing, unreadable or
 * invalid, fails the cold start with a ValidationError naming it.
 */
export function coldStart<V = Record<string, never>>(
  fn: FunctionName,
  readVariables?: (env: NodeJS.ProcessEnv) => V,
  env: NodeJS.ProcessEnv = process.env,
): ColdStart<V> {
  const config = loadDeploymentConfigFromEnv(env);
  const variables = readVariables ? readVariables(env) : ({} as V);
  return { config, variables, logger: functionLogger(fn, config.name, env) };
}
