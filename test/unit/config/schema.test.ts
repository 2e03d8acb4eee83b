import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  loadDeploymentConfigFile,
  loadDeploymentConfigFromEnv,
  parseDeploymentConfig,
} from '#shared/config/load.ts';
import { deploymentConfigSchema } from '#shared/config/schema.ts';
import { ValidationError } from '#shared/errors.ts';

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
    expect(parseDeploymentConfig(example)).toEqual(deploymentConfigSchema.parse(example));
    expect(problemsOf(() => parseDeploymentConfig(bad)).length).toBeGreaterThanOrEqual(5);
  });

  it('names the environment variable when the functions start without a config', () => {
    const problems = problemsOf(() => loadDeploymentConfigFromEnv({}));

    expect(problems[0]).toMatch(/^MM2_FAILOVER_CONFIG:/);
  });

  it('reads the config the stack passes in MM2_FAILOVER_CONFIG', () => {
    const config = loadDeploymentConfigFromEnv({ MM2_FAILOVER_CONFIG: JSON.stringify(example) });

    expect(config.clusters.secondary.alias).toBe('secondary');
  });
});
