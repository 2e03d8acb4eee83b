import { clusterRoles, type DeploymentConfig } from '#shared/config/schema.ts';
import { ValidationError, type ValidationProblem } from '#shared/errors.ts';

/**
 * What the schema cannot know but the stack needs: checked at synth time, with every problem by path, before
 * any resource is built.
 */
export function assertDeployable(config: DeploymentConfig): void {
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
  if (problems.length > 0) throw new ValidationError('deployment config for the stack', problems);
}
