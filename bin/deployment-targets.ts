/**
 * `--deployment <name>`: what the CLI invokes and reads for a deployment, from the parameter the stack writes
 * (`/mm2-failover/<name>/functions`, infra/mm2-failover.ts), so the operator names the deployment, not each
 * function, table and state machine.
 */
import * as z from 'zod';
import { deploymentPaths } from '#shared/config/paths.ts';
import { parseJsonOrThrow } from '#shared/config/validate.ts';
import { MissingConfigurationError } from '#shared/errors.ts';
import type { ParameterStore } from '#shared/store/stores.ts';

const name = z.string().min(1, 'expected a name, got an empty string');

/** The parameter's JSON. Names only: nothing secret is in it. */
const deploymentTargetsSchema = z.object({
  functions: z.object({
    status: name.optional(),
    failover: name.optional(),
    failback: name.optional(),
    probe: name.optional(),
  }),
  table: name,
  failbackStateMachineArn: name.optional(),
});

export type DeploymentTargets = z.output<typeof deploymentTargetsSchema>;

/** The deployment's targets; a deployment the stack never wrote fails naming the parameter it looked for. */
export async function deploymentTargets(
  deployment: string,
  parameters: Pick<ParameterStore, 'get'>,
): Promise<DeploymentTargets> {
  const parameter = deploymentPaths(deployment).functionsParameter;
  const stored = await parameters.get(parameter);
  if (stored === undefined) {
    // "missing <resource>": the resource says what was expected and what to do instead.
    throw new MissingConfigurationError(
      `parameter ${parameter}, which the stack of deployment '${deployment}' writes (wrong name or region, ` +
        'or a stack that predates it: give --function instead)',
    );
  }
  return parseJsonOrThrow(deploymentTargetsSchema, stored.value, `parameter ${parameter}`);
}
