#!/usr/bin/env node
/**
 * mm2-failover: the operator's commands.
 *
 *   mm2-failover drill [--scenario kill|hang|mm2-down|secondary-down|flapping|aws-degraded|broker-down] [--mode active-passive|active-active] [--json]
 *   mm2-failover status    --function <name|arn> [--region r]          (the deployed status function)
 *   mm2-failover failover  --function <name|arn> (--dry-run | --reason "...") [--force] [--requested-by who]
 *   mm2-failover failback  --function <name|arn> --reason "..." [--phase p] [--confirm] [--requested-by who]
 *   mm2-failover failback  --state-machine <arn> --reason "..."         (failback driven to the end by Step Functions)
 *   mm2-failover failback  progress --state-machine <arn>               (where the latest driven failback is)
 *   mm2-failover failback  approve --table <name> --reason "..." [--config f]  (the purge the state machine waits for)
 *   mm2-failover failback  --local --wait --reason "..."                (the same loop, in-process; approve --local)
 *   mm2-failover repair    --function <name|arn> --reason "..." [--requested-by who]   (torn active config)
 *   mm2-failover refresh-credentials --function <name|arn> --reason "..." [--force]   (after a secret rotation)
 *   mm2-failover init      [--config failover.config.json] [--region r]  (first activation after cdk deploy)
 *   mm2-failover audit     [--config f] [--region r] | --local [--json] [--fix [--apply]]  (standby readiness)
 *   mm2-failover local up                                              (harness + deployment, foreground)
 *   mm2-failover client-config (--deployment <name> | --local) [--format properties|librdkafka|json] [--out-dir d]
 *   mm2-failover status|failover|failback|repair|refresh-credentials --local ...                   (the same handlers, against `local up`)
 *
 * Every AWS call is bounded (connection and request timeouts, attempts): by the `aws` section of the deployment
 * config given with --config (init reads failover.config.json by default), or by the defaults.
 *
 * Against AWS it invokes the deployed functions with the Lambda API (credentials and region from the usual AWS
 * environment). With --local it runs the very same handlers in this process against the local deployment that
 * `mm2-failover local up` started and described in .cache/local-deployment.json.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { type DrillMode, drillModes } from '#drill/drill-mode.ts';
import { type Scenario, scenarios } from '#drill/scenarios.ts';
import { describeError } from '#shared/errors.ts';
import { type AwsCallLimits, awsClientOptions } from '#shared/store/aws-client-options.ts';
import { exitCodeOf, exitCodes } from './exit-code.ts';

// Only light modules are imported here: the drill, the harness and the in-process Lambda helpers are loaded by
// the commands that need them, so invoking one deployed function does not load the local runtime.

const usage = `usage:
  mm2-failover drill [--scenario ${scenarios.join('|')}] [--mode ${drillModes.join('|')}] [--json]
  mm2-failover status   (--function <name|arn> [--region r] | --local)
  mm2-failover failover (--function <name|arn> | --local) (--dry-run | --reason "...") [--force] [--requested-by who]
  mm2-failover failback (--function <name|arn> | --local) --reason "..." [--phase p] [--confirm] [--requested-by who]
  mm2-failover repair   (--function <name|arn> | --local) --reason "..." [--requested-by who]
  mm2-failover refresh-credentials (--function <name|arn> | --local) --reason "..." [--force] [--requested-by who]
  mm2-failover init     [--config failover.config.json] [--region r] [--table <the stack's table>]
  mm2-failover audit    ([--config failover.config.json] [--region r] | --local) [--json] [--fix [--apply]]
  mm2-failover failback (--state-machine <arn> | --local --wait) --reason "..." [--requested-by who]
  mm2-failover failback progress --state-machine <arn>
  mm2-failover failback approve (--table <name> [--config failover.config.json] | --local) --reason "..." [--requested-by who]
  mm2-failover local up
  mm2-failover client-config (--deployment <name> [--region r] | --local) [--format properties|librdkafka|json]
                             [--out-dir dir] [--inline-secrets] [--role producers|consumers]
                             (a configuration for Kafka clients in any language; client-config --help)

--config (failover.config.json by default for init): the deployment config whose "aws" section bounds the CLI's
AWS calls (connection and request timeouts, attempts); without it the defaults apply.

exit codes:
  ${exitCodes.done}  done: the function answered (a dry run, a failback that waits or stops at its deadline included)
  ${exitCodes.refusedOrFailed}  refused ("status": "refused"), invalid input ("status": "invalid"), or failed
  ${exitCodes.usage}  usage error: unknown command or flag, a required flag missing, a bad value
  repair: ${exitCodes.done} the configuration at rest is the epoch authority's (consistent or repaired), ${exitCodes.refusedOrFailed} it could not be
          (nothing was ever claimed, the lock is held, or it failed)
  audit: ${exitCodes.done} the standby is ready (after the fixes, with --apply), ${exitCodes.refusedOrFailed} it is not or the audit failed`;

// MM2_FAILOVER_LOCAL_FILE points --local at another deployment on the harness than `local up`'s (a test's own).
const localFile =
  process.env.MM2_FAILOVER_LOCAL_FILE ??
  path.join(import.meta.dirname, '..', '.cache', 'local-deployment.json');

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
    const { lambdaContext } = await import('#harness/lambda.ts');
    const module = (await import(`#functions/${fn}/handler.ts`)) as {
      handler: (e: unknown, c: ReturnType<typeof lambdaContext>) => Promise<unknown>;
    };
    return module.handler(
      payload,
      lambdaContext(`mm2-failover-local-${fn}`, fn === 'failback' ? 900_000 : 300_000),
    );
  }
  if (!flags.function) fail(`${fn}: give the deployed function with --function <name|arn>, or --local`);
  const lambda = new LambdaClient({
    ...(flags.region ? { region: flags.region } : {}),
    ...invokeClientOptions(flags.config ? await configuredLimits(flags.config) : {}),
  });
  const out = await lambda.send(
    new InvokeCommand({
      FunctionName: flags.function,
      Payload: new TextEncoder().encode(JSON.stringify(payload)),
    }),
  );
  const text = out.Payload ? new TextDecoder().decode(out.Payload) : 'null';
  if (out.FunctionError) throw new Error(`${fn} function failed (${out.FunctionError}): ${text}`);
  return JSON.parse(text) as unknown;
}

interface Flags {
  local: boolean;
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
        mode: { type: 'string', default: 'active-passive' },
        json: { type: 'boolean', default: false },
        local: { type: 'boolean', default: false },
        function: { type: 'string' },
        region: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        reason: { type: 'string' },
        force: { type: 'boolean', default: false },
        phase: { type: 'string' },
        confirm: { type: 'boolean', default: false },
        fix: { type: 'boolean', default: false },
        apply: { type: 'boolean', default: false },
        'requested-by': { type: 'string', default: process.env.USER ?? 'operator' },
        table: { type: 'string' },
        config: { type: 'string' },
        'state-machine': { type: 'string' },
        wait: { type: 'boolean', default: false },
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
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return exitCodes.done;
  }
  if (!command) fail('give a command');
  const flags: Flags = {
    local: values.local,
    function: values.function,
    region: values.region,
    config: values.config,
  };
  const print = (v: unknown) => process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);

  switch (command) {
    case 'drill':
      return drill(values.scenario, values.mode, values.json);
    case 'status': {
      const answer = await invoke('status', {}, flags);
      print(answer);
      return exitCodeOf(answer);
    }
    case 'failover': {
      if (!values['dry-run'] && !values.reason) fail('failover: give --reason "..." (or --dry-run)');
      const answer = await invoke(
        'failover',
        {
          action: 'failover',
          reason: values.reason ?? 'dry run from the CLI',
          requestedBy: values['requested-by'],
          dryRun: values['dry-run'],
          force: values.force,
        },
        flags,
      );
      print(answer);
      return exitCodeOf(answer);
    }
    case 'failback': {
      if (sub === 'approve') return approvePurge(values, flags, print);
      if (sub === 'progress') return failbackProgress(values, flags, print);
      if (sub !== undefined) fail(`failback: expected 'approve', 'progress' or no subcommand, got '${sub}'`);
      if (!values.reason) fail('failback: give --reason "..."');
      const drive = { requestedBy: values['requested-by'], reason: values.reason };
      if (values['state-machine']) {
        if (values.phase || values.confirm)
          fail(
            'failback --state-machine: the state machine runs every phase; --phase and --confirm are for --function',
          );
        const answer = await startDrivenFailback(values['state-machine'], drive, flags);
        print(answer);
        return exitCodes.done;
      }
      if (values.wait) {
        if (!flags.local)
          fail(
            'failback --wait drives the loop in this process and needs --local; in AWS, use --state-machine',
          );
        const answer = await driveLocalFailback(drive, flags);
        print(answer);
        return exitCodeOf(answer);
      }
      const answer = await invoke(
        'failback',
        {
          action: 'failback',
          reason: values.reason,
          requestedBy: values['requested-by'],
          ...(values.phase ? { phase: values.phase } : {}),
          ...(values.confirm ? { confirm: true } : {}),
        },
        flags,
      );
      print(answer);
      return exitCodeOf(answer);
    }
    case 'repair':
    case 'refresh-credentials': {
      const request = maintenanceRequest(command, values);
      // The failover function runs both: say so, rather than invoke()'s message about a failover.
      if (!flags.local && !flags.function)
        fail(`${command}: give the deployed failover function with --function <name|arn>, or --local`);
      const answer = await invoke('failover', request, flags);
      print(answer);
      return maintenanceExitCode(answer);
    }
    case 'init': {
      // The first activation (primary, epoch 0), written with the operator's own AWS credentials: the stack
      // never writes the active configuration, so that a stack update cannot roll a switch back.
      const { loadDeploymentConfigFile } = await import('#shared/config/load.ts');
      const { createAwsStores } = await import('#shared/store/aws-stores.ts');
      const { initialiseActiveConfig } = await import('#shared/failover/initialise-active.ts');
      const { deploymentPaths } = await import('#shared/config/paths.ts');
      const config = loadDeploymentConfigFile(values.config ?? 'failover.config.json');
      const region = values.region ? { region: values.region } : {};
      const stores = createAwsStores({ ...region, ...config.aws });
      // With the stack's table (its output), epoch 0 is claimed from the epoch authority under the lock.
      const fencing = values.table ? await fencingFor(values.table, config, region) : undefined;
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

/** Run a drill scenario on local processes and print its table (and, with --json, the summary). */
async function drill(scenario: string, mode: string, json: boolean): Promise<number> {
  if (!(scenarios as readonly string[]).includes(scenario)) {
    fail(`--scenario: expected one of ${scenarios.join(', ')}, got '${scenario}'`);
  }
  if (!(drillModes as readonly string[]).includes(mode)) {
    fail(`--mode: expected one of ${drillModes.join(', ')}, got '${mode}'`);
  }
  const { runDrill } = await import('#drill/drill.ts');
  const summary = await runDrill({ scenario: scenario as Scenario, mode: mode as DrillMode });
  const line = (label: string, v: unknown) => process.stderr.write(`  ${label.padEnd(28)} ${v}\n`);
  process.stderr.write(
    `\ndrill ${summary.scenario} (${summary.mode}, ${summary.policy} policy): ${summary.ok ? 'OK' : 'FAILED'}\n`,
  );
  line('detection window (s)', summary.detectionWindowSeconds);
  line('detection (s)', summary.detectionSeconds ?? '-');
  line('switch (s)', summary.switchSeconds ?? '-');
  line('client follow (s)', summary.clientFollowSeconds ?? '-');
  line('RTO (s)', summary.rtoSeconds ?? '-');
  line('acked on primary', summary.ackedOnPrimary);
  line('missing after failover', summary.missingAfterFailover);
  line('duplicates consumed', summary.duplicatesConsumed);
  line('failback', summary.failback ? JSON.stringify(summary.failback) : '-');
  line('alarms fired', summary.alarmsFired.join(', ') || 'none');
  for (const c of summary.checks) line(c.ok ? `ok: ${c.name}` : `FAILED: ${c.name}`, c.detail);
  for (const t of summary.targets)
    line(t.met ? `target met: ${t.name}` : `target missed: ${t.name}`, t.detail);
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
): Promise<unknown> {
  const { SFNClient, StartExecutionCommand } = await import('@aws-sdk/client-sfn');
  const sfn = new SFNClient(flags.region ? { region: flags.region } : {});
  const out = await sfn.send(new StartExecutionCommand({ stateMachineArn, input: JSON.stringify(input) }));
  return {
    status: 'started',
    executionArn: out.executionArn,
    nextStep: `follow it with 'mm2-failover failback progress --state-machine ${stateMachineArn}'; it stops once, for 'mm2-failover failback approve' before the purge`,
  };
}

