import { type IResolvable, Stack, Validations } from 'aws-cdk-lib';
import { Policy } from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';

/**
 * The cdk-nag AwsSolutions findings a deployment (infra/mm2-failover.ts) accepts, each with its reason,
 * acknowledged on the one construct it concerns, so an app that runs cdk-nag over the construct sees only its
 * own findings. Anything not listed here fails `cdk synth` (and test/unit/infra/nag.test.ts).
 */

/**
 * The only actions allowed on `Resource: "*"`, because AWS authorizes them on nothing narrower. A statement
 * putting any other action on `*` stops synth here, before cdk-nag or a reviewer has to notice.
 */
const actionsOnlyGrantableOnStar: Readonly<Record<string, string>> = {
  'ec2:DescribeNetworkInterfaces':
    'EC2 Describe actions support no resource-level permission (Lambda VPC ENIs)',
  'ec2:DescribeSubnets': 'EC2 Describe actions support no resource-level permission (Lambda VPC ENIs)',
  'xray:PutTraceSegments':
    'X-Ray supports no resource-level permission (active tracing, only with -c tracing=true)',
  'xray:PutTelemetryRecords':
    'X-Ray supports no resource-level permission (active tracing, only with -c tracing=true)',
  'lambda:CreateEventSourceMapping':
    "Lambda authorizes creating a mapping on * only; a lambda:FunctionArn condition keeps it to the config's functions",
  'lambda:ListEventSourceMappings': 'Lambda supports no resource-level permission for listing mappings',
};

/**
 * The same for the failback state machines' roles: what Step Functions needs for its logs and traces (the
 * statements the CDK writes for `logs` and `tracingEnabled`), and the FailbackInProgress metric.
 */
const stateMachineActionsOnlyGrantableOnStar: Readonly<Record<string, string>> = {
  'logs:CreateLogDelivery': 'CloudWatch Logs log delivery supports no resource-level permission',
  'logs:GetLogDelivery': 'CloudWatch Logs log delivery supports no resource-level permission',
  'logs:UpdateLogDelivery': 'CloudWatch Logs log delivery supports no resource-level permission',
  'logs:DeleteLogDelivery': 'CloudWatch Logs log delivery supports no resource-level permission',
  'logs:ListLogDeliveries': 'CloudWatch Logs log delivery supports no resource-level permission',
  'logs:PutResourcePolicy': 'CloudWatch Logs log delivery supports no resource-level permission',
  'logs:DescribeResourcePolicies': 'CloudWatch Logs log delivery supports no resource-level permission',
  'logs:DescribeLogGroups': 'CloudWatch Logs log delivery supports no resource-level permission',
  'xray:PutTraceSegments': 'X-Ray supports no resource-level permission (state machine tracing)',
  'xray:PutTelemetryRecords': 'X-Ray supports no resource-level permission (state machine tracing)',
  'xray:GetSamplingRules': 'X-Ray supports no resource-level permission (state machine tracing)',
  'xray:GetSamplingTargets': 'X-Ray supports no resource-level permission (state machine tracing)',
  'cloudwatch:PutMetricData':
    'CloudWatch metrics support no resource-level permission; a cloudwatch:namespace condition keeps it to ' +
    "the deployment's namespace (FailbackInProgress)",
};

/** Wildcards inside an otherwise specific ARN, recognised by shape, with why they cannot be narrower. */
const acceptedResourceWildcards: { pattern: RegExp; reason: string }[] = [
  {
    pattern: /:ec2:<AWS::Region>:<AWS::AccountId>:network-interface\/\*$/,
    reason:
      'Lambda creates and deletes the VPC network interfaces itself; their ids do not exist before deployment. ' +
      'Limited to network interfaces in this account and region; creation is also limited to the configured ' +
      'subnets and security groups.',
  },
  {
    pattern: /^<[A-Za-z0-9]+\.Arn>:\*$/,
    reason:
      "Versions and aliases of the one function a role may invoke (the failback state machine's Lambda " +
      'integration invokes the function by qualified ARN when asked to).',
  },
  {
    pattern: /:lambda:<AWS::Region>:<AWS::AccountId>:event-source-mapping:\*$/,
    reason:
      "A mapping's ARN ends in a UUID Lambda assigns when the switch creates it; a lambda:FunctionArn condition " +
      "keeps updating and reading mappings to the config's functions.",
  },
  {
    pattern: /:kafka:[a-z0-9-]+:\d{12}:(topic|group)\/[^/]+\/[^/]+\/\*$/,
    reason:
      'MSK IAM: topics and consumer groups of the one configured cluster. MM2 prefixes and internal topics ' +
      '(heartbeats, checkpoints, offset syncs) and the configured topic patterns cannot be enumerated at synth.',
  },
];

const acceptedActionWildcards: Record<string, string> = {
  'kms:GenerateDataKey*':
    'Publishing to the KMS-encrypted notifications topic needs a data key; granted on that one key only ' +
    '(what Topic.grantPublish generates).',
};

