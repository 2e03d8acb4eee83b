import { join } from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { functionNames } from '#infra/function-catalog.ts';
import { loadDeploymentConfigFromEnv } from '#shared/config/load.ts';
import { deploymentPaths } from '#shared/config/paths.ts';
import { exampleConfig, fixtureEntries, type Synthesized, synthesize, synthTimeoutMs } from './synthesize.ts';

// Synthesizing a stack takes seconds on two busy cores.
vi.setConfig({ testTimeout: synthTimeoutMs, hookTimeout: synthTimeoutMs });

type Resource = { Type: string; Properties: Record<string, unknown>; DependsOn?: string[] };

/** The one resource of `type` whose logical id starts with `prefix` (construct ids are stable, hashes are not). */
function only(s: Synthesized, type: string, prefix: string): [string, Resource] {
  const found = Object.entries(s.template.findResources(type) as Record<string, Resource>).filter(([id]) =>
    id.startsWith(prefix),
  );
  expect(found.map(([id]) => id)).toHaveLength(1);
  return found[0] as [string, Resource];
}

function fn(s: Synthesized, name: string): [string, Resource] {
  return only(s, 'AWS::Lambda::Function', `${name[0]?.toUpperCase()}${name.slice(1)}Function`);
}

/** The folder a function's bundle was staged in: what Lambda unpacks into LAMBDA_TASK_ROOT. */
function assetDir(s: Synthesized, f: Resource): string {
  const key = (f.Properties.Code as { S3Key: string }).S3Key;
  return join(s.app.outdir, `asset.${key.replace(/\.zip$/, '')}`);
}

