#!/usr/bin/env node
/**
 * mm2-failover: the operator's commands (`mm2-failover --help` lists them, `<command> --help` explains one).
 *
 * Against AWS it invokes the deployed functions with the Lambda API (credentials and region from the usual AWS
 * environment), found by the deployment's name (`--deployment`, from the parameter its stack writes) or given one
 * by one (`--function`). With --local it runs the very same handlers in this process against the local deployment
 * that `mm2-failover local up` started and described in .cache/local-deployment.json.
 *
 * Every AWS call is bounded (connection and request timeouts, attempts): by the `aws` section of the deployment
 * config given with --config (init reads failover.config.json by default), or by the defaults.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { type DrillMode, drillModes } from '#drill/drill-mode.ts';
import { type DrillMirrorTiming, drillMirrorTimings } from '#drill/mirror-timing.ts';
import { type Scenario, scenarios } from '#drill/scenarios.ts';
import { describeError } from '#shared/errors.ts';
import { type AwsCallLimits, awsClientOptions } from '#shared/store/aws-client-options.ts';
import { helpFor } from './command-help.ts';
import type { DeploymentTargets } from './deployment-targets.ts';
import { exitCodeOf, exitCodes } from './exit-code.ts';

// Only light modules are imported here: the drill, the harness and the in-process Lambda helpers are loaded by
// the commands that need them, so invoking one deployed function does not load the local runtime.

// MM2_FAILOVER_LOCAL_FILE points --local at another deployment on the harness than `local up`'s (a test's own).
const localFile =
  process.env.MM2_FAILOVER_LOCAL_FILE ??
  path.join(import.meta.dirname, '..', '.cache', 'local-deployment.json');

/**
 * The CLI's answer goes here. With --local the handlers run in this process and log JSON lines to stdout, as
 * Lambda wants (CloudWatch reads them there); here stdout is the answer a script parses, so once a handler is
 * loaded, everything else written to stdout is sent to stderr ({@link logsToStderr}).
 */
const answerOut = process.stdout.write.bind(process.stdout);

function logsToStderr(): void {
  process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
}

/** The command whose help a usage error prints (the overview until the command line names one). */
let helpOnError: string | undefined;

/** The command line is wrong: the message and the usage text go to stderr, and the exit code is 2. */
class UsageError extends Error {
  override name = 'UsageError';
}

function fail(message: string): never {
  throw new UsageError(message);
}

async function invoke(
  fn: 'status' | 'failover' | 'failback',
  payload: unknown,
  flags: Flags,
): Promise<unknown> {
  if (flags.local) {
    if (!existsSync(localFile))
      fail(`no local deployment: start one with 'mm2-failover local up' (${localFile} is missing)`);
    const env = JSON.parse(readFileSync(localFile, 'utf8')) as { functionEnv: Record<string, string> };
    Object.assign(process.env, env.functionEnv);
    logsToStderr();
    const { lambdaContext } = await import('#harness/lambda.ts');
    const module = (await import(`#functions/${fn}/handler.ts`)) as {
      handler: (e: unknown, c: ReturnType<typeof lambdaContext>) => Promise<unknown>;
    };
    return module.handler(
      payload,
      lambdaContext(`mm2-failover-local-${fn}`, fn === 'failback' ? 900_000 : 300_000),
    );
  }
  const functionName = await deployedFunction(fn, flags);
  const lambda = new LambdaClient({
    ...(flags.region ? { region: flags.region } : {}),
    ...invokeClientOptions(flags.config ? await configuredLimits(flags.config) : {}),
  });
  const out = await lambda.send(
    new InvokeCommand({
      FunctionName: functionName,
      Payload: new TextEncoder().encode(JSON.stringify(payload)),
    }),
  );
  const text = out.Payload ? new TextDecoder().decode(out.Payload) : 'null';
  if (out.FunctionError) throw new Error(`${fn} function failed (${out.FunctionError}): ${text}`);
  return JSON.parse(text) as unknown;
}

