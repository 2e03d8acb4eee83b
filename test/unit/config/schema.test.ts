import { readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  loadDeploymentConfigFile,
  loadDeploymentConfigFromEnv,
  parseDeploymentConfig,
} from '#shared/config/load.ts';
import { deploymentConfigSchema } from '#shared/config/schema.ts';
import { ValidationError } from '#shared/errors.ts';
import { writeConfigFile } from '../../fakes/config-file.ts';

const example = JSON.parse(readFileSync('failover.config.json', 'utf8')) as Record<string, unknown>;

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e: unknown) {
    if (e instanceof ValidationError) return e.problems.map((p) => `${p.path}: ${p.message}`);
    throw e;
  }
  throw new Error('expected a ValidationError');
}

describe('deployment config schema', () => {
  it('accepts the shipped example and fills defaults', () => {
    const config = loadDeploymentConfigFile('failover.config.json');

    expect(config.name).toBe('orders-dr');
    expect(config.separator).toBe('.');
    expect(config.detection.confirmProbes).toBe(3);
    expect(config.mirror.kind).toBe('kafka-connect');
  });

  it('lists every problem by path when many fields are wrong', () => {
    const problems = problemsOf(() =>
      parseDeploymentConfig({
        ...example,
        name: 'Bad Name',
        mode: 'active-pasive',
        clusters: { primary: { alias: 'pri mary', auth: 'kerberos' } },
        topics: [],
      }),
    );

    expect(problems.some((p) => p.startsWith('name:'))).toBe(true);
    expect(problems.some((p) => p.startsWith('mode:') && p.includes('active-passive'))).toBe(true);
    expect(problems.some((p) => p.startsWith('clusters.primary.alias:'))).toBe(true);
    expect(problems.some((p) => p.startsWith('clusters.primary.auth:'))).toBe(true);
    expect(problems.some((p) => p.startsWith('clusters.secondary:'))).toBe(true);
    expect(problems.some((p) => p.startsWith('topics:'))).toBe(true);
  });

  it('refuses active-active with the identity policy, because MM2 could not detect cycles', () => {
    const problems = problemsOf(() => parseDeploymentConfig({ ...example, mode: 'active-active' }));

    expect(problems).toEqual([expect.stringMatching(/^replicationPolicy: .*cycles/)]);
  });

  it('refuses an M-of-N rule with M greater than N and a cycle deadline past the interval', () => {
    const problems = problemsOf(() =>
      parseDeploymentConfig({
        ...example,
        detection: {
          evaluationPeriods: 2,
          datapointsToAlarm: 3,
          probeIntervalSeconds: 5,
          cycleDeadlineMs: 6000,
        },
      }),
    );

    expect(problems.some((p) => p.startsWith('detection.datapointsToAlarm:'))).toBe(true);
    expect(problems.some((p) => p.startsWith('detection.cycleDeadlineMs:'))).toBe(true);
  });

  it('refuses identical aliases, duplicate topics and unknown keys', () => {
    const problems = problemsOf(() =>
      parseDeploymentConfig({
        ...example,
        clusters: { primary: { alias: 'k', auth: 'none' }, secondary: { alias: 'k', auth: 'none' } },
        topics: ['orders', 'orders'],
        surprise: true,
      }),
    );

    expect(problems.some((p) => p.startsWith('clusters.secondary.alias:'))).toBe(true);
    expect(problems.some((p) => p.startsWith('topics[1]:'))).toBe(true);
    expect(problems.some((p) => p.includes('surprise'))).toBe(true);
  });

  it('takes the AWS call limits of the aws section and refuses a connect timeout past the request timeout', () => {
    const config = parseDeploymentConfig({
      ...example,
      aws: { connectTimeoutMs: 1_000, requestTimeoutMs: 2_000, maxAttempts: 5 },
    });
    const problems = problemsOf(() =>
      parseDeploymentConfig({
        ...example,
        aws: { connectTimeoutMs: 4_000, requestTimeoutMs: 2_000, maxAttempts: 0, retries: 2 },
      }),
    );

    expect(config.aws).toEqual({ connectTimeoutMs: 1_000, requestTimeoutMs: 2_000, maxAttempts: 5 });
    expect(problems.some((p) => p.startsWith('aws.maxAttempts:'))).toBe(true);
    expect(problems.some((p) => p.startsWith('aws') && p.includes('retries'))).toBe(true);
    expect(
      problemsOf(() =>
        parseDeploymentConfig({ ...example, aws: { connectTimeoutMs: 4_000, requestTimeoutMs: 2_000 } }),
      ),
    ).toEqual([expect.stringMatching(/^aws\.connectTimeoutMs: .*counts the connection too/)]);
  });

  it('reports a file that is not JSON without throwing a bare SyntaxError', () => {
    const problems = problemsOf(() => loadDeploymentConfigFile('README.does-not-exist.json'));

    expect(problems[0]).toMatch(/cannot read the file \(ENOENT\)/);
  });

  it("parses the same without zod's compiled fast path, as the one parse per process does", () => {
    // The config loaders skip the fast path (nothing to gain for one parse); zod's compiled parser must
    // agree with the interpreted one on this schema, valid and invalid input alike.
    const bad = {
      ...example,
      name: 'Bad Name',
      clusters: { primary: { alias: 'x', auth: 'kerberos', expectedBrokers: 0 } },
      detection: { datapointsToAlarm: 5, evaluationPeriods: 3 },
      surprise: true,
    };
    for (const input of [example, bad]) {
      const compiled = deploymentConfigSchema.safeParse(input);
      const interpreted = deploymentConfigSchema.safeParse(input, { jitless: true });
      expect(interpreted.success).toBe(compiled.success);
      expect(interpreted.data).toEqual(compiled.data);
      expect(interpreted.error?.issues).toEqual(compiled.error?.issues);
    }
    // The loader drops the editor's $schema pointer; everything else is the schema's output.
    const { $schema: _pointer, ...parsed } = deploymentConfigSchema.parse(example);
    expect(parseDeploymentConfig(example)).toEqual(parsed);
    expect(problemsOf(() => parseDeploymentConfig(bad)).length).toBeGreaterThanOrEqual(5);
  });

  it('names the variable when the functions start without a config file', () => {
    const problems = problemsOf(() => loadDeploymentConfigFromEnv({}));

    expect(problems).toEqual([expect.stringMatching(/^MM2_FAILOVER_CONFIG_FILE: expected the path/)]);
  });

  it('reads the config file beside the bundle, resolved against LAMBDA_TASK_ROOT as the stack sets it', () => {
    const file = writeConfigFile(example);

    const config = loadDeploymentConfigFromEnv({
      LAMBDA_TASK_ROOT: dirname(file),
      MM2_FAILOVER_CONFIG_FILE: basename(file),
    });

    expect(config.clusters.secondary.alias).toBe('secondary');
  });

  it('reads an absolute path as given, as the drill sets it', () => {
    const config = loadDeploymentConfigFromEnv({ MM2_FAILOVER_CONFIG_FILE: writeConfigFile(example) });

    expect(config.name).toBe('orders-dr');
  });

  it('fails the cold start naming the file and the variable when the file is not JSON or not valid', () => {
    const notJson = writeConfigFile('x');
    writeFileSync(notJson, '{ "name": ');
    const invalid = writeConfigFile({ ...example, mode: 'hot-standby' });

    let e = thrownBy(() => loadDeploymentConfigFromEnv({ MM2_FAILOVER_CONFIG_FILE: notJson }));
    expect(e.message).toContain(`invalid deployment config ${notJson} (MM2_FAILOVER_CONFIG_FILE)`);
    expect(e.problems[0]?.message).toMatch(/^expected JSON, got text that does not parse/);

    e = thrownBy(() => loadDeploymentConfigFromEnv({ MM2_FAILOVER_CONFIG_FILE: invalid }));
    expect(e.message).toContain(`invalid deployment config ${invalid} (MM2_FAILOVER_CONFIG_FILE)`);
    expect(e.problems).toEqual([
      { path: 'mode', message: "expected one of 'active-passive', 'active-active', got 'hot-standby'" },
    ]);
  });

  it('accepts the $schema pointer of failover.config.json and leaves it out of the config', () => {
    expect(example.$schema).toBe('./failover.config.schema.json');

    for (const config of [
      loadDeploymentConfigFile('failover.config.json'),
      parseDeploymentConfig(example),
      loadDeploymentConfigFromEnv({ MM2_FAILOVER_CONFIG_FILE: writeConfigFile(example) }),
    ]) {
      expect(config).not.toHaveProperty('$schema');
    }
  });
});

