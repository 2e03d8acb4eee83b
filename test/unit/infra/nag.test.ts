import { Stack, Validations } from 'aws-cdk-lib';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { IConstruct } from 'constructs';
import { describe, expect, it, vi } from 'vitest';
import type { DeploymentConfigInput } from '#shared/config/schema.ts';
import { exampleConfig, synthesize, synthTimeoutMs, unacknowledgedNagFindings } from './synthesize.ts';

// Synthesizing a stack takes seconds on two busy cores.
vi.setConfig({ testTimeout: synthTimeoutMs, hookTimeout: synthTimeoutMs });

/** Every acknowledgment in the tree: where, which rule, and the reason given. */
function acknowledgments(root: IConstruct): { path: string; id: string; reason: string }[] {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) =>
        Object.entries(m.data as Record<string, unknown>).map(([id, reason]) => ({
          path: c.node.path,
          // CDK stores rules of plugins it does not know as annotation acknowledgments.
          id: id.replace(/^Annotation::/, ''),
          reason: typeof reason === 'string' ? reason : JSON.stringify(reason),
        })),
      ),
  );
}

const variants: [string, (c: DeploymentConfigInput) => void, { tracing?: boolean }][] = [
  ['the example config', () => {}, {}],
  [
    'no VPC, X-Ray tracing and two extra regions',
    (c) => {
      delete c.vpc;
      c.regions = ['eu-central-1', 'us-east-1'];
    },
    { tracing: true },
  ],
  [
    'MSK IAM clusters, an ARN-referenced secret and the Aiven mirror',
    (c) => {
      c.clusters.primary = {
        ...c.clusters.primary,
        auth: 'msk-iam',
        mskClusterArn:
          'arn:aws:kafka:eu-west-1:123456789012:cluster/orders-a/11111111-2222-3333-4444-555555555555-1',
      };
      c.clusters.secondary = {
        ...c.clusters.secondary,
        auth: 'msk-iam',
        mskClusterArn:
          'arn:aws:kafka:eu-west-1:123456789012:cluster/orders-b/66666666-7777-8888-9999-000000000000-2',
        secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:kafka/orders-b-AbCdEf',
      };
      c.mirror = { kind: 'aiven', project: 'acme', service: 'mm2', tokenSecret: 'aiven/api-token' };
    },
    {},
  ],
  [
    'active-active with the default policy',
    (c) => {
      c.mode = 'active-active';
      c.replicationPolicy = 'default';
    },
    {},
  ],
];

describe('cdk-nag AwsSolutions', () => {
  it.each(variants)(
    'finds nothing unacknowledged with %s',
    (_name, change, options) => {
      const { stack } = synthesize({ config: exampleConfig(change), bundle: false, ...options });
      expect(unacknowledgedNagFindings(stack)).toEqual([]);
    },
    synthTimeoutMs,
  );

  it(
    'finds what is not acknowledged, so the check above can fail',
    () => {
      const { stack } = synthesize({
        bundle: false,
        before: (deployment) => {
          // A topic that accepts publishing without TLS: AwsSolutions-SNS3.
          new Topic(Stack.of(deployment), 'Plain');
        },
      });
      expect(unacknowledgedNagFindings(stack)).toEqual(
        expect.arrayContaining([expect.stringMatching(/^AwsSolutions-SNS3 TestStack\/Plain\//)]),
      );
    },
    synthTimeoutMs,
  );

  it(
    'gives every acknowledgment a reason a reviewer can weigh',
    () => {
      const { stack } = synthesize({ config: exampleConfig(), bundle: false, tracing: true });
      const acks = acknowledgments(stack);
      expect(acks.map((a) => a.id)).toEqual(
        expect.arrayContaining([
          'AwsSolutions-SMG4',
          'AwsSolutions-IAM5[Resource::*]',
          'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
        ]),
      );
      for (const a of acks) {
        expect(a.reason.length, `${a.path} ${a.id}`).toBeGreaterThan(40);
      }
    },
    synthTimeoutMs,
  );
});
