import type { Template } from 'aws-cdk-lib/assertions';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { applyNagSuppressions } from '#infra/nag-suppressions.ts';
import { deploymentPaths } from '#shared/config/paths.ts';
import type { DeploymentConfig } from '#shared/config/schema.ts';
import { exampleConfig, type Synthesized, synthesize, synthTimeoutMs } from './synthesize.ts';

// Synthesizing a stack takes seconds on two busy cores.
vi.setConfig({ testTimeout: synthTimeoutMs, hookTimeout: synthTimeoutMs });

/**
 * The only actions a statement may put on `Resource: "*"`, each because AWS authorizes it on nothing narrower.
 * Kept here on purpose, separate from the stack's own list: widening the stack means changing this test too.
 */
const actionsAllowedOnStar = new Set([
  // EC2 Describe* has no resource-level permission; Lambda needs them for VPC ENIs.
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSubnets',
  // X-Ray has no resource-level permission (only with tracing on).
  'xray:PutTraceSegments',
  'xray:PutTelemetryRecords',
  // The failback state machines: their log delivery and traces (Step Functions' own requirements) ...
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
  'logs:DescribeLogGroups',
  'xray:GetSamplingRules',
  'xray:GetSamplingTargets',
  // ... and the FailbackInProgress metric, under a cloudwatch:namespace condition (checked below).
  'cloudwatch:PutMetricData',
  // Lambda: creating a mapping (under a lambda:FunctionArn condition, checked below) and listing mappings.
  'lambda:CreateEventSourceMapping',
  'lambda:ListEventSourceMappings',
]);

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}
interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
}

const asArray = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

/** `{Ref: X}` → `<X>`, `{Fn::GetAtt: [X, Arn]}` → `<X.Arn>`, `Fn::Join` concatenated. */
function flat(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, unknown>;
  if (typeof v.Ref === 'string') return `<${v.Ref}>`;
  if (Array.isArray(v['Fn::GetAtt'])) return `<${(v['Fn::GetAtt'] as unknown[]).map(flat).join('.')}>`;
  const join = v['Fn::Join'] as [string, unknown[]] | undefined;
  if (join) return join[1].map(flat).join(join[0]);
  return JSON.stringify(value);
}

function policies(template: Template): Record<string, Resource> {
  return template.findResources('AWS::IAM::Policy') as Record<string, Resource>;
}

