import { Token } from 'aws-cdk-lib';
import { clusterRoles, type DeploymentConfig } from '#shared/config/schema.ts';
import { ValidationError, type ValidationProblem } from '#shared/errors.ts';

/** Lambda allows 4 KB of environment variables per function, keys and values together. */
const lambdaEnvironmentLimitBytes = 4096;

/**
 * What the schema cannot know but the stack needs: checked at synth time, with every problem by path, before
 * any resource is built.
 */
export function assertDeployable(config: DeploymentConfig, environmentBytes: number): void {
  const problems: ValidationProblem[] = [];
  for (const role of clusterRoles) {
    const c = config.clusters[role];
    if (c.auth === 'msk-iam' && !c.mskClusterArn) {
      problems.push({
        path: `clusters.${role}.mskClusterArn`,
        message: "required when auth is 'msk-iam': the functions' kafka-cluster permissions are scoped to it",
      });
    }
  }
  if (environmentBytes > lambdaEnvironmentLimitBytes) {
    problems.push({
      path: '',
      message:
        `the config makes ${environmentBytes} bytes of function environment (MM2_FAILOVER_CONFIG and friends), ` +
        `over Lambda's ${lambdaEnvironmentLimitBytes}: shorten topic and group lists (patterns help)`,
    });
  }
  if (problems.length > 0) throw new ValidationError('deployment config for the stack', problems);
}

/** Bytes Lambda counts for an environment: every key and value. Unresolved tokens count as `reserve` each. */
export function environmentBytes(env: Record<string, string>, tokenReserve = 256): number {
  let total = 0;
  for (const [k, v] of Object.entries(env)) {
    total += Buffer.byteLength(k) + (Token.isUnresolved(v) ? tokenReserve : Buffer.byteLength(v));
  }
  return total;
}
