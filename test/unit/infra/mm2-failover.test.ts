import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AccountRootPrincipal, Role } from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { defaultRunbookUrl, Mm2Failover, projectRoot } from '#infra/mm2-failover.ts';
import { loadDeploymentConfigFromEnv } from '#shared/config/load.ts';
import { ValidationError } from '#shared/errors.ts';
import { decisionRules, driverStateNames } from '#shared/failback-driver/states.ts';
import {
  exampleConfig,
  exampleConfigInput,
  fixtureEntries,
  synthesize,
  synthTimeoutMs,
} from './synthesize.ts';

// Synthesizing a stack takes seconds on two busy cores.
vi.setConfig({ testTimeout: synthTimeoutMs, hookTimeout: synthTimeoutMs });

type Resource = { Type: string; Properties: Record<string, unknown> };
interface Statement {
  Sid?: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

const asArray = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

/** A CloudFormation value as text: `{Ref: X}` → `<X>`, `{Fn::GetAtt: [X, Arn]}` → `<X.Arn>`, joins joined. */
function flat(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, unknown>;
  if (typeof v.Ref === 'string') return `<${v.Ref}>`;
  if (Array.isArray(v['Fn::GetAtt'])) return `<${(v['Fn::GetAtt'] as unknown[]).map(flat).join('.')}>`;
  const join = v['Fn::Join'] as [string, unknown[]] | undefined;
  if (join) return join[1].map(flat).join(join[0]);
  return JSON.stringify(value);
}

function resources(template: Template, type: string): [string, Resource][] {
  return Object.entries(template.findResources(type) as Record<string, Resource>);
}

function onlyOne(template: Template, type: string, prefix: string): [string, Resource] {
  const found = resources(template, type).filter(([id]) => id.startsWith(prefix));
  expect(found.map(([id]) => id)).toHaveLength(1);
  return found[0] as [string, Resource];
}

/** Every statement of the default policy of the role whose logical id starts with `rolePrefix`. */
function statementsOfRole(template: Template, rolePrefix: string): Statement[] {
  const [, policy] = onlyOne(template, 'AWS::IAM::Policy', `${rolePrefix}DefaultPolicy`);
  return (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement;
}

/** An application's stack beside the deployment: what `grantReadActiveConfig` gives its role. */
function appRoleGrants(change: Parameters<typeof exampleConfig>[0] = () => {}): Statement[] {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Apps');
  const dr = new Mm2Failover(stack, 'OrdersDr', { config: exampleConfig(change), entries: fixtureEntries });
  const role = new Role(stack, 'OrdersService', { assumedBy: new AccountRootPrincipal() });
  dr.grantReadActiveConfig(role);
  return statementsOfRole(Template.fromStack(stack), 'OrdersService');
}

describe('Mm2Failover props', () => {
  const build = (props: Partial<ConstructorParameters<typeof Mm2Failover>[2]>) => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    return () =>
      new Mm2Failover(new Stack(app, 'S'), 'Dr', {
        config: exampleConfigInput(),
        entries: fixtureEntries,
        ...props,
      });
  };
  const problemsOf = (f: () => unknown) => {
    try {
      f();
    } catch (e: unknown) {
      if (e instanceof ValidationError) return { subject: e.subject, problems: e.problems };
      throw e;
    }
    throw new Error('expected a ValidationError');
  };

  it('validates the config with the schema of failover.config.json: by path, what was expected and given', () => {
    const config = exampleConfigInput() as Record<string, unknown>;
    Object.assign(config, { mode: 'hot', topics: [] });

    const { subject, problems } = problemsOf(build({ config: config as never }));

    expect(subject).toBe('config of Mm2Failover S/Dr');
    expect(problems).toEqual([
      { path: 'mode', message: "expected one of 'active-passive', 'active-active', got 'hot'" },
      { path: 'topics', message: expect.stringMatching(/>=1 items/) },
    ]);
  });

  it('refuses failback driver durations and a runbook URL outside what AWS and a browser accept', () => {
    const { problems } = problemsOf(
      build({
        runbookUrl: 'docs/runbook.md',
        failbackDriver: {
          pause: Duration.millis(500),
          timeout: Duration.days(2),
          approvalTimeout: Duration.days(3),
          alarmSuppressionExtension: Duration.days(2),
        },
      }),
    );

    expect(problems).toEqual([
      { path: 'failbackDriver.pause', message: 'expected whole seconds from 1 to 3600, got 500 millis' },
      {
        path: 'failbackDriver.approvalTimeout',
        message: 'expected whole seconds from 60 to 172800, got 3 days',
      },
      {
        path: 'failbackDriver.alarmSuppressionExtension',
        message: 'expected whole seconds from 60 to 86400, got 2 days',
      },
      { path: 'runbookUrl', message: "expected an http(s) URL, got 'docs/runbook.md'" },
    ]);
  });
});

describe('Mm2Failover.grantReadActiveConfig', () => {
  it('grants an application role exactly the active parameters and the active secret', () => {
    const statements = appRoleGrants();

    expect(
      statements.map((s) => ({ actions: asArray(s.Action), resources: asArray(s.Resource).map(flat) })),
    ).toEqual([
      {
        actions: ['ssm:GetParameter'],
        resources: [
          'arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:parameter/mm2-failover/orders-dr/active',
          'arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:parameter/mm2-failover/orders-dr/active/bootstrap-servers',
        ],
      },
      {
        actions: ['secretsmanager:GetSecretValue'],
        resources: [expect.stringMatching(/^<OrdersDrContractActiveCredentials[0-9A-F]+>$/)],
      },
    ]);
    // The secret uses the AWS-managed key: nothing to decrypt with a grant of its own.
    expect(JSON.stringify(statements)).not.toContain('kms:');
  });

  it("adds the copies in the config's extra regions, where clients there read them", () => {
    const resourcesGranted = appRoleGrants((c) => {
      c.regions = ['eu-central-1'];
    }).flatMap((s) => asArray(s.Resource).map(flat));

    expect(resourcesGranted).toEqual(
      expect.arrayContaining([
        'arn:<AWS::Partition>:ssm:eu-central-1:<AWS::AccountId>:parameter/mm2-failover/orders-dr/active',
        'arn:<AWS::Partition>:ssm:eu-central-1:<AWS::AccountId>:parameter/mm2-failover/orders-dr/active/bootstrap-servers',
        'arn:<AWS::Partition>:secretsmanager:eu-central-1:<AWS::AccountId>:secret:mm2-failover/orders-dr/active-credentials-??????',
      ]),
    );
    expect(resourcesGranted).toHaveLength(6);
  });
});

describe('the deployment config in the bundle', () => {
  it('synthesizes 1,000 topics and 500 groups, which the 4 KB environment could not hold', () => {
    const config = exampleConfig((c) => {
      c.topics = Array.from({ length: 1_000 }, (_, i) => `orders.region-${i}`);
      c.consumerGroups = Array.from({ length: 500 }, (_, i) => `billing-service-${i}`);
    });
    const { app, template } = synthesize({ config, entries: { probe: fixtureEntries.probe } });

    const [, probe] = onlyOne(template, 'AWS::Lambda::Function', 'ProbeFunction');
    const env = (probe.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(JSON.stringify(env).length).toBeLessThan(1_000);
    const asset = join(
      app.outdir,
      `asset.${(probe.Properties.Code as { S3Key: string }).S3Key.replace('.zip', '')}`,
    );
    const atColdStart = loadDeploymentConfigFromEnv({
      LAMBDA_TASK_ROOT: asset,
      MM2_FAILOVER_CONFIG_FILE: env.MM2_FAILOVER_CONFIG_FILE as string,
    });
    expect(atColdStart.topics).toHaveLength(1_000);
    expect(atColdStart.consumerGroups).toHaveLength(500);
  });

  it('gives two deployments of one app each its own config, though their handlers are the same files', () => {
    const app = new App();
    const stack = new Stack(app, 'TwoDeployments');
    for (const name of ['orders-dr', 'payments-dr']) {
      new Mm2Failover(stack, name, {
        config: exampleConfig((c) => {
          c.name = name;
        }),
        entries: { probe: fixtureEntries.probe },
      });
    }
    const template = Template.fromStack(stack);

    const names = resources(template, 'AWS::Lambda::Function').map(([, f]) => {
      const key = (f.Properties.Code as { S3Key: string }).S3Key.replace('.zip', '');
      const file = join(app.outdir, `asset.${key}`, 'mm2-failover.config.json');
      return (JSON.parse(readFileSync(file, 'utf8')) as { name: string }).name;
    });
    expect(names.sort()).toEqual(['orders-dr', 'payments-dr']);
  });
});

describe('the failback state machine', () => {
  let template: Template;
  let definition: Record<string, unknown> & { States: Record<string, Record<string, unknown>> };
  let failbackId: string;
  beforeAll(() => {
    ({ template } = synthesize({ bundle: false }));
    [failbackId] = onlyOne(template, 'AWS::Lambda::Function', 'FailbackFunction');
    const [, machine] = onlyOne(template, 'AWS::StepFunctions::StateMachine', 'FailbackDriverStateMachine');
    definition = JSON.parse(flat(machine.Properties.DefinitionString));
  });

  it('invokes the failback function, decides on its answer, pauses, and waits for the purge approval', () => {
    const S = driverStateNames;
    expect(definition.QueryLanguage).toBe('JSONata');
    expect(definition.StartAt).toBe(S.markInProgress);
    expect(Object.keys(definition.States).sort()).toEqual(Object.values(S).sort());
    expect(definition.States[S.advance]).toMatchObject({
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke',
      Arguments: {
        FunctionName: `<${failbackId}.Arn>`,
        Payload: {
          action: 'failback',
          requestedBy: '{% $states.context.Execution.Input.requestedBy %}',
          reason: '{% $states.context.Execution.Input.reason %}',
        },
      },
      Next: S.decide,
    });
    expect(definition.States[S.confirmPurge]).toMatchObject({
      Arguments: {
        FunctionName: `<${failbackId}.Arn>`,
        Payload: {
          action: 'failback',
          phase: 'purge',
          confirm: true,
          requestedBy: '{% $approval.approvedBy %}',
        },
      },
    });
    expect(definition.States[S.pause]).toEqual({ Type: 'Wait', Seconds: 30, Next: S.markInProgress });
  });

  it('decides by the rules the in-process driver follows, in their order, and refuses anything else', () => {
    expect(definition.States[driverStateNames.decide]).toEqual({
      Type: 'Choice',
      Choices: [
        { Condition: "{% $answer.status = 'completed' %}", Next: 'FailbackCompleted' },
        { Condition: "{% $answer.status = 'in-progress' %}", Next: 'MarkFailbackInProgress' },
        {
          Condition: "{% $answer.status = 'waiting' and $answer.waiting.waitingFor = 'confirm' %}",
          Next: 'AwaitPurgeApproval',
        },
        { Condition: "{% $answer.status = 'waiting' %}", Next: 'Pause' },
        {
          Condition: "{% $answer.status = 'refused' and $answer.reasons[0].code = 'lock-held' %}",
          Next: 'Pause',
        },
      ],
      Default: 'FailbackRefused',
    });
    const choices = definition.States[driverStateNames.decide]?.Choices as { Next: string }[];
    expect(decisionRules.map((r) => r.next)).toEqual(choices.map((c) => c.Next));
  });

  it('retries Lambda service errors quickly and a failed invocation slowly, then fails with the error', () => {
    for (const state of [driverStateNames.advance, driverStateNames.confirmPurge]) {
      const task = definition.States[state] as { Retry: { ErrorEquals: string[]; MaxAttempts: number }[] };
      expect(task.Retry.map((r) => [r.ErrorEquals, r.MaxAttempts])).toEqual([
        [
          [
            'Lambda.ServiceException',
            'Lambda.AWSLambdaException',
            'Lambda.SdkClientException',
            'Lambda.TooManyRequestsException',
          ],
          6,
        ],
        [['States.ALL'], 3],
      ]);
      expect(definition.States[state]?.Catch).toEqual([
        {
          ErrorEquals: ['States.ALL'],
          Assign: { error: '{% $states.errorOutput %}' },
          Next: 'FailbackFailed',
        },
      ]);
    }
  });

  it('leaves the task token in the table for `approve`, and gives up after the approval timeout', () => {
    const [tableId] = onlyOne(template, 'AWS::DynamoDB::Table', 'LockAndJournal');
    expect(definition.States[driverStateNames.awaitPurgeApproval]).toMatchObject({
      Type: 'Task',
      Resource: 'arn:aws:states:::aws-sdk:dynamodb:putItem.waitForTaskToken',
      Arguments: {
        TableName: `<${tableId}>`,
        Item: {
          pk: { S: 'approval#orders-dr' },
          sk: { S: 'failback-purge' },
          taskToken: { S: '{% $states.context.Task.Token %}' },
          answer: { S: '{% $string($answer) %}' },
        },
      },
      TimeoutSeconds: 3 * 86_400,
      Next: driverStateNames.confirmPurge,
    });
  });

  it('may invoke only the failback function, write only the approval item, and put only its metric', () => {
    const [tableId] = onlyOne(template, 'AWS::DynamoDB::Table', 'LockAndJournal');
    const statements = statementsOfRole(template, 'FailbackDriverRole');
    const lambda = statements.filter((s) => asArray(s.Action).some((a) => a.startsWith('lambda:')));
    expect(lambda.map((s) => [s.Action, asArray(s.Resource).map(flat)])).toEqual([
      ['lambda:InvokeFunction', [`<${failbackId}.Arn>`, `<${failbackId}.Arn>:*`]],
    ]);
    const dynamo = statements.filter((s) => asArray(s.Action).some((a) => a.startsWith('dynamodb:')));
    expect(dynamo).toEqual([
      expect.objectContaining({
        Action: 'dynamodb:PutItem',
        Resource: { 'Fn::GetAtt': [tableId, 'Arn'] },
        Condition: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['approval#orders-dr'] } },
      }),
    ]);
    const metrics = statements.filter((s) => asArray(s.Action).includes('cloudwatch:PutMetricData'));
    expect(metrics).toEqual([
      expect.objectContaining({ Condition: { StringEquals: { 'cloudwatch:namespace': 'MM2Failover' } } }),
    ]);
    // Nothing else than those, its logs and its traces.
    const others = statements
      .flatMap((s) => asArray(s.Action))
      .filter(
        (a) => !/^(lambda:InvokeFunction|dynamodb:PutItem|cloudwatch:PutMetricData|logs:|xray:)/.test(a),
      );
    expect(others).toEqual([]);
  });

  it('logs every state without the execution data, where the task token travels', () => {
    const [, machine] = onlyOne(template, 'AWS::StepFunctions::StateMachine', 'FailbackDriverStateMachine');
    expect(machine.Properties).toMatchObject({
      StateMachineType: 'STANDARD',
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: false },
      TracingConfiguration: { Enabled: true },
    });
  });