describe('Mm2FailoverStack', () => {
  // Synthesized once, with every function (stand-in handlers) bundled by esbuild like the real ones.
  let s: Synthesized;
  const config = exampleConfig();
  const paths = deploymentPaths(config.name);
  beforeAll(() => {
    s = synthesize({ config });
  }, synthTimeoutMs);

  describe('functions', () => {
    it('runs every function on nodejs24.x arm64 from an ESM bundle when its handler exists', () => {
      for (const name of functionNames) {
        const [, f] = fn(s, name);
        expect(f.Properties).toMatchObject({
          Runtime: 'nodejs24.x',
          Architectures: ['arm64'],
          Handler: 'index.handler',
          LoggingConfig: { LogFormat: 'JSON', ApplicationLogLevel: 'INFO' },
        });
      }
    });

    it('hands every function the validated config, the table name and the Powertools settings', () => {
      const [tableId] = only(s, 'AWS::DynamoDB::Table', 'LockAndJournal');
      for (const name of functionNames) {
        const f = fn(s, name)[1];
        const env = (f.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
        // What the function's cold start does: read the file beside its bundle, validate it again.
        const atColdStart = loadDeploymentConfigFromEnv({
          LAMBDA_TASK_ROOT: assetDir(s, f),
          MM2_FAILOVER_CONFIG_FILE: env.MM2_FAILOVER_CONFIG_FILE as string,
        });
        expect(atColdStart).toEqual(config);
        expect(env).toMatchObject({
          MM2_FAILOVER_CONFIG_FILE: 'mm2-failover.config.json',
          MM2_FAILOVER_TABLE: { Ref: tableId },
          POWERTOOLS_SERVICE_NAME: `mm2-failover-${name}`,
          POWERTOOLS_METRICS_NAMESPACE: paths.metricsNamespace,
          POWERTOOLS_LOG_LEVEL: 'INFO',
        });
        // Not the config itself: Lambda caps the environment at 4 KB.
        expect(env).not.toHaveProperty('MM2_FAILOVER_CONFIG');
        // The bundles map their own stack traces when one is formatted (shared/runtime/source-maps.ts).
        expect(env).not.toHaveProperty('NODE_OPTIONS');
      }
    });

    it('tells only the functions that report a switch where to publish', () => {
      const [topicId] = only(s, 'AWS::SNS::Topic', 'NotificationsTopic');
      for (const name of functionNames) {
        const env = (fn(s, name)[1].Properties.Environment as { Variables: Record<string, unknown> })
          .Variables;
        if (name === 'failover' || name === 'failback') {
          expect(env.MM2_FAILOVER_TOPIC_ARN).toEqual({ Ref: topicId });
        } else {
          expect(env).not.toHaveProperty('MM2_FAILOVER_TOPIC_ARN');
        }
      }
    });

    it('serializes failover and failback with reserved concurrency 1 and leaves probe and status unreserved', () => {
      expect(fn(s, 'failover')[1].Properties.ReservedConcurrentExecutions).toBe(1);
      expect(fn(s, 'failback')[1].Properties.ReservedConcurrentExecutions).toBe(1);
      expect(fn(s, 'probe')[1].Properties.ReservedConcurrentExecutions).toBeUndefined();
      expect(fn(s, 'status')[1].Properties.ReservedConcurrentExecutions).toBeUndefined();
    });

    it('sizes timeouts to the work: probe one minute plus a cycle deadline, failover minutes, failback 15 min', () => {
      // 60 s schedule period + 7 s cycleDeadlineMs (example config).
      expect(fn(s, 'probe')[1].Properties.Timeout).toBe(67);
      expect(fn(s, 'failover')[1].Properties.Timeout).toBe(300);
      expect(fn(s, 'failback')[1].Properties.Timeout).toBe(900);
    });

    it('writes each function to its own log group with a retention', () => {
      for (const name of functionNames) {
        const [logsId, logs] = only(
          s,
          'AWS::Logs::LogGroup',
          `${name[0]?.toUpperCase()}${name.slice(1)}Logs`,
        );
        expect(logs.Properties.RetentionInDays).toBe(90);
        expect(fn(s, name)[1].Properties.LoggingConfig).toMatchObject({ LogGroup: { Ref: logsId } });
      }
    });

    it('places every function in the configured subnets and security groups', () => {
      for (const name of functionNames) {
        expect(fn(s, name)[1].Properties.VpcConfig).toEqual({
          SubnetIds: config.vpc?.subnetIds,
          SecurityGroupIds: config.vpc?.securityGroupIds,
        });
      }
    });

    it('reports an automatic failover that failed all its retries to the notification topic', () => {
      const [fnId] = fn(s, 'failover');
      const [topicId] = only(s, 'AWS::SNS::Topic', 'NotificationsTopic');
      s.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: fnId },
        DestinationConfig: { OnFailure: { Destination: { Ref: topicId } } },
        MaximumRetryAttempts: 2,
      });
    });

    it('does not trace with X-Ray unless asked to', () => {
      for (const name of functionNames) expect(fn(s, name)[1].Properties.TracingConfig).toBeUndefined();
    });
  });

  describe('probe schedule', () => {
    it('invokes the probe every minute without retrying a missed run', () => {
      const [probeId] = fn(s, 'probe');
      const [, rule] = only(s, 'AWS::Events::Rule', 'ProbeSchedule');
      expect(rule.Properties).toMatchObject({
        ScheduleExpression: 'rate(1 minute)',
        State: 'ENABLED',
        Targets: [{ Arn: { 'Fn::GetAtt': [probeId, 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 0 } }],
      });
    });
  });

  describe('alarms', () => {
    const alarm = (id: string) => only(s, 'AWS::CloudWatch::Alarm', `Detection${id}`);

    it('judges a cluster down on M of N ten-second ClusterUp datapoints from the config', () => {
      for (const [id, cluster] of [
        ['PrimaryDown', 'primary'],
        ['SecondaryDown', 'secondary'],
      ] as const) {
        expect(alarm(id)[1].Properties).toMatchObject({
          AlarmName: `mm2-failover-orders-dr-${cluster}-down`,
          Namespace: paths.metricsNamespace,
          MetricName: 'ClusterUp',
          Dimensions: expect.arrayContaining([
            { Name: 'Deployment', Value: 'orders-dr' },
            { Name: 'Cluster', Value: cluster },
          ]),
          Statistic: 'Maximum',
          Period: 10,
          ComparisonOperator: 'LessThanThreshold',
          Threshold: 1,
          EvaluationPeriods: 3,
          DatapointsToAlarm: 3,
          TreatMissingData: 'notBreaching',
        });
      }
    });

    it('treats a silent prober as breaching', () => {
      expect(alarm('ProberStale')[1].Properties).toMatchObject({
        MetricName: 'ProberHeartbeat',
        Dimensions: [{ Name: 'Deployment', Value: 'orders-dr' }],
        Statistic: 'SampleCount',
        ComparisonOperator: 'LessThanThreshold',
        Threshold: 1,
        TreatMissingData: 'breaching',
      });
    });

    it('warns at half the lag budget and goes critical at the budget', () => {
      expect(alarm('ReplicationLagWarning')[1].Properties).toMatchObject({
        MetricName: 'ReplicationLagSeconds',
        Dimensions: expect.arrayContaining([{ Name: 'Cluster', Value: 'secondary' }]),
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: config.safety.maxLagSeconds / 2,
      });
      expect(alarm('ReplicationLagCritical')[1].Properties).toMatchObject({
        MetricName: 'ReplicationLagSeconds',
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: config.safety.maxLagSeconds,
      });
    });

    it('alarms when the readiness audit finds the standby not ready, holding its state between audits', () => {
      expect(alarm('StandbyNotReady')[1].Properties).toMatchObject({
        AlarmName: 'mm2-failover-orders-dr-standby-not-ready',
        Namespace: paths.metricsNamespace,
        MetricName: 'StandbyReady',
        Dimensions: [{ Name: 'Deployment', Value: 'orders-dr' }],
        Statistic: 'Minimum',
        Period: config.readiness.intervalSeconds,
        ComparisonOperator: 'LessThanThreshold',
        Threshold: 1,
        EvaluationPeriods: 1,
        DatapointsToAlarm: 1,
        TreatMissingData: 'missing',
      });
    });

    it('has no standby-not-ready alarm when the readiness audit is disabled', () => {
      const { template } = synthesize({
        config: exampleConfig((c) => {
          c.readiness = { enabled: false };
        }),
        bundle: false,
      });
      expect(Object.keys(template.findResources('AWS::CloudWatch::Alarm'))).not.toContainEqual(
        expect.stringMatching(/^DetectionStandbyNotReady/),
      );
      expect(Object.keys(template.findResources('AWS::CloudWatch::Alarm'))).toContainEqual(
        expect.stringMatching(/^DetectionPrimaryDown/),
      );
    });

    it('notifies the encrypted topic on every alarm and every recovery, directly or through its failback-aware composite', () => {
      const [topicId] = only(s, 'AWS::SNS::Topic', 'NotificationsTopic');
      const notifies = (r: Resource) =>
        JSON.stringify(r.Properties.AlarmActions) === JSON.stringify([{ Ref: topicId }]) &&
        JSON.stringify(r.Properties.OKActions) === JSON.stringify([{ Ref: topicId }]);
      const composites = Object.values(
        s.template.findResources('AWS::CloudWatch::CompositeAlarm'),
      ) as Resource[];
      for (const id of [
        'PrimaryDown',
        'SecondaryDown',
        'ProberStale',
        'ReplicationLagWarning',
        'ReplicationLagCritical',
        'StandbyNotReady',
      ]) {
        const [alarmId, a] = alarm(id);
        const through = composites.filter((c) => JSON.stringify(c.Properties.AlarmRule).includes(alarmId));
        expect(notifies(a) || through.some(notifies), id).toBe(true);
      }
      const [, trigger] = only(s, 'AWS::CloudWatch::CompositeAlarm', 'DetectionFailoverComposite');
      expect(notifies(trigger)).toBe(true);
    });

    it('composes primary down AND NOT secondary down AND NOT prober stale', () => {
      const [, composite] = only(s, 'AWS::CloudWatch::CompositeAlarm', 'Detection');
      const arn = (id: string) => ({ 'Fn::GetAtt': [alarm(id)[0], 'Arn'] });
      expect(composite.Properties.AlarmRule).toEqual({
        'Fn::Join': [
          '',
          [
            '(ALARM("',
            arn('PrimaryDown'),
            '") AND (NOT (ALARM("',
            arn('SecondaryDown'),
            '"))) AND (NOT (ALARM("',
            arn('ProberStale'),
            '"))))',
          ],
        ],
      });
    });

    it('invokes the failover function when the composite alarm enters ALARM', () => {
      const [compositeId] = only(s, 'AWS::CloudWatch::CompositeAlarm', 'Detection');
      const [failoverId] = fn(s, 'failover');
      const [ruleId, rule] = only(s, 'AWS::Events::Rule', 'DetectionFailoverOnAlarm');
      expect(rule.Properties).toMatchObject({
        EventPattern: {
          source: ['aws.cloudwatch'],
          'detail-type': ['CloudWatch Alarm State Change'],
          resources: [{ 'Fn::GetAtt': [compositeId, 'Arn'] }],
          detail: { state: { value: ['ALARM'] } },
        },
        Targets: [{ Arn: { 'Fn::GetAtt': [failoverId, 'Arn'] } }],
      });
      s.template.hasResourceProperties('AWS::Lambda::Permission', {
        Action: 'lambda:InvokeFunction',
        FunctionName: { 'Fn::GetAtt': [failoverId, 'Arn'] },
        Principal: 'events.amazonaws.com',
        SourceArn: { 'Fn::GetAtt': [ruleId, 'Arn'] },
      });
    });
  });

  describe('state and contract', () => {
    it('keeps locks and journals in an on-demand table with PITR, TTL on expiresAt and keys pk/sk', () => {
      const [, table] = only(s, 'AWS::DynamoDB::Table', 'LockAndJournal');
      expect(table.Properties).toMatchObject({
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
      });
    });

    it('creates the contract secrets under their contract names, empty', () => {
      const secrets = Object.values(s.template.findResources('AWS::SecretsManager::Secret')) as Resource[];
      expect(secrets.map((r) => r.Properties.Name).sort()).toEqual(
        [
          paths.activeCredentialsSecret,
          paths.clusterSecret('primary'),
          paths.clusterSecret('secondary'),
        ].sort(),
      );
      for (const r of secrets) {
        expect(r.Properties).not.toHaveProperty('SecretString');
        expect(r.Properties).not.toHaveProperty('GenerateSecretString');
      }
    });

    it('creates the automation switch enabled', () => {
      s.template.hasResourceProperties('AWS::SSM::Parameter', {
        Name: paths.automationParameter,
        Type: 'String',
        Value: 'enabled',
      });
    });

    it('writes the function names, the table and the state machine where the CLI finds them by deployment', () => {
      const [, parameter] = only(s, 'AWS::SSM::Parameter', 'FunctionsParameter');
      expect(parameter.Properties).toMatchObject({ Name: paths.functionsParameter, Type: 'String' });
      const value = JSON.stringify(parameter.Properties.Value);
      for (const name of functionNames) {
        expect(value).toContain(`\\"${name}\\":\\"`);
        expect(value).toContain(JSON.stringify({ Ref: fn(s, name)[0] }));
      }
      expect(value).toContain(JSON.stringify({ Ref: only(s, 'AWS::DynamoDB::Table', 'LockAndJournal')[0] }));
      // The same state machine the stack's output names.
      const outputs = s.template.findOutputs('FailbackStateMachineArn') as Record<string, { Value: unknown }>;
      const stateMachine = Object.values(outputs)[0]?.Value;
      expect(stateMachine).toMatchObject({ Ref: expect.any(String) });
      expect(value).toContain(JSON.stringify(stateMachine));
    });

    it('leaves the active parameters to the functions, so a stack update can never roll a switch back', () => {
      const names = Object.values(s.template.findResources('AWS::SSM::Parameter')).map(
        (r) => (r as Resource).Properties.Name,
      );
      expect(names).not.toContain(paths.activeParameter);
      expect(names).not.toContain(paths.activeBootstrapParameter);
    });

    it('encrypts the notification topic with a rotating key CloudWatch may use, and subscribes the emails', () => {
      const [keyId, key] = only(s, 'AWS::KMS::Key', 'NotificationsKey');
      expect(key.Properties.EnableKeyRotation).toBe(true);
      expect(JSON.stringify(key.Properties.KeyPolicy)).toContain('cloudwatch.amazonaws.com');
      s.template.hasResourceProperties('AWS::SNS::Topic', {
        KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
      });
      s.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
      s.template.resourcePropertiesCountIs(
        'AWS::SNS::Subscription',
        { Protocol: 'email', Endpoint: 'sre-oncall@example.com' },
        1,
      );
    });

    it('builds a dashboard of the probe metrics and the switches', () => {
      const [, dash] = only(s, 'AWS::CloudWatch::Dashboard', 'Operations');
      const body = JSON.stringify(dash.Properties.DashboardBody);
      for (const metric of [
        'ClusterUp',
        'BrokersAlive',
        'ReplicationLagSeconds',
        'ReplicationBacklogRecords',
      ]) {
        expect(body).toContain(metric);
      }
      expect(body).toContain('Failovers and failbacks');
    });
  });
});