/** `--function` as given, or the deployment's function of that kind (repair and refresh run in failover's). */
async function deployedFunction(fn: 'status' | 'failover' | 'failback', flags: Flags): Promise<string> {
  if (flags.function) return flags.function;
  if (!flags.deployment) {
    fail(
      `${fn}: give the deployment with --deployment <name>, the function with --function <name|arn>, or --local`,
    );
  }
  const name = (await targetsOf(flags)).functions[fn];
  if (!name)
    throw new Error(`deployment '${flags.deployment}' has no ${fn} function deployed (its stack says)`);
  return name;
}

let resolvedTargets: Promise<DeploymentTargets> | undefined;

/** What the stack of `--deployment` wrote about it, read once per command. */
function targetsOf(flags: Flags): Promise<DeploymentTargets> {
  const deployment = flags.deployment;
  if (!deployment) fail('give the deployment with --deployment <name>');
  resolvedTargets ??= (async () => {
    const { deploymentTargets } = await import('./deployment-targets.ts');
    const { SSMClient } = await import('@aws-sdk/client-ssm');
    const { SsmParameterStore } = await import('#shared/store/ssm-parameter-store.ts');
    const limits = flags.config ? await configuredLimits(flags.config) : {};
    const ssm = new SSMClient({
      ...(flags.region ? { region: flags.region } : {}),
      ...awsClientOptions(limits),
    });
    return deploymentTargets(deployment, new SsmParameterStore(ssm));
  })();
  return resolvedTargets;
}

interface Flags {
  local: boolean;
  /** `--deployment`: the functions, the table and the state machine come from the parameter its stack writes. */
  deployment: string | undefined;
  function: string | undefined;
  region: string | undefined;
  /** The deployment config given with --config, whose `aws` limits the CLI's clients take. */
  config: string | undefined;
}

/** Lambda's longest function timeout (15 minutes), and a minute for the answer to travel. */
const LONGEST_INVOCATION_MS = 960_000;

/**
 * The Lambda client's options for a synchronous invocation. The request is open for as long as the function runs,
 * so its timeout is Lambda's longest run, not the config's per-call timeout; and it makes one attempt: a retry
 * would invoke the function again (a second failover request, the next failback phase), which is the operator's
 * decision after reading the error, not the SDK's.
 */
function invokeClientOptions(limits: Partial<AwsCallLimits>) {
  return awsClientOptions({ ...limits, requestTimeoutMs: LONGEST_INVOCATION_MS, maxAttempts: 1 });
}

/** The `aws` limits of the deployment config file (validated: a bad file fails naming its problems). */
async function configuredLimits(file: string): Promise<AwsCallLimits> {
  const { loadDeploymentConfigFile } = await import('#shared/config/load.ts');
  return loadDeploymentConfigFile(file).aws;
}