describe('deployment config schema errors', () => {
  /** The example with each dotted path set to its value (`undefined` removes it), as parse problems. */
  const invalid = (changes: Record<string, unknown>): string[] => {
    const input = structuredClone(example);
    for (const [path, value] of Object.entries(changes)) {
      const keys = path.split('.');
      const last = keys.pop() as string;
      const parent = keys.reduce((o, k) => o[k] as Record<string, unknown>, input);
      if (value === undefined) delete parent[last];
      else parent[last] = value;
    }
    return problemsOf(() => parseDeploymentConfig(input));
  };

  it('names every allowed value of a string enum and what was given', () => {
    expect(
      invalid({
        replicationPolicy: 'prefix',
        'clusters.primary.auth': 'kerberos',
        'clusters.secondary.scramMechanism': 'md5',
        'failback.switchOrder': 'both',
      }),
    ).toEqual([
      "replicationPolicy: expected one of 'default', 'identity', got 'prefix'",
      "clusters.primary.auth: expected one of 'mtls', 'sasl-scram', 'sasl-plain', 'msk-iam', 'none', got 'kerberos'",
      "clusters.secondary.scramMechanism: expected one of 'scram-sha-256', 'scram-sha-512', got 'md5'",
      "failback.switchOrder: expected one of 'consumers-first', 'producers-first', got 'both'",
    ]);
  });

  it('names every allowed alarm period, not "Invalid input"', () => {
    expect(invalid({ 'detection.alarmPeriodSeconds': 15, 'detection.lagAlarmPeriodSeconds': '60' })).toEqual([
      'detection.alarmPeriodSeconds: expected one of 10, 20, 30, got 15',
      `detection.lagAlarmPeriodSeconds: expected one of 10, 20, 30, 60, got '60'`,
    ]);
  });

  it('names the mirror kinds when the kind is unknown, missing or the mirror is not an object', () => {
    expect(invalid({ mirror: { kind: 'mirrormaker-1' } })).toEqual([
      "mirror.kind: expected one of 'kafka-connect', 'aiven', 'manual', got 'mirrormaker-1'",
    ]);
    expect(invalid({ mirror: {} })).toEqual([
      "mirror.kind: expected one of 'kafka-connect', 'aiven', 'manual', got nothing",
    ]);
    expect(invalid({ mirror: 'manual' })).toEqual([
      "mirror: expected an object with kind one of 'kafka-connect', 'aiven', 'manual', got 'manual'",
    ]);
  });

  it('says "got nothing" for a required enum that is missing', () => {
    expect(invalid({ mode: undefined })).toEqual([
      "mode: expected one of 'active-passive', 'active-active', got nothing",
    ]);
  });
});