describe('Mm2FailoverStack variants', () => {
  it('follows the M of N and the alarm period of the config, 20 s included', () => {
    const config = exampleConfig((c) => {
      c.detection = { ...c.detection, alarmPeriodSeconds: 20, evaluationPeriods: 6, datapointsToAlarm: 4 };
    });
    const { template } = synthesize({ config, bundle: false });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'mm2-failover-orders-dr-primary-down',
      Period: 20,
      EvaluationPeriods: 6,
      DatapointsToAlarm: 4,
    });
  });

  it('traces every function with X-Ray when the tracing flag is set', () => {
    const { template } = synthesize({ tracing: true, bundle: false });
    const fns = Object.values(template.findResources('AWS::Lambda::Function')) as Resource[];
    expect(fns).toHaveLength(4);
    for (const f of fns) expect(f.Properties.TracingConfig).toEqual({ Mode: 'Active' });
  });

  it('runs outside any VPC when the config names none', () => {
    const config = exampleConfig((c) => {
      delete c.vpc;
    });
    const { template } = synthesize({ config, bundle: false });
    for (const f of Object.values(template.findResources('AWS::Lambda::Function')) as Resource[]) {
      expect(f.Properties.VpcConfig).toBeUndefined();
    }
  });

  it('creates only the functions whose handler exists, and no failover rule without a failover function', () => {
    const { template } = synthesize({ bundle: false, entries: { probe: fixtureEntries.probe } });
    const fns = Object.keys(template.findResources('AWS::Lambda::Function'));
    expect(fns).toHaveLength(1);
    expect(fns[0]).toMatch(/^ProbeFunction/);
    template.resourceCountIs('AWS::CloudWatch::CompositeAlarm', 1);
    expect(Object.keys(template.findResources('AWS::Events::Rule'))).toEqual([
      expect.stringMatching(/^ProbeSchedule/),
    ]);
  });

  it('references a cluster secret by ARN instead of creating it when the config gives secretArn', () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:kafka/aiven-primary-AbCdEf';
    const config = exampleConfig((c) => {
      c.clusters.primary.secretArn = arn;
    });
    const { template } = synthesize({ config, bundle: false });
    const names = Object.values(template.findResources('AWS::SecretsManager::Secret')).map(
      (r) => (r as Resource).Properties.Name,
    );
    expect(names).not.toContain(deploymentPaths(config.name).clusterSecret('primary'));
    expect(names).toContain(deploymentPaths(config.name).clusterSecret('secondary'));
    expect(JSON.stringify(template.findResources('AWS::IAM::Policy'))).toContain(arn);
  });
});