function parseCommandLine(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        scenario: { type: 'string', default: 'kill' },
        policy: { type: 'string', default: 'identity' },
        mode: { type: 'string', default: 'active-passive' },
        'mirror-timing': { type: 'string', default: 'best' },
        json: { type: 'boolean', default: false },
        verbose: { type: 'boolean', default: false },
        local: { type: 'boolean', default: false },
        function: { type: 'string' },
        region: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        reason: { type: 'string' },
        force: { type: 'boolean', default: false },
        planned: { type: 'boolean', default: false },
        unplanned: { type: 'boolean', default: false },
        phase: { type: 'string' },
        confirm: { type: 'boolean', default: false },
        fix: { type: 'boolean', default: false },
        apply: { type: 'boolean', default: false },
        'requested-by': { type: 'string', default: process.env.USER ?? 'operator' },
        table: { type: 'string' },
        config: { type: 'string' },
        'state-machine': { type: 'string' },
        wait: { type: 'boolean', default: false },
        deployment: { type: 'string' },
        'mirror-confirmed': { type: 'string' },
        abandon: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (e: unknown) {
    // parseArgs throws a TypeError with an ERR_PARSE_ARGS_* code for an unknown flag or a missing value.
    if ((e as { code?: unknown }).code?.toString().startsWith('ERR_PARSE_ARGS')) fail((e as Error).message);
    throw e;
  }
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'client-config') {
    const { clientConfig } = await import('./client-config.ts');
    return clientConfig(argv.slice(1), {
      localFile,
      stdout: (t) => process.stdout.write(t),
      stderr: (t) => process.stderr.write(t),
    });
  }
  const { values, positionals } = parseCommandLine(argv);
  const [command, sub] = positionals;
  helpOnError = command;
  if (values.help) {
    answerOut(`${helpFor(command)}\n`);
    return exitCodes.done;
  }
  if (!command) fail('give a command');
  const flags: Flags = {
    local: values.local,
    deployment: values.deployment,
    function: values.function,
    region: values.region,
    config: values.config,
  };
  const chosen = [
    flags.local && '--local',
    flags.deployment && '--deployment',
    flags.function && '--function',
  ];
  if (chosen.filter(Boolean).length > 1) {
    fail(
      `${command}: give one of --deployment, --function and --local, got ${chosen.filter(Boolean).join(' and ')}`,
    );
  }
  const print = (v: unknown) => answerOut(`${JSON.stringify(v, null, 2)}\n`);

  switch (command) {
    case 'drill':
      return drill(
        values.scenario,
        { mode: values.mode, policy: values.policy, mirrorTiming: values['mirror-timing'] },
        values.json,
        values.verbose,
      );
    case 'status': {
      const answer = await invoke('status', {}, flags);
      const summary = values.json ? undefined : (await import('./status-summary.ts')).statusSummary(answer);
      if (summary === undefined) print(answer);
      else answerOut(`${summary}\n`);
      return exitCodeOf(answer);
    }
    case 'failover': {
      if (!values['dry-run'] && !values.reason) fail('failover: give --reason "..." (or --dry-run)');
      if (values.planned && values.unplanned) fail('failover: give --planned or --unplanned, not both');
      const answer = await invoke(
        'failover',
        {
          action: 'failover',
          reason: values.reason ?? 'dry run from the CLI',
          requestedBy: values['requested-by'],
          dryRun: values['dry-run'],
          force: values.force,
          // Neither: planned when the primary is up and not forced (the function decides).
          ...(values.planned ? { planned: true } : values.unplanned ? { planned: false } : {}),
        },
        flags,
      );
      print(answer);
      return exitCodeOf(answer);
    }
    case 'failback':
      return failback(sub, values, flags, print);
    case 'repair':
    case 'refresh-credentials': {
      const request = maintenanceRequest(command, values);
      // The failover function runs both: say so, rather than invoke()'s message about a failover.
      if (!flags.local && !flags.function && !flags.deployment)
        fail(
          `${command}: give the deployment with --deployment <name>, the deployed failover function with --function <name|arn>, or --local`,
        );
      const answer = await invoke('failover', request, flags);
      print(answer);
      return maintenanceExitCode(answer);
    }
    case 'init':
      return init(values, print);
    case 'audit': {
      const { auditCommand } = await import('./audit.ts');
      return auditCommand(
        {
          local: values.local,
          config: values.config ?? 'failover.config.json',
          region: values.region,
          json: values.json,
          fix: values.fix,
          apply: values.apply,
        },
        { localFile, out: (text) => process.stdout.write(`${text}\n`), usage: fail },
      );
    }
    case 'local': {
      if (sub !== 'up') fail(`local: expected 'up', got '${sub ?? ''}'`);
      return localUp();
    }
    default:
      fail(`unknown command '${command}'`);
  }
}

/**
 * The first activation (primary, epoch 0), written with the operator's own AWS credentials: the stack never writes
 * the active configuration, so that a stack update cannot roll a switch back. The stack creates the active
 * credentials secret empty; init fills it.
 */