function statementsOf(policy: Resource): Statement[] {
  return (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement;
}

/** Statements of the role of the function whose construct id is `Name` (Probe, Failover, ...). */
function statementsOfFunction(template: Template, name: string): Statement[] {
  const entry = Object.entries(policies(template)).find(([id]) => id.startsWith(`${name}RoleDefaultPolicy`));
  if (!entry) throw new Error(`no policy for ${name}`);
  return statementsOf(entry[1]);
}

/** Every (action, resource) pair a function's role allows, resources flattened. */
function grants(template: Template, name: string): { action: string; resource: string }[] {
  return statementsOfFunction(template, name).flatMap((s) =>
    asArray(s.Action).flatMap((action) => asArray(s.Resource).map((r) => ({ action, resource: flat(r) }))),
  );
}

/**
 * Every way a policy in `template` reaches beyond the deployment: an action wildcard, `*` for an action that has
 * resource-level permissions, or a resource that is not the deployment's own (its parameters, its secrets, this
 * stack's resources, the configured subnets, groups and MSK cluster).
 */
function widenings(template: Template, config: DeploymentConfig): string[] {
  const n = config.name;
  const own = new Set(Object.keys(template.toJSON().Resources as object));
  const extraArns = [
    config.clusters.primary.secretArn,
    config.clusters.secondary.secretArn,
    config.clusters.primary.mskClusterArn,
    config.clusters.secondary.mskClusterArn,
  ].filter((a): a is string => a !== undefined);
  const regions = ['<AWS::Region>', ...config.regions];
  const inScope = (r: string): boolean => {
    // A resource of this stack; `:*` after a function's ARN are its versions and aliases.
    const ref = /^<([A-Za-z0-9]+)(\.Arn)?>(:\*)?$/.exec(r);
    if (ref) return own.has(ref[1] as string);
    if (extraArns.includes(r)) return true;
    const msk = extraArns.filter((a) => a.includes(':kafka:'));
    if (
      msk.some(
        (a) =>
          r === `${a.replace(':cluster/', ':topic/')}/*` || r === `${a.replace(':cluster/', ':group/')}/*`,
      )
    )
      return true;
    const prefix = (service: string) =>
      regions.map((region) => `arn:<AWS::Partition>:${service}:${region}:<AWS::AccountId>:`);
    if (prefix('ssm').some((p) => r.startsWith(`${p}parameter/mm2-failover/${n}/`) && !r.includes('*')))
      return true;
    const secretNames = [
      `mm2-failover/${n}/`,
      ...(config.mirror.kind === 'aiven' ? [config.mirror.tokenSecret] : []),
    ];
    if (
      prefix('secretsmanager').some((p) =>
        secretNames.some((s) => r.startsWith(`${p}secret:${s}`) && r.endsWith('-??????') && !r.includes('*')),
      )
    )
      return true;
    const ec2 = 'arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:';
    if (r === `${ec2}network-interface/*`) return true;
    // Mappings are known only by the UUID Lambda assigns; a lambda:FunctionArn condition scopes them (checked below).
    if (r === 'arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:event-source-mapping:*')
      return true;
    if (config.vpc?.subnetIds.some((id) => r === `${ec2}subnet/${id}`)) return true;
    if (config.vpc?.securityGroupIds.some((id) => r === `${ec2}security-group/${id}`)) return true;
    return false;
  };

  const problems: string[] = [];
  for (const [id, policy] of Object.entries(policies(template))) {
    for (const s of statementsOf(policy)) {
      if (s.Effect !== 'Allow') continue;
      const actions = asArray(s.Action);
      for (const a of actions) {
        if (a === '*' || a.endsWith(':*')) problems.push(`${id}: action ${a}`);
      }
      for (const r of asArray(s.Resource).map(flat)) {
        if (r === '*') {
          for (const a of actions.filter((x) => !actionsAllowedOnStar.has(x)))
            problems.push(`${id}: ${a} on *`);
        } else if (!inScope(r)) {
          problems.push(`${id}: ${actions.join(',')} on ${r}`);
        }
      }
    }
  }
  return problems;
}

describe('IAM of the stack', () => {
  const config = exampleConfig((c) => {
    c.regions = ['eu-central-1'];
  });
  const paths = deploymentPaths(config.name);
  let s: Synthesized;
  beforeAll(() => {
    s = synthesize({ config, bundle: false });
  }, synthTimeoutMs);

  it('scopes every statement to the deployment when the example config has an extra region', () => {
    expect(widenings(s.template, config)).toEqual([]);
  });

  it('scopes every statement when every optional grant is on (MSK IAM, ARN secret, Aiven token, tracing)', () => {
    const kitchenSink = exampleConfig((c) => {
      c.regions = ['eu-central-1', 'us-east-2'];
      c.clusters.primary = {
        ...c.clusters.primary,
        auth: 'msk-iam',
        mskClusterArn:
          'arn:aws:kafka:eu-west-1:123456789012:cluster/orders/1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d-2',
      };
      c.clusters.secondary.secretArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:kafka/dr-AbCdEf';
      c.mirror = {
        kind: 'aiven',
        project: 'acme',
        service: 'mm2',
        tokenSecret: 'mm2-failover/orders-dr/aiven-token',
      };
    });
    const { template } = synthesize({ config: kitchenSink, bundle: false, tracing: true });
    expect(widenings(template, kitchenSink)).toEqual([]);
    // The optional grants are really there (otherwise the line above proves little).
    const all = JSON.stringify(template.findResources('AWS::IAM::Policy'));
    for (const needle of [
      'kafka-cluster:Connect',
      'xray:PutTraceSegments',
      'aiven-token-??????',
      'us-east-2',
    ]) {
      expect(all).toContain(needle);
    }
  });

  it('reports a statement that widens, so the checks above can fail', () => {
    const { template } = synthesize({
      config,
      bundle: false,
      before: (deployment) => {
        const role = deployment.functions.status?.role;
        if (!role) throw new Error('status function missing');
        role.addToPrincipalPolicy(
          new PolicyStatement({ actions: ['ssm:GetParameter'], resources: ['arn:aws:ssm:*:*:parameter/*'] }),
        );
        role.addToPrincipalPolicy(new PolicyStatement({ actions: ['dynamodb:Scan'], resources: ['*'] }));
        role.addToPrincipalPolicy(
          new PolicyStatement({ actions: ['sns:*'], resources: [deployment.notifications.topic.topicArn] }),
        );
      },
    });
    expect(widenings(template, config)).toEqual([
      expect.stringMatching(/ssm:GetParameter on arn:aws:ssm:\*:\*:parameter\/\*$/),
      expect.stringMatching(/dynamodb:Scan on \*$/),
      expect.stringMatching(/action sns:\*$/),
    ]);
  });

  it('refuses, in the stack\'s own guard, an action with resource-level permissions on "*"', () => {
    const { deployment } = synthesize({ config, bundle: false });
    deployment.functions.probe?.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: ['*'] }),
    );
    expect(() => applyNagSuppressions(deployment)).toThrow(/secretsmanager:GetSecretValue on Resource "\*"/);
  });

  it('scopes the event source mapping actions to the functions the config lists, on failover and failback only', () => {
    const certs = {
      clientCertificate: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:billing-cert-AbCdEf',
    };
    const withMappings = exampleConfig((c) => {
      c.eventSourceMappings = [
        {
          functionName: 'billing-fn',
          consumerGroup: 'billing',
          topic: 'orders',
          secrets: { primary: certs, secondary: certs },
        },
        {
          functionName: 'arn:aws:lambda:eu-west-1:123456789012:function:shipping-fn',
          consumerGroup: 'shipping',
          topic: 'payments',
          secrets: { primary: certs, secondary: certs },
        },
      ];
    });
    const { template } = synthesize({ config: withMappings, bundle: false });
    const functions = [
      'arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:function:billing-fn',
      'arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:function:billing-fn:*',
      'arn:aws:lambda:eu-west-1:123456789012:function:shipping-fn',
      'arn:aws:lambda:eu-west-1:123456789012:function:shipping-fn:*',
    ];
    const lambdaStatements = (name: string) =>
      statementsOfFunction(template, name)
        .filter((st) =>
          asArray(st.Action).some((a) => a.startsWith('lambda:') && a.includes('EventSourceMapping')),
        )
        .map((st) => ({
          actions: asArray(st.Action),
          resources: asArray(st.Resource).map(flat),
          functions: (st.Condition?.ArnLike?.['lambda:FunctionArn'] as unknown[] | undefined)?.map(flat),
        }));

    expect(widenings(template, withMappings)).toEqual([]);
    for (const name of ['Failover', 'Failback']) {
      expect(lambdaStatements(name)).toEqual([
        { actions: ['lambda:CreateEventSourceMapping'], resources: ['*'], functions },
        {
          actions: ['lambda:UpdateEventSourceMapping', 'lambda:GetEventSourceMapping'],
          resources: ['arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:event-source-mapping:*'],
          functions,
        },
        { actions: ['lambda:ListEventSourceMappings'], resources: ['*'], functions: undefined },
      ]);
    }
    expect(lambdaStatements('Probe')).toEqual([]);
    expect(lambdaStatements('Status')).toEqual([]);
    expect(lambdaStatements('Failover').length).toBeGreaterThan(0);
    // Without mappings in the config, no function may touch a mapping.
    expect(grants(s.template, 'Failover').filter((g) => g.action.includes('EventSourceMapping'))).toEqual([]);
  });

  it('lets only failover and failback write the active configuration', () => {
    const writes = (name: string) =>
      grants(s.template, name)
        .filter((g) =>
          ['ssm:PutParameter', 'secretsmanager:PutSecretValue', 'secretsmanager:CreateSecret'].includes(
            g.action,
          ),
        )
        .map((g) => g.resource);
    for (const name of ['Failover', 'Failback']) {
      const w = writes(name);
      expect(w).toContainEqual(expect.stringMatching(new RegExp(`:parameter${paths.activeParameter}$`)));
      expect(w).toContainEqual(
        expect.stringMatching(new RegExp(`:parameter${paths.activeBootstrapParameter}$`)),
      );
      expect(w).toContainEqual(expect.stringMatching(/^<ContractActiveCredentials[A-Z0-9]+>$/));
    }
    expect(writes('Probe')).toEqual([
      expect.stringMatching(new RegExp(`:parameter${paths.lastProbeParameter}$`)),
      expect.stringMatching(new RegExp(`:parameter${paths.readinessParameter}$`)),
    ]);
    expect(writes('Status')).toEqual([]);
  });

  it('lets failover and failback (both switch) write the active parameters and secret in each extra region, and only there', () => {
    for (const name of ['Failover', 'Failback']) {
      const regional = grants(s.template, name).filter((g) => g.resource.includes(':eu-central-1:'));
      expect(regional).toEqual(
        expect.arrayContaining([
          {
            action: 'ssm:PutParameter',
            resource: expect.stringMatching(new RegExp(`parameter${paths.activeParameter}$`)),
          },
          {
            action: 'ssm:PutParameter',
            resource: expect.stringMatching(new RegExp(`parameter${paths.activeBootstrapParameter}$`)),
          },
          {
            action: 'secretsmanager:PutSecretValue',
            resource: expect.stringMatching(new RegExp(`secret:${paths.activeCredentialsSecret}-\\?{6}$`)),
          },
          {
            action: 'secretsmanager:CreateSecret',
            resource: expect.stringMatching(new RegExp(`secret:${paths.activeCredentialsSecret}-\\?{6}$`)),
          },
        ]),
      );
      for (const g of regional) {
        expect(g.resource).toMatch(
          new RegExp(
            `(parameter${paths.activeParameter}(/bootstrap-servers)?|secret:${paths.activeCredentialsSecret}-\\?{6})$`,
          ),
        );
      }
    }
    for (const name of ['Probe', 'Status']) {
      expect(grants(s.template, name).filter((g) => g.resource.includes(':eu-central-1:'))).toEqual([]);
    }
  });

  it('keeps every secret from the status function: it needs epochs, not a private key or a password', () => {
    const status = grants(s.template, 'Status');
    expect(status.filter((g) => g.action.startsWith('secretsmanager:'))).toEqual([]);
  });

  it('lets the probe read the active configuration, its last result and the epoch authority item, invoke only the failover function (its direct trigger and maintenance asks), and not touch the lock, the journal or the topic', () => {
    const probe = grants(s.template, 'Probe');
    expect(probe.filter((g) => g.action.startsWith('sns:'))).toEqual([]);
    expect(probe.filter((g) => g.action.startsWith('dynamodb:')).map((g) => g.action)).toEqual([
      'dynamodb:GetItem',
    ]);
    const authority = statementsOfFunction(s.template, 'Probe').find((st) => st.Sid === 'ReadEpochAuthority');
    expect(authority?.Condition).toEqual({
      'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [`authority#${config.name}`] },
    });
    expect(
      probe.filter((g) => g.action === 'ssm:GetParameter').map((g) => g.resource.split(':parameter')[1]),
    ).toEqual([
      paths.clusterParameter('primary'),
      paths.clusterParameter('secondary'),
      paths.activeParameter,
      paths.activeBootstrapParameter,
      paths.lastProbeParameter,
    ]);
    expect(probe.filter((g) => g.action === 'lambda:InvokeFunction').map((g) => g.resource)).toEqual([
      expect.stringMatching(/^<FailoverFunction[0-9A-F]+\.Arn>$/),
    ]);
  });

  it('grants cloudwatch:PutMetricData to no function: the probe publishes its metrics through its logs (EMF)', () => {
    for (const name of ['Probe', 'Failover', 'Failback', 'Status']) {
      expect(grants(s.template, name).filter((g) => g.action.startsWith('cloudwatch:'))).toEqual([]);
    }
  });
});
