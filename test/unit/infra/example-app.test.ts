import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { OrdersPlatformStack } from '#examples/cdk-app/orders-platform-stack.ts';
import { projectRoot } from '#infra/mm2-failover.ts';
import { synthTimeoutMs } from './synthesize.ts';

// Synthesizing a stack takes seconds on two busy cores.
vi.setConfig({ testTimeout: synthTimeoutMs, hookTimeout: synthTimeoutMs });

type Resource = { Properties: Record<string, unknown> };

describe('the example CDK app (examples/cdk-app)', () => {
  const work = mkdtempSync(join(tmpdir(), 'mm2-failover-example-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('grants the service role only the active parameters and secret, and deploys the functions on nodejs24.x', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new OrdersPlatformStack(app, 'OrdersPlatform');
    const template = Template.fromStack(stack);

    const policies = Object.entries(template.findResources('AWS::IAM::Policy') as Record<string, Resource>);
    const servicePolicy = policies.find(([id]) => id.startsWith('OrdersServiceRoleDefaultPolicy'));
    if (!servicePolicy) throw new Error('the service role has no policy');
    const statements = (servicePolicy[1].Properties.PolicyDocument as { Statement: { Action: unknown }[] })
      .Statement;
    expect(statements.map((s) => s.Action)).toEqual(['ssm:GetParameter', 'secretsmanager:GetSecretValue']);
    const functions = Object.values(
      template.findResources('AWS::Lambda::Function') as Record<string, Resource>,
    );
    expect(functions.length).toBeGreaterThanOrEqual(2);
    for (const f of functions) expect(f.Properties.Runtime).toBe('nodejs24.x');
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 2);
    template.hasOutput('FailbackStateMachineArn', {});
  });

  it('synthesizes as a plain Node program, without cdk.json or the CDK CLI', () => {
    const outdir = join(work, 'cdk.out');
    const run = spawnSync(process.execPath, [join('examples', 'cdk-app', 'main.ts')], {
      cwd: projectRoot,
      encoding: 'utf8',
      // What the CDK CLI would pass: where to write, and (to keep the test fast) no bundling.
      env: {
        PATH: process.env.PATH,
        CDK_OUTDIR: outdir,
        CDK_CONTEXT_JSON: JSON.stringify({ 'aws:cdk:bundling-stacks': [] }),
      },
    });

    expect(run.status, run.stderr).toBe(0);
    expect(existsSync(join(outdir, 'manifest.json'))).toBe(true);
    const template = JSON.parse(readFileSync(join(outdir, 'OrdersPlatform.template.json'), 'utf8')) as {
      Resources: Record<string, { Type: string }>;
    };
    expect(Object.values(template.Resources).map((r) => r.Type)).toContain(
      'AWS::StepFunctions::StateMachine',
    );
  });
});