async function init(values: Values, print: Print): Promise<number> {
  const { loadDeploymentConfigFile } = await import('#shared/config/load.ts');
  const { createAwsStores } = await import('#shared/store/aws-stores.ts');
  const { initialiseActiveConfig } = await import('#shared/failover/initialise-active.ts');
  const { deploymentPaths } = await import('#shared/config/paths.ts');
  const { deploymentTargets } = await import('./deployment-targets.ts');
  const config = loadDeploymentConfigFile(values.config ?? 'failover.config.json');
  const region = values.region ? { region: values.region } : {};
  const stores = createAwsStores({ ...region, ...config.aws });
  // The stack's table (given, or from the parameter the stack writes): epoch 0 is claimed from the epoch
  // authority under the lock. A deployment whose stack wrote no such parameter is activated unclaimed, as before.
  const table =
    values.table ??
    (await deploymentTargets(config.name, stores.parameters).then(
      (t) => t.table,
      (e: unknown) => {
        if ((e as { name?: unknown }).name === 'MissingConfigurationError') return undefined;
        throw e;
      },
    ));
  const fencing = table ? await fencingFor(table, config, region) : undefined;
  const result = await initialiseActiveConfig(
    { requestedBy: values['requested-by'], reason: 'first activation after deployment' },
    { config, stores, paths: deploymentPaths(config.name), ...(fencing ? { fencing } : {}) },
  );
  print(
    result.status === 'initialised'
      ? { status: 'initialised', cluster: result.config.cluster, epoch: result.config.epoch }
      : result,
  );
  return exitCodes.done;
}

/** `failback`: one invocation by hand, a driven failback (started, followed), its progress, or the approval. */
async function failback(
  sub: string | undefined,
  values: Values,
  flags: Flags,
  print: Print,
): Promise<number> {
  if (sub === 'approve') return approvePurge(values, flags, print);
  if (sub === 'progress') return failbackProgress(values, flags, print);
  if (sub !== undefined) fail(`failback: expected 'approve', 'progress' or no subcommand, got '${sub}'`);
  if (!values.reason) fail('failback: give --reason "..."');
  const mirrorConfirmed = await mirrorStep(values['mirror-confirmed']);
  const drive = { requestedBy: values['requested-by'], reason: values.reason };
  const driven = values.wait || values['state-machine'] !== undefined;
  if (driven && (values.phase || values.confirm || mirrorConfirmed || values.abandon)) {
    fail(
      'failback --wait/--state-machine: the driver runs every phase; --phase, --confirm, --mirror-confirmed and --abandon are for one invocation (--deployment, --function or --local without --wait)',
    );
  }
  if (values.abandon && values.phase)
    fail('failback --abandon ends the failback in progress: it takes no --phase');
  if (values.wait && flags.local) {
    const answer = await driveLocalFailback(drive, flags);
    print(answer);
    return exitCodeOf(answer);
  }
  if (driven) {
    if (flags.function)
      fail(
        'failback --wait: give the state machine with --deployment <name> or --state-machine <arn>, not --function',
      );
    const stateMachineArn = await stateMachineOf(values, flags, 'failback --wait');
    if (!values.wait) {
      print(await startDrivenFailback(stateMachineArn, drive, flags));
      return exitCodes.done;
    }
    const approvals = await approvalsOf(values, flags, 'failback --wait');
    const started = await startDrivenFailback(stateMachineArn, drive, flags);
    process.stderr.write(`failback started: ${started.executionArn}\n`);
    return followExecution(started.executionArn, approvals, flags, print);
  }
  const answer = await invoke(
    'failback',
    {
      action: 'failback',
      reason: values.reason,
      requestedBy: values['requested-by'],
      ...(values.phase ? { phase: values.phase } : {}),
      ...(values.confirm ? { confirm: true } : {}),
      ...(mirrorConfirmed ? { mirrorConfirmed } : {}),
      ...(values.abandon ? { abandon: true } : {}),
    },
    flags,
  );
  print(answer);
  return exitCodeOf(answer);
}

