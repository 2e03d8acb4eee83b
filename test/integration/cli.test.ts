import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import {
  CreateStateMachineCommand,
  ListExecutionsCommand,
  SFNClient,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import { beforeAll, describe, expect, it } from 'vitest';
import { awsClientConfig, awsEnvironment } from '#harness/aws-clients.ts';
import type { HarnessInfo } from '#harness/info.ts';
import { uniqueName } from '#harness/unique-name.ts';
import { waitFor } from '#harness/wait-for.ts';
import { bundledConfigFileName, configFileVariable } from '#shared/config/load.ts';
import { type DeploymentPaths, deploymentPaths } from '#shared/config/paths.ts';
import { purgeApprovalKey } from '#shared/failback-driver/purge-approvals.ts';
import { readActiveOnce, type Stores } from '#shared/store/active-config.ts';
import { ensureFailoverTable } from '#shared/store/dynamo-table.ts';
import { Redacted } from '#shared/store/redacted.ts';
import { SecretsManagerStore } from '#shared/store/secrets-manager-store.ts';
import { SsmParameterStore } from '#shared/store/ssm-parameter-store.ts';
import { describeLocalDeployment } from '../../bin/local-deployment.ts';
import { harness } from './shared-harness.ts';

/**
 * The CLI as an operator runs it, against a deployment on the shared harness laid out as the stack leaves it: the
 * active credentials secret created empty, nothing active yet, and the parameter `--deployment` reads. The local
 * deployment file is what `mm2-failover local up` writes (bin/local-deployment.ts), pointed at this harness with
 * MM2_FAILOVER_LOCAL_FILE: starting a harness of its own would cost minutes.
 */

interface Cli {
  code: number;
  stdout: string;
  stderr: string;
}

interface TestDeployment {
  name: string;
  paths: DeploymentPaths;
  stores: Stores;
  table: string;
  dir: string;
  configFile: string;
  localFile: string;
  cli(args: string[], env?: Record<string, string>): Promise<Cli>;
}

function clients(info: HarnessInfo) {
  const aws = awsClientConfig(info);
  return {
    ssm: new SSMClient(aws),
    secretsManager: new SecretsManagerClient(aws),
    dynamodb: new DynamoDBClient(aws),
    sns: new SNSClient(aws),
    sfn: new SFNClient(aws),
  };
}

/** A deployment as `cdk deploy` leaves it, before `init`: cluster definitions written, the active secret empty. */
async function deployedButNotInitialised(info: HarnessInfo): Promise<TestDeployment> {
  const c = clients(info);
  const name = uniqueName('cli')
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 40);
  const paths = deploymentPaths(name);
  const stores: Stores = {
    parameters: new SsmParameterStore(c.ssm),
    secrets: new SecretsManagerStore(c.secretsManager),
  };
  const table = `mm2-failover-${name}`;
  await ensureFailoverTable(c.dynamodb, table);
  const topic = await c.sns.send(new CreateTopicCommand({ Name: table }));
  for (const role of ['primary', 'secondary'] as const) {
    await stores.parameters.put(
      paths.clusterParameter(role),
      JSON.stringify({
        alias: info.clusters[role].alias,
        bootstrapServers: info.clusters[role].bootstrapServers,
        securityProtocol: 'PLAINTEXT',
      }),
    );
    await stores.secrets.put(paths.clusterSecret(role), new Redacted('{}'));
  }
  await stores.parameters.put(paths.automationParameter, 'enabled');
  // As the stack creates it: a secret with no value at all (CloudFormation gets no SecretString).
  await c.secretsManager.send(new CreateSecretCommand({ Name: paths.activeCredentialsSecret }));

  const dir = mkdtempSync(path.join(tmpdir(), 'mm2-cli-'));
  const config = {
    name,
    mode: 'active-passive',
    replicationPolicy: info.mirror.direction.policy,
    separator: info.mirror.direction.separator,
    clusters: {
      primary: { alias: info.clusters.primary.alias, auth: 'none', expectedBrokers: 1 },
      secondary: { alias: info.clusters.secondary.alias, auth: 'none', expectedBrokers: 1 },
    },
    topics: [`${name}-orders`],
    consumerGroups: [],
    mirror: {
      kind: 'kafka-connect',
      forwardUrl: info.mirror.connectUrl ?? 'http://127.0.0.1:1',
      reverseUrl: info.reverseWorker.connectUrl,
    },
  };
  const configFile = path.join(dir, 'failover.config.json');
  writeFileSync(configFile, JSON.stringify(config));
  // The functions read the bundled config (validated again at their cold start), as in Lambda.
  const bundled = path.join(dir, bundledConfigFileName);
  writeFileSync(bundled, JSON.stringify(config));
  const aws = awsEnvironment(info);
  const localFile = path.join(dir, 'local-deployment.json');
  await describeLocalDeployment(
    localFile,
    {
      deployment: name,
      functionEnv: {
        [configFileVariable]: bundled,
        MM2_FAILOVER_TABLE: table,
        MM2_FAILOVER_TOPIC_ARN: topic.TopicArn ?? '',
        POWERTOOLS_METRICS_NAMESPACE: paths.metricsNamespace,
        ...aws,
      },
      harness: info,
    },
    stores.parameters,
  );
  const cli = (args: string[], env: Record<string, string> = {}) =>
    new Promise<Cli>((resolve) => {
      execFile(
        process.execPath,
        ['bin/mm2-failover.ts', ...args],
        { env: { ...process.env, ...aws, MM2_FAILOVER_LOCAL_FILE: localFile, ...env } },
        (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
      );
    });
  return { name, paths, stores, table, dir, configFile, localFile, cli };
}

const json = (out: Cli): Record<string, unknown> => JSON.parse(out.stdout) as Record<string, unknown>;

describe('mm2-failover CLI against a deployment on the harness', () => {
  let d: TestDeployment;
  beforeAll(async () => {
    d = await deployedButNotInitialised(harness().info);
  });

  it('init fills the empty secret the stack created, claiming epoch 0 in the table the stack wrote down', async () => {
    const sm = clients(harness().info).secretsManager;
    const before = await sm.send(new DescribeSecretCommand({ SecretId: d.paths.activeCredentialsSecret }));
    expect(Object.keys(before.VersionIdsToStages ?? {})).toEqual([]);
    await expect(
      sm.send(new GetSecretValueCommand({ SecretId: d.paths.activeCredentialsSecret })),
    ).rejects.toThrow();
    const notYet = await d.cli(['status', '--local']);

    const init = await d.cli(['init', '--config', d.configFile, '--requested-by', 'test']);

    expect(notYet.code, notYet.stderr).toBe(0);
    expect(notYet.stdout).toMatch(/^active\s+not initialised: .*'mm2-failover init'/m);
    expect(init.code, init.stderr).toBe(0);
    expect(json(init)).toEqual({ status: 'initialised', cluster: 'primary', epoch: 0 });
    const active = await readActiveOnce(d.stores, d.paths);
    expect(active.kind).toBe('consistent');
    // Claimed from the epoch authority (the table came from the parameter --deployment reads), not written bare.
    const status = json(await d.cli(['status', '--local', '--json']));
    expect(status.active).toMatchObject({ state: 'active', cluster: 'primary', epoch: 0, authorityEpoch: 0 });
  });

  it('status prints a summary for a person and the raw answer with --json', async () => {
    const summary = await d.cli(['status', '--local']);
    const raw = await d.cli(['status', '--local', '--json']);

    expect(summary.code, summary.stderr).toBe(0);
    expect(summary.stdout).toMatch(new RegExp(`^deployment\\s+${d.name} \\(active-passive, `, 'm'));
    expect(summary.stdout).toMatch(/^active\s+primary '[^']+', epoch 0 since /m);
    expect(summary.stdout).toMatch(/^failover\s+none recorded$/m);
    expect(raw.code).toBe(0);
    expect(json(raw)).toMatchObject({ deployment: d.name, automation: 'enabled' });
  });

  it('failover: a dry run exits 0, a refusal (the primary is healthy) exits 1, a forced switch exits 0', async () => {
    const dryRun = await d.cli(['failover', '--local', '--dry-run']);
    const refused = await d.cli(['failover', '--local', '--reason', 'drill', '--requested-by', 'test']);
    const forced = await d.cli([
      'failover',
      '--local',
      '--reason',
      'drill',
      '--force',
      '--requested-by',
      'test',
    ]);

    expect(dryRun.code, dryRun.stderr).toBe(0);
    expect(json(dryRun).status).toBe('dry-run');
    expect(refused.code, refused.stdout).toBe(1);
    expect(json(refused).status).toBe('refused');
    expect(forced.code, forced.stdout + forced.stderr).toBe(0);
    expect(json(forced)).toMatchObject({ status: 'switched' });
    const summary = await d.cli(['status', '--local']);
    expect(summary.stdout).toMatch(/^active\s+secondary '[^']+', epoch 1 since /m);
    expect(summary.stdout).toMatch(/^failover\s+last completed \S+, run \S+ by \S+; steps: .*parameter/m);
  });

  it('failback: a refusal exits 1 with the reasons on stdout and the function logs on stderr', async () => {
    const plan = await d.cli(['failback', '--local', '--reason', 'look first', '--phase', 'salvage']);

    // The shared harness mirrors with MM2's default policy, whose active-passive failback copies back instead of
    // salvaging: asking for salvage is refused, naming the phases there are (the drill runs a whole failback).
    expect(plan.code, plan.stderr).toBe(1);
    expect(json(plan)).toMatchObject({
      status: 'refused',
      reasons: [expect.objectContaining({ code: 'phase-not-in-mode' })],
    });
    expect(plan.stderr).toContain('"message":"failback refused"');
  });

  it('local: a subcommand other than up, or --local without a local deployment, is a usage error', async () => {
    const other = await d.cli(['local', 'down']);
    const missing = await d.cli(['status', '--local'], {
      MM2_FAILOVER_LOCAL_FILE: path.join(d.dir, 'none.json'),
    });

    expect(other.code).toBe(2);
    expect(other.stderr).toContain("local: expected 'up', got 'down'");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("no local deployment: start one with 'mm2-failover local up'");
  });

  it('--deployment reads the function names from the parameter in moto and invokes them there', async () => {
    const out = await d.cli(['status', '--deployment', d.name]);

    // moto runs no Lambda function without Docker: that the name it could not find is the written one proves
    // the lookup; the invocation itself is covered by the unit tests' fake Lambda.
    expect(out.code).toBe(1);
    expect(out.stderr).toContain(`mm2-failover-${d.name}-status`);
  });

  it('failback --wait follows the execution until it waits for the approval (exit 3); progress --wait reports its end', async () => {
    const { sfn, dynamodb } = clients(harness().info);
    // moto records executions but runs no state (its interpreter would invoke Lambda, which needs Docker): the
    // approval item and the stop below stand for what the state machine would do.
    const machine = await sfn.send(
      new CreateStateMachineCommand({
        name: `${d.name}-failback`,
        roleArn: 'arn:aws:iam::123456789012:role/failback-driver',
        definition: JSON.stringify({ StartAt: 'Done', States: { Done: { Type: 'Succeed' } } }),
      }),
    );
    const targets = JSON.parse((await d.stores.parameters.get(d.paths.functionsParameter))?.value ?? '{}');
    await d.stores.parameters.put(
      d.paths.functionsParameter,
      JSON.stringify({ ...targets, failbackStateMachineArn: machine.stateMachineArn }),
    );
    const fast = { MM2_FAILOVER_FOLLOW_POLL_MS: '300' };

    const waiting = d.cli(['failback', '--deployment', d.name, '--wait', '--reason', 'primary back'], fast);
    const executionArn: string = await waitFor(
      async () =>
        (await sfn.send(new ListExecutionsCommand({ stateMachineArn: machine.stateMachineArn })))
          .executions?.[0]?.executionArn,
      { timeoutMs: 60_000, what: 'the failback execution to start' },
    );
    const key = purgeApprovalKey(d.name);
    await dynamodb.send(
      new PutItemCommand({
        TableName: d.table,
        Item: {
          pk: { S: key.pk },
          sk: { S: key.sk },
          taskToken: { S: 'token-from-the-state-machine' },
          executionArn: { S: executionArn },
          answer: { S: JSON.stringify({ status: 'waiting', currentPhase: 'purge' }) },
          requestedAt: { S: new Date().toISOString() },
        },
      }),
    );
    const waited = await waiting;
    // Following a running execution to its end is the unit tests' (scripted looks); here, one that has ended.
    await sfn.send(new StopExecutionCommand({ executionArn, cause: 'test' }));
    const ended = await d.cli(['failback', 'progress', '--deployment', d.name, '--wait'], fast);

    expect(waited.code, waited.stderr).toBe(3);
    expect(json(waited)).toMatchObject({
      status: 'waiting-for-approval',
      asked: { currentPhase: 'purge' },
      execution: { executionArn, status: 'RUNNING' },
    });
    expect(waited.stderr).toContain(`failback started: ${executionArn}`);
    expect(waited.stdout).not.toContain('token-from-the-state-machine');
    expect(ended.code, ended.stderr).toBe(1);
    expect(json(ended)).toMatchObject({ status: 'failed', execution: { status: 'ABORTED' } });
  });
});

describe('the first failover from the empty secret the stack created, without init', () => {
  it('switches to the secondary with epoch 1 and fills the secret', async () => {
    const d = await deployedButNotInitialised(harness().info);

    const forced = await d.cli([
      'failover',
      '--local',
      '--reason',
      'first',
      '--force',
      '--requested-by',
      'test',
    ]);

    expect(forced.code, forced.stdout + forced.stderr).toBe(0);
    expect(json(forced)).toMatchObject({ status: 'switched' });
    const active = await readActiveOnce(d.stores, d.paths);
    expect(active.kind).toBe('consistent');
    if (active.kind === 'consistent') {
      expect(active.config).toMatchObject({ cluster: 'secondary', epoch: 1 });
      expect(active.credentials.reveal()).toMatchObject({ cluster: 'secondary', epoch: 1 });
    }
  });
});
