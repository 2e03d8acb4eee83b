import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { type FunctionName, functionNames } from '#infra/function-catalog.ts';
import { type Mm2Failover, projectRoot } from '#infra/mm2-failover.ts';
import { Mm2FailoverStack } from '#infra/stack.ts';
import { parseDeploymentConfig } from '#shared/config/load.ts';
import type { DeploymentConfig, DeploymentConfigInput } from '#shared/config/schema.ts';

/** Synthesis bundles with esbuild: several seconds per stack on two busy cores. */
export const synthTimeoutMs = 180_000;

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

/** Stand-in handlers for all four functions, so the tests see every function whichever exist in functions/. */
export const fixtureEntries: Record<FunctionName, string> = Object.fromEntries(
  functionNames.map((n) => [n, join(fixtures, n, 'handler.ts')]),
) as Record<FunctionName, string>;

/** The documented example config, as written in the repository. */
export function exampleConfigInput(): DeploymentConfigInput {
  return JSON.parse(readFileSync(join(projectRoot, 'failover.config.json'), 'utf8')) as DeploymentConfigInput;
}

export function exampleConfig(change: (c: DeploymentConfigInput) => void = () => {}): DeploymentConfig {
  const input = exampleConfigInput();
  change(input);
  return parseDeploymentConfig(input);
}

export interface Synthesized {
  app: App;
  stack: Mm2FailoverStack;
  /** The stack's Mm2Failover construct. */
  deployment: Mm2Failover;
  template: Template;
}

export function synthesize(
  options: {
    config?: DeploymentConfig;
    entries?: Partial<Record<FunctionName, string>>;
    /** false skips esbuild (asset contents do not matter to the assertion). */
    bundle?: boolean;
    outdir?: string;
    tracing?: boolean;
    /** Runs on the constructed deployment before it is synthesized (synthesis happens once per app). */
    before?: (deployment: Mm2Failover) => void;
  } = {},
): Synthesized {
  const app = new App({
    ...(options.outdir ? { outdir: options.outdir } : {}),
    context: options.bundle === false ? { 'aws:cdk:bundling-stacks': [] } : {},
  });
  const stack = new Mm2FailoverStack(app, 'TestStack', {
    config: options.config ?? exampleConfig(),
    entries: options.entries ?? fixtureEntries,
    tracing: options.tracing ?? false,
  });
  options.before?.(stack.deployment);
  return { app, stack, deployment: stack.deployment, template: Template.fromStack(stack) };
}

/** cdk-nag's AwsSolutions findings that the stack did not acknowledge, one line each. */
export function unacknowledgedNagFindings(stack: IConstruct): string[] {
  const report = new AwsSolutionsChecks(undefined, { verbose: false }).validateScope(stack);
  return report.violations.flatMap((v) =>
    v.violatingResources.map(
      (r) => `${v.ruleName} ${(r as { constructPath?: string }).constructPath ?? r.resourceLogicalId}`,
    ),
  );
}