  it('puts FailbackInProgress = 0 however an execution ends', () => {
    const [machineId] = onlyOne(template, 'AWS::StepFunctions::StateMachine', 'FailbackDriverStateMachine');
    const [releaseId, release] = onlyOne(
      template,
      'AWS::StepFunctions::StateMachine',
      'FailbackDriverRelease',
    );
    const [, rule] = onlyOne(template, 'AWS::Events::Rule', 'FailbackDriverReleaseWhenEnded');
    expect(rule.Properties).toMatchObject({
      EventPattern: {
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        detail: {
          stateMachineArn: [{ Ref: machineId }],
          status: ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'],
        },
      },
      Targets: [expect.objectContaining({ Arn: { Ref: releaseId } })],
    });
    const releaseDefinition = JSON.parse(flat(release.Properties.DefinitionString));
    expect(releaseDefinition.States.ReleaseSuppression).toMatchObject({
      Resource: 'arn:aws:states:::aws-sdk:cloudwatch:putMetricData',
      Arguments: {
        Namespace: 'MM2Failover',
        MetricData: [
          {
            MetricName: 'FailbackInProgress',
            Dimensions: [{ Name: 'Deployment', Value: 'orders-dr' }],
            Value: 0,
          },
        ],
      },
    });
    expect(definition.States[driverStateNames.markInProgress]).toMatchObject({
      Arguments: { MetricData: [{ MetricName: 'FailbackInProgress', Value: 1 }] },
      Next: driverStateNames.advance,
    });
  });