function thrownBy(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (e: unknown) {
    if (e instanceof ValidationError) return e;
    throw e;
  }
  throw new Error('expected a ValidationError');
}

describe('deployment config: event source mappings', () => {
  const sasl = {
    ...example,
    replicationPolicy: 'default',
    clusters: {
      primary: { alias: 'primary', auth: 'sasl-scram' },
      secondary: { alias: 'secondary', auth: 'sasl-scram' },
    },
  };
  const billing = { functionName: 'billing-fn', consumerGroup: 'billing', topic: 'orders' };

  it('accepts a mapping by function name or ARN and fills Lambda defaults', () => {
    const config = parseDeploymentConfig({
      ...sasl,
      eventSourceMappings: [
        billing,
        {
          functionName: 'arn:aws:lambda:eu-west-1:111122223333:function:shipping-fn',
          consumerGroup: 'shipping',
          topic: 'payments',
          startingPosition: 'LATEST',
        },
      ],
    });

    expect(config.eventSourceMappings[0]).toEqual({
      ...billing,
      batchSize: 100,
      startingPosition: 'TRIM_HORIZON',
      secrets: {},
    });
    expect(config.eventSourceMappings[1]?.startingPosition).toBe('LATEST');
    expect(parseDeploymentConfig(sasl).eventSourceMappings).toEqual([]);
  });

  it('refuses a group the switch does not translate, an unknown topic and a group used twice', () => {
    const problems = problemsOf(() =>
      parseDeploymentConfig({
        ...sasl,
        eventSourceMappings: [
          { ...billing, consumerGroup: 'audit', topic: 'refunds' },
          billing,
          { ...billing, functionName: 'other-fn' },
        ],
      }),
    );

    expect(problems).toEqual([
      "eventSourceMappings[0].consumerGroup: expected one of consumerGroups ('billing', 'shipping'), whose offsets the switch translates, got 'audit'",
      "eventSourceMappings[0].topic: expected one of topics ('orders', 'payments'), got 'refunds'",
      "eventSourceMappings[2].consumerGroup: duplicate consumer group 'billing': Lambda requires a group unique among Kafka event sources",
    ]);
  });

  it('refuses mTLS without the client certificate secret Lambda reads, naming the cluster', () => {
    const problems = problemsOf(() =>
      parseDeploymentConfig({
        ...example,
        eventSourceMappings: [
          {
            ...billing,
            secrets: {
              primary: { clientCertificate: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:p-Ab12' },
            },
          },
        ],
      }),
    );

    expect(problems).toEqual([
      expect.stringMatching(
        /^eventSourceMappings\[0\]\.secrets\.secondary\.clientCertificate: the secondary cluster uses mtls: expected the ARN/,
      ),
    ]);
  });

  it('refuses active-active and msk-iam clusters, which a self-managed Kafka mapping cannot follow', () => {
    const activeActive = problemsOf(() =>
      parseDeploymentConfig({ ...sasl, mode: 'active-active', eventSourceMappings: [billing] }),
    );
    const iam = problemsOf(() =>
      parseDeploymentConfig({
        ...sasl,
        clusters: { ...sasl.clusters, secondary: { alias: 'secondary', auth: 'msk-iam' } },
        eventSourceMappings: [billing],
      }),
    );

    expect(activeActive).toEqual([
      expect.stringMatching(/^eventSourceMappings\[0\]: active-active .*not supported$/),
    ]);
    expect(iam).toEqual([
      expect.stringMatching(/^eventSourceMappings\[0\]: the secondary cluster uses msk-iam/),
    ]);
  });

  it('refuses a secret given by name and a qualified function ARN', () => {
    const problems = problemsOf(() =>
      parseDeploymentConfig({
        ...sasl,
        eventSourceMappings: [
          {
            ...billing,
            functionName: 'arn:aws:lambda:eu-west-1:111122223333:function:billing-fn:live',
            secrets: { primary: { serverRootCaCertificate: 'primary-ca' } },
          },
        ],
      }),
    );

    expect(problems).toEqual([
      'eventSourceMappings[0].functionName: expected a Lambda function name or unqualified function ARN',
      'eventSourceMappings[0].secrets.primary.serverRootCaCertificate: expected a Secrets Manager secret ARN',
    ]);
  });
});