/** `--mirror-confirmed`: one of the manual mirror controller's steps, checked here so a typo is a usage error. */
async function mirrorStep(given: string | undefined): Promise<string | undefined> {
  if (given === undefined) return undefined;
  const { mirrorSteps } = await import('#shared/failback/payload.ts');
  if (!(mirrorSteps as readonly string[]).includes(given)) {
    fail(`--mirror-confirmed: expected one of ${mirrorSteps.join(', ')}, got '${given}'`);
  }
  return given;
}

/** The failback state machine: `--state-machine`, or the one the stack of `--deployment` wrote down. */
async function stateMachineOf(values: Values, flags: Flags, what: string): Promise<string> {
  if (values['state-machine']) return values['state-machine'];
  if (!flags.deployment) fail(`${what}: give --deployment <name> or --state-machine <arn>`);
  const arn = (await targetsOf(flags)).failbackStateMachineArn;
  if (!arn)
    throw new Error(`deployment '${flags.deployment}' has no failback state machine (its stack says)`);
  return arn;
}

/** Where the purge approval of the deployment waits: the table and the name, from --deployment or given. */
async function approvalsOf(
  values: Values,
  flags: Flags,
  what: string,
): Promise<{ table: string; deployment: string }> {
  if (flags.deployment) return { table: (await targetsOf(flags)).table, deployment: flags.deployment };
  if (!values.table) {
    fail(
      `${what}: give --deployment <name>, or --table <TableName output of the stack> (with --config for the deployment's name)`,
    );
  }
  const { loadDeploymentConfigFile } = await import('#shared/config/load.ts');
  return {
    table: values.table,
    deployment: loadDeploymentConfigFile(values.config ?? 'failover.config.json').name,
  };
}

/** Run a drill scenario on local processes and print its table (and, with --json, the summary). */
async function drill(
  scenario: string,
  { mode, policy, mirrorTiming }: { mode: string; policy: string; mirrorTiming: string },
  json: boolean,
  verbose: boolean,
): Promise<number> {
  if (!(scenarios as readonly string[]).includes(scenario)) {
    fail(`--scenario: expected one of ${scenarios.join(', ')}, got '${scenario}'`);
  }
  if (policy !== 'identity' && policy !== 'default') {
    fail(`--policy: expected one of identity, default, got '${policy}'`);
  }
  if (!(drillModes as readonly string[]).includes(mode)) {
    fail(`--mode: expected one of ${drillModes.join(', ')}, got '${mode}'`);
  }
  if (!(drillMirrorTimings as readonly string[]).includes(mirrorTiming)) {
    fail(`--mirror-timing: expected one of ${drillMirrorTimings.join(', ')}, got '${mirrorTiming}'`);
  }
  const { runDrill } = await import('#drill/drill.ts');
  const { figuresTable } = await import('#drill/figures-table.ts');
  const summary = await runDrill({
    scenario: scenario as Scenario,
    mode: mode as DrillMode,
    policy,
    mirrorTiming: mirrorTiming as DrillMirrorTiming,
    verbose,
  });
  process.stderr.write(
    `\ndrill ${summary.scenario} (${summary.mode}, ${summary.policy} policy, MM2 ${summary.mirrorTiming} timing): ${summary.ok ? 'OK' : 'FAILED'}\n`,
  );
  for (const line of figuresTable(summary)) process.stderr.write(`  ${line}\n`);
  if (json) {
    const {
      checks: _c,
      targets: _t,
      epochs: _e,
      alarmsFired: _a,
      reportFile: _r,
      logFile: _l,
      ...summaryJson
    } = summary;
    process.stdout.write(`${JSON.stringify(summaryJson)}\n`);
  }
  return summary.ok ? exitCodes.done : exitCodes.refusedOrFailed;
}