  it('is exported by the stack for the CLI', () => {
    const [machineId] = onlyOne(template, 'AWS::StepFunctions::StateMachine', 'FailbackDriverStateMachine');
    template.hasOutput('FailbackStateMachineArn', { Value: { Ref: machineId } });
  });
});

describe('alarms a failback causes by design', () => {
  let template: Template;
  beforeAll(() => {
    ({ template } = synthesize({ bundle: false }));
  });
  const alarmId = (id: string) => onlyOne(template, 'AWS::CloudWatch::Alarm', `Detection${id}`)[0];

  it('holds back the notifications of primary-down and the lag alarms while FailbackInProgress is in ALARM', () => {
    const [suppressorId, suppressor] = onlyOne(
      template,
      'AWS::CloudWatch::Alarm',
      'FailbackSuppressionFailbackInProgress',
    );
    expect(suppressor.Properties).toMatchObject({
      MetricName: 'FailbackInProgress',
      Namespace: 'MM2Failover',
      Dimensions: [{ Name: 'Deployment', Value: 'orders-dr' }],
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      // Missing data keeps the state: nothing is emitted while the purge waits for approval.
      TreatMissingData: 'ignore',
    });
    const [topicId] = onlyOne(template, 'AWS::SNS::Topic', 'NotificationsTopic');
    for (const id of ['PrimaryDown', 'ReplicationLagWarning', 'ReplicationLagCritical']) {
      const [, composite] = onlyOne(
        template,
        'AWS::CloudWatch::CompositeAlarm',
        `FailbackSuppression${id}Notify`,
      );
      expect(composite.Properties).toMatchObject({
        AlarmRule: { 'Fn::Join': ['', ['ALARM("', { 'Fn::GetAtt': [alarmId(id), 'Arn'] }, '")']] },
        ActionsSuppressor: { 'Fn::GetAtt': [suppressorId, 'Arn'] },
        ActionsSuppressorExtensionPeriod: 600,
        AlarmActions: [{ Ref: topicId }],
        OKActions: [{ Ref: topicId }],
      });
      // The alarm itself notifies nobody, or the suppression would be bypassed.
      const [, alarm] = onlyOne(template, 'AWS::CloudWatch::Alarm', `Detection${id}`);
      expect(alarm.Properties.AlarmActions).toBeUndefined();
    }
  });

  it('keeps paging for what a failback does not cause: the secondary down, a stale prober', () => {
    for (const id of ['SecondaryDown', 'ProberStale']) {
      const [, alarm] = onlyOne(template, 'AWS::CloudWatch::Alarm', `Detection${id}`);
      expect(alarm.Properties.AlarmActions).toHaveLength(1);
    }
  });

  it('notifies directly when no failback function is deployed, so there is nothing to suppress', () => {
    const { template: probeOnly } = synthesize({ bundle: false, entries: { probe: fixtureEntries.probe } });
    expect(resources(probeOnly, 'AWS::StepFunctions::StateMachine')).toEqual([]);
    const [, primaryDown] = onlyOne(probeOnly, 'AWS::CloudWatch::Alarm', 'DetectionPrimaryDown');
    expect(primaryDown.Properties.AlarmActions).toHaveLength(1);
  });
});