/** The latest execution of the failback state machine: its status, the state it is in, the function's last answer. */
async function failbackProgress(values: Values, flags: Flags, print: Print): Promise<number> {
  const stateMachineArn = values['state-machine'];
  if (!stateMachineArn) fail('failback progress: give --state-machine <arn>');
  const sfn = await import('@aws-sdk/client-sfn');
  const client = new sfn.SFNClient(flags.region ? { region: flags.region } : {});
  const list = await client.send(new sfn.ListExecutionsCommand({ stateMachineArn, maxResults: 1 }));
  const latest = list.executions?.[0];
  if (!latest?.executionArn) {
    print({ status: 'none', nextStep: 'no failback has been started on this state machine' });
    return exitCodes.done;
  }
  const execution = await client.send(
    new sfn.DescribeExecutionCommand({ executionArn: latest.executionArn }),
  );
  const history = await client.send(
    new sfn.GetExecutionHistoryCommand({
      executionArn: latest.executionArn,
      reverseOrder: true,
      maxResults: 200,
      includeExecutionData: true,
    }),
  );
  const events = history.events ?? [];
  const currentState = events.find((e) => e.stateEnteredEventDetails?.name)?.stateEnteredEventDetails?.name;
  const lastAnswer = events
    .filter((e) => e.type === 'TaskSucceeded' && e.taskSucceededEventDetails?.resourceType === 'lambda')
    .map((e) => (JSON.parse(e.taskSucceededEventDetails?.output ?? '{}') as { Payload?: unknown }).Payload)
    .find((answer) => answer !== undefined);
  print({
    executionArn: latest.executionArn,
    status: execution.status,
    startDate: execution.startDate,
    ...(execution.stopDate ? { stopDate: execution.stopDate } : {}),
    ...(execution.status === 'RUNNING' && currentState ? { currentState } : {}),
    ...(execution.error ? { error: execution.error, cause: execution.cause } : {}),
    ...(lastAnswer === undefined ? {} : { lastAnswer }),
  });
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
  let table: string;
  let deployment: string;
  if (flags.local) {
    const local = loadLocalDeployment();
    table = local.table;
    deployment = local.deployment;
  } else {
    if (!values.table) fail('failback approve: give --table <TableName output of the stack>, or --local');
    table = values.table;
    const { loadDeploymentConfigFile } = await import('#shared/config/load.ts');
    deployment = loadDeploymentConfigFile(values.config ?? 'failover.config.json').name;
  }
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
  writeFileSync(
    localFile,
    JSON.stringify(
      { deployment: config.name, functionEnv: provisioned.functionEnv, harness: harness.info },
      null,
      2,
    ),
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
      process.stderr.write(`mm2-failover: ${e.message}\n\n${usage}\n`);
      process.exit(exitCodes.usage);
    }
    process.stderr.write(`mm2-failover: ${describeError(e)}\n`);
    process.exit(exitCodes.refusedOrFailed);
  },
);
