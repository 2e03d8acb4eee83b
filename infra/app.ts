import { isAbsolute, join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadDeploymentConfigFile } from '#shared/config/load.ts';
import { describeError, ValidationError } from '#shared/errors.ts';
import { projectRoot } from './mm2-failover.ts';
import { Mm2FailoverStack } from './stack.ts';

/**
 * `cdk synth [-c config=<file>] [-c tracing=true]`. The config is validated before anything is built; a bad
 * file stops synth with every problem listed by path.
 */
const app = new App();
const configContext = app.node.tryGetContext('config');
const configFile =
  typeof configContext === 'string' && configContext ? configContext : 'failover.config.json';
const tracing = ['true', true].includes(app.node.tryGetContext('tracing'));

try {
  const config = loadDeploymentConfigFile(
    isAbsolute(configFile) ? configFile : join(projectRoot, configFile),
  );
  new Mm2FailoverStack(app, `mm2-failover-${config.name}`, {
    config,
    tracing,
    description: `mm2-failover ${config.name}: MirrorMaker 2 failover and failback (${config.mode})`,
  });
  // Every finding fails synth unless the stack acknowledges it with a reason (infra/nag-suppressions.ts).
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  app.synth();
} catch (e: unknown) {
  console.error(e instanceof ValidationError ? e.message : describeError(e));
  process.exit(1);
}