/**
 * What the suppressions read of a deployment, as a structural type: the construct calls this from its
 * constructor, and importing its class here would make the two files import each other.
 */
export interface NaggedDeployment extends IConstruct {
  readonly store: {
    readonly clusterSecrets: Readonly<Record<string, IConstruct>>;
    readonly activeCredentials: IConstruct;
  };
  readonly functions: Readonly<Record<string, { readonly role: IConstruct }>>;
  readonly failbackDriver?: {
    readonly stateMachine: { readonly role: IConstruct };
    readonly release: { readonly role: IConstruct };
  };
}

export function applyNagSuppressions(deployment: NaggedDeployment): void {
  const stack = Stack.of(deployment);
  for (const secret of [
    ...Object.values(deployment.store.clusterSecrets),
    deployment.store.activeCredentials,
  ]) {
    if (!isOwnedBy(stack, secret)) continue; // imported by ARN: not a resource of this stack
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        secret === deployment.store.activeCredentials
          ? "Not a credential of its own: a copy of the active cluster's credentials stamped with the switch epoch, " +
            'rewritten by every failover and failback. A rotation Lambda would break the epoch fencing with the ' +
            'active parameter.'
          : 'Kafka client credentials are issued and rotated by the Kafka provider (Aiven, MSK SCRAM, a CA); ' +
            'the operator writes the new value here when the provider rotates it. Secrets Manager cannot ' +
            'rotate them on its own.',
    });
  }

  for (const fn of Object.values(deployment.functions)) {
    acknowledgeRolePolicy(stack, fn.role, actionsOnlyGrantableOnStar);
  }
  const driver = deployment.failbackDriver;
  if (driver) {
    for (const role of [driver.stateMachine.role, driver.release.role]) {
      acknowledgeRolePolicy(stack, role, stateMachineActionsOnlyGrantableOnStar);
    }
  }
}

/**
 * Acknowledge the wildcards of one role's default policy that have a reason above; throw for an action on `*`
 * that is not in `onlyOnStar`, before cdk-nag or a reviewer has to notice.
 */
function acknowledgeRolePolicy(
  stack: Stack,
  role: IConstruct,
  onlyOnStar: Readonly<Record<string, string>>,
): void {
  const policy = role.node.tryFindChild('DefaultPolicy');
  if (!(policy instanceof Policy)) return;
  const document = stack.resolve(policy.document) as { Statement?: ResolvedStatement[] };
  const acknowledged = new Set<string>();
  const onStar = new Set<string>();
  for (const statement of document.Statement ?? []) {
    if (statement.Effect !== 'Allow') continue;
    const actions = asArray(statement.Action);
    for (const action of actions.filter((a) => a.includes('*'))) {
      const reason = acceptedActionWildcards[action];
      if (reason) acknowledge(policy, acknowledged, `AwsSolutions-IAM5[Action::${action}]`, reason);
    }
    for (const resource of asArray(statement.Resource).map(flatten)) {
      if (resource === '*') {
        const unexpected = actions.filter((a) => !(a in onlyOnStar));
        if (unexpected.length > 0) {
          throw new Error(
            `${policy.node.path}: ${unexpected.join(', ')} on Resource "*": scope it to the deployment's ARNs`,
          );
        }
        for (const a of actions) onStar.add(a);
      } else if (resource.includes('*')) {
        const accepted = acceptedResourceWildcards.find((w) => w.pattern.test(resource));
        if (accepted)
          acknowledge(policy, acknowledged, `AwsSolutions-IAM5[Resource::${resource}]`, accepted.reason);
      }
    }
  }
  if (onStar.size > 0) {
    acknowledge(
      policy,
      acknowledged,
      'AwsSolutions-IAM5[Resource::*]',
      `Only actions AWS authorizes on "*" alone: ${[...onStar].map((a) => `${a} (${onlyOnStar[a]})`).join('; ')}.`,
    );
  }
}

interface ResolvedStatement {
  Effect?: string;
  Action?: string | string[];
  Resource?: unknown;
}

function acknowledge(scope: IConstruct, done: Set<string>, id: string, reason: string): void {
  if (done.has(id)) return;
  done.add(id);
  Validations.of(scope).acknowledge({ id, reason });
}

function isOwnedBy(stack: Stack, construct: IConstruct): boolean {
  return construct.node.defaultChild !== undefined && Stack.of(construct) === stack;
}

function asArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** A resolved CloudFormation value as cdk-nag prints it: `{Ref: X}` → `<X>`, `Fn::GetAtt` → `<A.B>`. */
function flatten(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const v = value as Record<string, unknown> & IResolvable;
    if (typeof v.Ref === 'string') return `<${v.Ref}>`;
    const getAtt = v['Fn::GetAtt'];
    if (Array.isArray(getAtt)) return `<${getAtt.map(flatten).join('.')}>`;
    const join = v['Fn::Join'];
    if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
      return (join[1] as unknown[]).map(flatten).join(join[0]);
    }
  }
  return JSON.stringify(value);
}
