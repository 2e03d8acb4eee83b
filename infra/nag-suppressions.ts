import { type IResolvable, Stack, Validations } from 'aws-cdk-lib';
import { Policy } from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';

/**
 * The cdk-nag AwsSolutions findings this stack accepts, each with its reason, acknowledged on the one
 * construct it concerns. Anything not listed here fails `cdk synth` (and test/unit/infra/nag.test.ts).
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
 * What the suppressions read of the stack, as a structural type: the stack calls this from its constructor,
 * and importing the stack's class here would make the two files import each other.
 */
export interface NaggedStack extends Stack {
  readonly store: {
    readonly clusterSecrets: Readonly<Record<string, IConstruct>>;
    readonly activeCredentials: IConstruct;
  };
  readonly functions: Readonly<Record<string, { readonly role: IConstruct }>>;
}

export function applyNagSuppressions(stack: NaggedStack): void {
  for (const secret of [...Object.values(stack.store.clusterSecrets), stack.store.activeCredentials]) {
    if (!isOwnedBy(stack, secret)) continue; // imported by ARN: not a resource of this stack
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        secret === stack.store.activeCredentials
          ? "Not a credential of its own: a copy of the active cluster's credentials stamped with the switch epoch, " +
            'rewritten by every failover and failback. A rotation Lambda would break the epoch fencing with the ' +
            'active parameter.'
          : 'Kafka client credentials are issued and rotated by the Kafka provider (Aiven, MSK SCRAM, a CA); ' +
            'the operator writes the new value here when the provider rotates it. Secrets Manager cannot ' +
            'rotate them on its own.',
    });
  }

  for (const fn of Object.values(stack.functions)) {
    const policy = fn.role.node.tryFindChild('DefaultPolicy');
    if (!(policy instanceof Policy)) continue;
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
          const unexpected = actions.filter((a) => !(a in actionsOnlyGrantableOnStar));
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
        `Only actions AWS authorizes on "*" alone: ${[...onStar]
          .map((a) => `${a} (${actionsOnlyGrantableOnStar[a]})`)
          .join('; ')}.`,
      );
    }
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
