import { Logger } from '@aws-lambda-powertools/logger';
import * as z from 'zod';
import { parseOrThrow } from '#shared/config/validate.ts';

const loggerEnvironment = z.object({
  POWERTOOLS_SERVICE_NAME: z.string().min(1, 'expected a service name, found an empty string').optional(),
});

/**
 * A function's Powertools logger. The service name is `POWERTOOLS_SERVICE_NAME`, which the stack sets per function
 * (`mm2-failover-<fn>`); run anywhere else (the drill, `--local`, tests) it defaults to that same name. Every line
 * carries the deployment and the function.
 */
export function functionLogger(fn: string, deployment: string, env: NodeJS.ProcessEnv = process.env): Logger {
  const { POWERTOOLS_SERVICE_NAME } = parseOrThrow(loggerEnvironment, env, 'environment');
  return new Logger({
    serviceName: POWERTOOLS_SERVICE_NAME ?? `mm2-failover-${fn}`,
    persistentKeys: { deployment, fn },
  });
}