/** The deployment's lock and epoch authority in `table`, for a write of the active configuration from here. */
async function fencingFor(
  table: string,
  config: import('#shared/config/schema.ts').DeploymentConfig,
  region: { region?: string },
) {
  const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
  const { SecretsManagerClient } = await import('@aws-sdk/client-secrets-manager');
  const { awsClientOptions } = await import('#shared/store/aws-client-options.ts');
  const { SecretsManagerStore } = await import('#shared/store/secrets-manager-store.ts');
  const { dynamoFencing } = await import('#shared/switch/dynamo-epoch-authority.ts');
  const options = { ...region, ...awsClientOptions(config.aws) };
  return dynamoFencing(new DynamoDBClient(options), {
    table,
    deployment: config.name,
    versions: new SecretsManagerStore(new SecretsManagerClient(options)),
  });
}

type Values = ReturnType<typeof parseCommandLine>['values'];
type Print = (v: unknown) => void;

/**
 * The failover function's maintenance request. `--force` belongs to refresh-credentials only (republish although no
 * secret version moved); repair has nothing to force, so the flag there is a usage error rather than ignored.
 */
function maintenanceRequest(command: 'repair' | 'refresh-credentials', values: Values) {
  if (!values.reason)
    fail(`${command}: give --reason "..." (it goes into the lock and the log with the write)`);
  if (command === 'repair' && values.force)
    fail("repair: --force is for refresh-credentials; repair always rolls forward to the authority's epoch");
  return {
    action: command,
    reason: values.reason,
    requestedBy: values['requested-by'],
    ...(values.force ? { force: true } : {}),
  };
}

/**
 * A repair that found nothing claimed left the stores as they were (no epoch to restore): the command did not do
 * what was asked, so a script that repairs and then relies on a consistent configuration stops there.
 */
function maintenanceExitCode(answer: unknown): 0 | 1 {
  const status =
    typeof answer === 'object' && answer !== null ? (answer as { status?: unknown }).status : undefined;
  return status === 'nothing-claimed' ? exitCodes.refusedOrFailed : exitCodeOf(answer);
}

/** Start the failback state machine once: it invokes the function phase after phase until failback completes. */
async function startDrivenFailback(
  stateMachineArn: string,
  input: { requestedBy: string; reason: string },
  flags: Flags,
): Promise<{ status: 'started'; executionArn: string; nextStep: string }> {
  const { SFNClient, StartExecutionCommand } = await import('@aws-sdk/client-sfn');
  const sfn = new SFNClient(flags.region ? { region: flags.region } : {});
  const out = await sfn.send(new StartExecutionCommand({ stateMachineArn, input: JSON.stringify(input) }));
  if (!out.executionArn) throw new Error(`Step Functions started ${stateMachineArn} but named no execution`);
  return {
    status: 'started',
    executionArn: out.executionArn,
    nextStep: `follow it with 'mm2-failover failback progress --wait --state-machine ${stateMachineArn}'; it stops once, for 'mm2-failover failback approve' before the purge`,
  };
}

/** How often `--wait` looks at the execution: a failback phase takes minutes, a person reads the lines. */
const FOLLOW_POLL_MS = 10_000;

