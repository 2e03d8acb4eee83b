import type { ClusterRole } from './schema.ts';

/**
 * Where all of a deployment lives (docs/design.md, the contract). One function so the functions, the CDK
 * stack, the client library and the drill can never disagree on a name.
 */
export interface DeploymentPaths {
  /** `/mm2-failover/<name>` */
  root: string;
  /** Operator-written: `{ alias, bootstrapServers, securityProtocol, sasl? }`. */
  clusterParameter(role: ClusterRole): string;
  /** Operator-written: `{ ca, cert, key }` or `{ username, password }`. */
  clusterSecret(role: ClusterRole): string;
  /** The active configuration JSON every client reads. */
  activeParameter: string;
  /** The active cluster's credentials, with the epoch. */
  activeCredentialsSecret: string;
  /** Plain String parameter for simple readers: comma-separated bootstrap servers. */
  activeBootstrapParameter: string;
  /** `enabled` | `disabled`: alarm-triggered failovers run only when enabled. */
  automationParameter: string;
  /** Latest probe result, for the status function and the failover preflight. */
  lastProbeParameter: string;
  /** Latest standby readiness audit (the probe writes it), for the status function and the failover preflight. */
  readinessParameter: string;
  /**
   * Stack-written: `{ functions: { <name>: <function name> }, table, failbackStateMachineArn? }`, so the CLI finds
   * a deployment's functions by its name (`--deployment`) instead of the operator copying them from the outputs.
   */
  functionsParameter: string;
  /** CloudWatch metrics namespace. */
  metricsNamespace: string;
}

export function deploymentPaths(name: string): DeploymentPaths {
  const root = `/mm2-failover/${name}`;
  return {
    root,
    clusterParameter: (role) => `${root}/clusters/${role}`,
    // Secrets Manager names may not start with '/', so secrets drop the leading slash.
    clusterSecret: (role) => `mm2-failover/${name}/clusters/${role}`,
    activeParameter: `${root}/active`,
    activeCredentialsSecret: `mm2-failover/${name}/active-credentials`,
    activeBootstrapParameter: `${root}/active/bootstrap-servers`,
    automationParameter: `${root}/automation`,
    lastProbeParameter: `${root}/status/last-probe`,
    readinessParameter: `${root}/status/readiness`,
    functionsParameter: `${root}/functions`,
    metricsNamespace: 'MM2Failover',
  };
}
