import { ArnFormat, type CfnResource, Stack } from 'aws-cdk-lib';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { ParameterTier, StringParameter } from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { type DeploymentPaths, deploymentPaths } from '#shared/config/paths.ts';
import { type ClusterRole, clusterRoles, type DeploymentConfig } from '#shared/config/schema.ts';

export interface ContractStoreProps {
  config: DeploymentConfig;
}

/**
 * The parameter and secret names of the client contract (docs/design.md), as resources and IAM resource ARNs.
 *
 * The stack creates the secrets *empty*: CloudFormation gets neither `SecretString` nor `GenerateSecretString`,
 * so no value exists until the operator (cluster secrets) or the failover function (active credentials) writes
 * one. Parameters the operator writes (`clusters/<role>`) or the functions write (`active`, ...) are not
 * CloudFormation resources: a stack update must never roll a switch back.
 */
export class ContractStore extends Construct {
  readonly paths: DeploymentPaths;
  /** Per cluster: the secret the stack created, or the one the config references by `secretArn`. */
  readonly clusterSecrets: Record<ClusterRole, ISecret>;
  /** ARNs to grant per cluster secret (exact for created secrets, the config's ARN or a name pattern). */
  readonly clusterSecretArns: Record<ClusterRole, string>;
  readonly activeCredentials: Secret;
  readonly automation: StringParameter;

  constructor(scope: Construct, id: string, props: ContractStoreProps) {
    super(scope, id);
    const { config } = props;
    this.paths = deploymentPaths(config.name);

    const secrets: Partial<Record<ClusterRole, ISecret>> = {};
    const arns: Partial<Record<ClusterRole, string>> = {};
    for (const role of clusterRoles) {
      const cluster = config.clusters[role];
      const id = role === 'primary' ? 'PrimaryClusterSecret' : 'SecondaryClusterSecret';
      if (cluster.secretArn) {
        secrets[role] = Secret.fromSecretCompleteArn(this, id, cluster.secretArn);
        // The schema asks for the complete ARN (with Secrets Manager's random suffix): granted exactly.
        arns[role] = cluster.secretArn;
      } else {
        const secret = emptySecret(
          this,
          id,
          this.paths.clusterSecret(role),
          `mm2-failover ${config.name}: ${role} cluster '${cluster.alias}' credentials (${cluster.auth}), written by the operator`,
        );
        secrets[role] = secret;
        arns[role] = secret.secretArn;
      }
    }
    this.clusterSecrets = secrets as Record<ClusterRole, ISecret>;
    this.clusterSecretArns = arns as Record<ClusterRole, string>;

    this.activeCredentials = emptySecret(
      this,
      'ActiveCredentials',
      this.paths.activeCredentialsSecret,
      `mm2-failover ${config.name}: credentials of the active cluster with the epoch, written only by failover and failback`,
    );

    this.automation = new StringParameter(this, 'Automation', {
      parameterName: this.paths.automationParameter,
      stringValue: 'enabled',
      description: `mm2-failover ${config.name}: 'enabled' lets the health alarm trigger failover; 'disabled' leaves only on-demand switches`,
      tier: ParameterTier.STANDARD,
    });
  }

  /** `arn:<partition>:ssm:<region>:<account>:parameter/mm2-failover/<name>/...` for a parameter name. */
  parameterArn(name: string, region?: string): string {
    return Stack.of(this).formatArn({
      service: 'ssm',
      resource: 'parameter',
      // Parameter ARNs drop the name's leading slash.
      resourceName: name.replace(/^\//, ''),
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
      ...(region ? { region } : {}),
    });
  }

  /**
   * A secret known by name only. Secrets Manager appends `-` and six random characters to every secret's ARN,
   * so `name-??????` matches exactly that secret and not `name-suffix-more`.
   */
  secretNameArn(name: string, region?: string): string {
    return Stack.of(this).formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: `${name}-??????`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      ...(region ? { region } : {}),
    });
  }
}

function emptySecret(scope: Construct, id: string, secretName: string, description: string): Secret {
  const secret = new Secret(scope, id, { secretName, description });
  // The L2 construct always generates a value; an empty secret is what the contract needs.
  (secret.node.defaultChild as CfnResource).addPropertyDeletionOverride('GenerateSecretString');
  return secret;
}