/** Follow a driven failback until it ends or waits for the approval; the exit code says which. */
async function followExecution(
  executionArn: string,
  approvalsAt: { table: string; deployment: string },
  flags: Flags,
  print: Print,
): Promise<number> {
  const { SFNClient } = await import('@aws-sdk/client-sfn');
  const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
  const { PurgeApprovals } = await import('#shared/failback-driver/purge-approvals.ts');
  const { followFailback, readExecution } = await import('./failback-execution.ts');
  const region = flags.region ? { region: flags.region } : {};
  const sfn = new SFNClient(region);
  const approvals = new PurgeApprovals(new DynamoDBClient(region), approvalsAt);
  const pollMs = Number(process.env.MM2_FAILOVER_FOLLOW_POLL_MS ?? FOLLOW_POLL_MS);
  const followed = await followFailback(
    executionArn,
    {
      read: (arn) => readExecution(sfn, arn),
      pendingApproval: () => approvals.pending(),
      sleep: (ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
      say: (line) => process.stderr.write(`${line}\n`),
    },
    { pollMs: Number.isFinite(pollMs) && pollMs > 0 ? pollMs : FOLLOW_POLL_MS },
  );
  switch (followed.outcome) {
    case 'succeeded':
      print({ status: 'completed', execution: followed.execution });
      return exitCodes.done;
    case 'waiting-for-approval':
      print({
        status: 'waiting-for-approval',
        execution: followed.execution,
        asked: followed.asked,
        nextStep:
          "approve the purge with 'mm2-failover failback approve --reason \"...\"' (same --deployment or --table), then follow the rest with 'mm2-failover failback progress --wait'",
      });
      return exitCodes.waitingForApproval;
    case 'failed':
      print({ status: 'failed', execution: followed.execution });
      return exitCodes.refusedOrFailed;
  }
}

/**
 * The latest execution of the failback state machine: its status, the state it is in, the function's last answer;
 * with --wait, followed like `failback --wait` follows the one it starts.
 */
async function failbackProgress(values: Values, flags: Flags, print: Print): Promise<number> {
  const stateMachineArn = await stateMachineOf(values, flags, 'failback progress');
  const approvalsAt = values.wait ? await approvalsOf(values, flags, 'failback progress --wait') : undefined;
  const sfn = await import('@aws-sdk/client-sfn');
  const { readExecution } = await import('./failback-execution.ts');
  const client = new sfn.SFNClient(flags.region ? { region: flags.region } : {});
  const list = await client.send(new sfn.ListExecutionsCommand({ stateMachineArn, maxResults: 1 }));
  const latest = list.executions?.[0];
  if (!latest?.executionArn) {
    print({ status: 'none', nextStep: 'no failback has been started on this state machine' });
    return exitCodes.done;
  }
  if (approvalsAt) return followExecution(latest.executionArn, approvalsAt, flags, print);
  const execution = await readExecution(client, latest.executionArn);
  print(execution);
  return execution.status === 'FAILED' || execution.status === 'TIMED_OUT' || execution.status === 'ABORTED'
    ? exitCodes.refusedOrFailed
    : exitCodes.done;
}

/**
 * Approve the purge a driven failback waits for: read the task token the state machine left in the table (or
 * the in-process driver, with --local) and answer it in the operator's name. The token is never printed.
 */
async function approvePurge(values: Values, flags: Flags, print: Print): Promise<number> {
  if (!values.reason) fail('failback approve: give --reason "..." (it goes into the journal with the purge)');
  const approval = { approvedBy: values['requested-by'], reason: values.reason };
  const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
  const { PurgeApprovals } = await import('#shared/failback-driver/purge-approvals.ts');
  const { table, deployment } = flags.local
    ? loadLocalDeployment()
    : await approvalsOf(values, flags, 'failback approve');
  const approvals = new PurgeApprovals(new DynamoDBClient(flags.region ? { region: flags.region } : {}), {
    table,
    deployment,
  });
  const pending = await approvals.pending();
  if (!pending) {
    print({
      status: 'refused',
      reasons: [
        { code: 'nothing-to-approve', message: `no failback of '${deployment}' waits for a purge approval` },
      ],
    });
    return exitCodes.refusedOrFailed;
  }
  if (flags.local) {
    if (!(await approvals.approveInPlace(pending.taskToken, approval))) {
      throw new Error('the purge approval was answered or withdrawn meanwhile; nothing was approved');
    }
  } else {
    const { SFNClient, SendTaskSuccessCommand } = await import('@aws-sdk/client-sfn');
    const sfn = new SFNClient(flags.region ? { region: flags.region } : {});
    await sfn.send(
      new SendTaskSuccessCommand({ taskToken: pending.taskToken, output: JSON.stringify(approval) }),
    );
    await approvals.remove(pending.taskToken);
  }
  print({
    status: 'approved',
    executionArn: pending.executionArn,
    requestedAt: pending.requestedAt,
    approvedBy: approval.approvedBy,
    asked: JSON.parse(pending.answer) as unknown,
  });
  return exitCodes.done;
}

/** `failback --local --wait`: the state machine's loop in this process, against the deployment of `local up`. */
async function driveLocalFailback(
  input: { requestedBy: string; reason: string },
  flags: Flags,
): Promise<unknown> {
  const local = loadLocalDeployment();
  const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
  const { PurgeApprovals } = await import('#shared/failback-driver/purge-approvals.ts');
  const { driveFailback } = await import('#shared/failback-driver/drive-failback.ts');
  const approvals = new PurgeApprovals(new DynamoDBClient({}), local);
  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
  const say = (line: string) => process.stderr.write(`${line}\n`);
  return driveFailback(
    input,
    {
      invoke: async (request) => (await invoke('failback', request, flags)) as { status: string },
      awaitPurgeApproval: (answer) => {
        say(
          `failback waits for the purge approval: ${(answer as { nextStep?: string }).nextStep ?? ''}\n` +
            "  approve it with: node bin/mm2-failover.ts failback approve --local --reason '...'",
        );
        return approvals.waitInPlace(answer, { pollMs: 2_000, sleep, now: Date.now });
      },
      sleep,
      now: Date.now,
      onAnswer: (answer) =>
        say(
          `failback: ${answer.status}${answer.currentPhase ? ` at ${answer.currentPhase}` : ''} (done: ${
            (answer.completedPhases ?? []).join(', ') || 'none'
          })`,
        ),
    },
    { pauseMs: 5_000 },
  );
}

/** The deployment `local up` described, with its environment applied to this process (moto's endpoint). */
function loadLocalDeployment(): { table: string; deployment: string } {
  if (!existsSync(localFile))
    fail(`no local deployment: start one with 'mm2-failover local up' (${localFile} is missing)`);
  const { functionEnv, deployment } = JSON.parse(readFileSync(localFile, 'utf8')) as {
    functionEnv: Record<string, string>;
    deployment: string;
  };
  Object.assign(process.env, functionEnv);
  const table = functionEnv.MM2_FAILOVER_TABLE;
  if (!table || !deployment) throw new Error(`${localFile} names no table or deployment: restart 'local up'`);
  return { table, deployment };
}

/** Start the harness, provision the drill's deployment into moto, and serve until Ctrl-C. */
async function localUp(): Promise<number> {
  const { startHarness } = await import('#harness/harness.ts');
  const { drillConfig } = await import('#drill/drill.ts');
  const { provisionDeployment } = await import('#drill/provision.ts');
  const harness = await startHarness({ policy: 'identity', log: (l) => process.stderr.write(`${l}\n`) });
  const config = drillConfig(harness.info);
  const provisioned = await provisionDeployment(config, harness.info);
  const { describeLocalDeployment } = await import('./local-deployment.ts');
  await describeLocalDeployment(
    localFile,
    { deployment: config.name, functionEnv: provisioned.functionEnv, harness: harness.info },
    provisioned.stores.parameters,
  );
  process.stderr.write(
    `local deployment '${config.name}' is up (primary active, epoch 0); try:\n` +
      '  node bin/mm2-failover.ts status --local\n' +
      '  node bin/mm2-failover.ts failover --local --dry-run\n' +
      "  node bin/mm2-failover.ts failback --local --wait --reason '...'   (then failback approve --local)\n" +
      'Ctrl-C stops everything.\n',
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  rmSync(localFile, { force: true });
  await harness.stop();
  return exitCodes.done;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof UsageError) {
      process.stderr.write(`mm2-failover: ${e.message}\n\n${helpFor(helpOnError)}\n`);
      process.exit(exitCodes.usage);
    }
    process.stderr.write(`mm2-failover: ${describeError(e)}\n`);
    process.exit(exitCodes.refusedOrFailed);
  },
);