describe('the operations dashboard', () => {
  let body: string;
  beforeAll(() => {
    const { template } = synthesize({ bundle: false });
    const [, dashboard] = onlyOne(template, 'AWS::CloudWatch::Dashboard', 'Operations');
    body = flat(dashboard.Properties.DashboardBody);
  });

  it('shows first which cluster is active, the epoch at rest and whether the configuration is consistent', () => {
    const widgets = (JSON.parse(body) as { widgets: { type: string; properties: Record<string, unknown> }[] })
      .widgets;
    const first = widgets.find((w) => JSON.stringify(w).includes('ActiveOnSecondary'));
    expect(first?.properties.title).toMatch(/^Active cluster/);
    for (const metric of ['ActiveOnSecondary', 'ActiveEpoch', 'ActiveConfigConsistent']) {
      // Dimension Deployment only, as the probe emits them.
      expect(JSON.stringify(first?.properties.metrics)).toContain(
        `"MM2Failover","${metric}","Deployment","orders-dr"`,
      );
    }
  });

  it('shows the readiness and lag state, and whether a failback is running', () => {
    for (const metric of ['StandbyReady', 'FailbackInProgress', 'ReplicationLagSeconds']) {
      expect(body).toContain(`"${metric}"`);
    }
  });

  it('links sections of docs/runbook.md that exist, at the default URL', () => {
    const runbook = readFileSync(join(projectRoot, 'docs', 'runbook.md'), 'utf8');
    const anchors = new Set(
      [...runbook.matchAll(/^## (.+)$/gm)].map((m) =>
        (m[1] as string)
          .toLowerCase()
          .replace(/[^a-z0-9 -]/g, '')
          .replaceAll(' ', '-'),
      ),
    );
    const linked = [...body.matchAll(/\]\(([^)#]+)#([^)]+)\)/g)];
    expect(linked.length).toBeGreaterThanOrEqual(5);
    for (const [, url, anchor] of linked) {
      expect(url).toBe(defaultRunbookUrl);
      expect(anchors, anchor).toContain(anchor);
    }
  });
});
