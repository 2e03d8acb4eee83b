/**
 * What `mm2-failover local up` leaves for the other commands: the file `--local` reads (the deployment's name and
 * its functions' environment), and in moto the parameter a stack writes for `--deployment`, so both ways of
 * naming a deployment work against the local one.
 */
import { writeFileSync } from 'node:fs';
import { deploymentPaths } from '#shared/config/paths.ts';
import type { ParameterStore } from '#shared/store/stores.ts';
import type { DeploymentTargets } from './deployment-targets.ts';

export interface LocalDeployment {
  deployment: string;
  functionEnv: Record<string, string>;
  /** The harness's info, for the commands that reach its clusters. */
  harness: unknown;
}

/**
 * The local functions run in the CLI's process (`--local`), not in Lambda: the names written for `--deployment`
 * are those the stack would give them, and invoking them through moto's Lambda API finds no function.
 */
function localFunctionName(deployment: string, fn: string): string {
  return `mm2-failover-${deployment}-${fn}`;
}

export async function describeLocalDeployment(
  file: string,
  local: LocalDeployment,
  parameters: Pick<ParameterStore, 'put'>,
): Promise<void> {
  const table = local.functionEnv.MM2_FAILOVER_TABLE;
  if (!table) throw new Error(`local deployment '${local.deployment}': its environment names no table`);
  const targets: DeploymentTargets = {
    functions: {
      status: localFunctionName(local.deployment, 'status'),
      failover: localFunctionName(local.deployment, 'failover'),
      failback: localFunctionName(local.deployment, 'failback'),
      probe: localFunctionName(local.deployment, 'probe'),
    },
    table,
  };
  await parameters.put(deploymentPaths(local.deployment).functionsParameter, JSON.stringify(targets));
  writeFileSync(file, JSON.stringify(local, null, 2));
}
