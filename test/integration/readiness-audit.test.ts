import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsClientConfig, awsEnvironment } from '#harness/aws-clients.ts';
import { type Harness, startHarness } from '#harness/harness.ts';
import { kafkaClient } from '#harness/kafka-clients.ts';
import { uniqueName } from '#harness/unique-name.ts';
import { waitFor } from '#harness/wait-for.ts';
import { deploymentPaths } from '#shared/config/paths.ts';
import type { DeploymentConfigInput } from '#shared/config/schema.ts';
import type { Finding } from '#shared/readiness/finding.ts';
import { Redacted } from '#shared/store/redacted.ts';
import { SecretsManagerStore } from '#shared/store/secrets-manager-store.ts';
import { SsmParameterStore } from '#shared/store/ssm-parameter-store.ts';
import { harness as sharedHarness } from './shared-harness.ts';

/**
 * `mm2-failover audit` against real Kafka and MirrorMaker 2: each finding kind the issue names is produced for
 * real, then `audit --fix --apply` fixes them and the audit comes back ready.
 *
 * Its own harness (identity policy, no TLS, no moto): the case "replication policy missing on the checkpoint
 * connector" only breaks anything under the identity policy (the default one is MM2's default too), and the
 * cases need MM2 reconfigured (config sync off, a connector without its policy), which the shared harness must not
 * see. The
 * cluster definitions live in the shared harness's moto, under this deployment's own name.
 */
const root = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

let h: Harness;
let primary: Admin;
let secondary: Admin;
const id = uniqueName('ready');
// MM2 excludes `.*\.replica` by default (topics.exclude): the missing topic and the registry's stay uncopied
// from the moment they exist, whatever MM2 is doing then.
const topics = { parts: `${id}-parts`, cleanup: `${id}-cleanup`, missing: `${id}-missing.replica` };
const schemas = `${id}-schemas.replica`;
let configFile: string;
let env: NodeJS.ProcessEnv;

interface AuditAnswer {
  ready: boolean;
  findings: Finding[];
  fixes?: { calls: Array<{ request: string; fixes: string[] }> };
  applied?: Array<{ request: string; outcome: string; error?: string }>;
  after?: { ready: boolean; findings: Finding[] };
}

async function audit(...flags: string[]): Promise<{ code: number; answer: AuditAnswer; stderr: string }> {
  const args = ['bin/mm2-failover.ts', 'audit', '--config', configFile, '--json', ...flags];
  const out = await run(process.execPath, args, { cwd: root, env }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
  if (!out.stdout.trim().startsWith('{'))
    throw new Error(`audit printed no JSON (exit ${out.code}): ${out.stderr}`);
  return { code: out.code, answer: JSON.parse(out.stdout) as AuditAnswer, stderr: out.stderr };
}

/** Change one connector's config through Connect's REST API (retried while the worker rebalances). */
async function reconfigure(connector: string, change: (c: Record<string, string>) => void): Promise<void> {
  const url = `${h.info.mirror.connectUrl}/connectors/${connector}/config`;
  const config = (await (await fetch(url)).json()) as Record<string, string>;
  change(config);
  await waitFor(
    async () => {
      const r = await fetch(url, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(config),
      });
      return r.ok;
    },
    { timeoutMs: 30_000, intervalMs: 500, what: `Kafka Connect to accept the new config of ${connector}` },
  );
}

const codesOf = (findings: Finding[]) =>
  findings
    .filter((f) => f.severity === 'error')
    .map((f) => `${f.code}${f.topic ? ` ${f.topic}` : ''}`)
    .sort();

beforeAll(async () => {
  h = await startHarness({ policy: 'identity', tls: false, moto: false, controlServer: false });
  primary = kafkaClient(h.info, 'primary').admin();
  secondary = kafkaClient(h.info, 'secondary').admin();
  await Promise.all([primary.connect(), secondary.connect()]);
  const names = h.info.mirror.connectors;
  if (!names) throw new Error('expected MM2 in Connect mode');

  await reconfigure(names.source, (c) => {
    // Config sync off: MM2 would otherwise reset the target's cleanup.policy to the source's within a second.
    c['sync.topic.configs.enabled'] = 'false';
  });
  await reconfigure(names.checkpoint, (c) => {
    delete c['replication.policy.class'];
  });

  // The copies first: more partitions than the source (MM2 adds partitions, never removes them), another
  // cleanup.policy.
  await secondary.createTopics({
    topics: [
      { topic: topics.parts, numPartitions: 4 },
      {
        topic: topics.cleanup,
        numPartitions: 1,
        configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
      },
    ],
    waitForLeaders: true,
  });
  await primary.createTopics({
    topics: [
      { topic: topics.parts, numPartitions: 2 },
      { topic: topics.cleanup, numPartitions: 1 },
      { topic: topics.missing, numPartitions: 3 },
      { topic: schemas, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
    ],
    waitForLeaders: true,
  });
  const producer = kafkaClient(h.info, 'primary').producer();
  await producer.connect();
  await producer.send({ topic: schemas, messages: [{ key: '{"subject":"orders-value"}', value: '{}' }] });
  await producer.disconnect();
  // A task configured by the reconfigured connector proves the connector that synced configs has stopped; its
  // last sync may have reset the copy's cleanup.policy, so the drift is set again after.
  await waitFor(
    async () => {
      const r = await fetch(`${h.info.mirror.connectUrl}/connectors/${names.source}/tasks`);
      const tasks = (await r.json()) as Array<{ config: Record<string, string> }>;
      return tasks.some((t) => t.config['sync.topic.configs.enabled'] === 'false');
    },
    { timeoutMs: 60_000, intervalMs: 500, what: `${names.source} to run with config sync off` },
  );
  await secondary.alterConfigs({
    validateOnly: false,
    resources: [
      { type: 2, name: topics.cleanup, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
    ],
  });

  const shared = sharedHarness().info;
  const config: DeploymentConfigInput = {
    name: id,
    mode: 'active-passive',
    replicationPolicy: 'identity',
    clusters: {
      primary: { alias: 'primary', auth: 'none', expectedBrokers: 1 },
      secondary: { alias: 'secondary', auth: 'none', expectedBrokers: 1 },
    },
    topics: Object.values(topics),
    mirror: {
      kind: 'kafka-connect',
      forwardUrl: h.info.mirror.connectUrl ?? '',
      reverseUrl: h.info.reverseWorker.connectUrl,
    },
    readiness: { schemaTopic: schemas, heartbeatMaxAgeSeconds: 30 },
  };
  configFile = path.join(mkdtempSync(path.join(tmpdir(), 'mm2-readiness-')), 'failover.config.json');
  writeFileSync(configFile, JSON.stringify(config));
  const aws = awsClientConfig(shared);
  const parameters = new SsmParameterStore(new SSMClient(aws));
  const secrets = new SecretsManagerStore(new SecretsManagerClient(aws));
  const paths = deploymentPaths(id);
  for (const role of ['primary', 'secondary'] as const) {
    await parameters.put(
      paths.clusterParameter(role),
      JSON.stringify({
        alias: role,
        bootstrapServers: [h.info.clusters[role].bootstrapServers],
        securityProtocol: 'PLAINTEXT',
      }),
    );
    await secrets.put(paths.clusterSecret(role), new Redacted('{}'));
  }
  env = { ...process.env, ...awsEnvironment(shared) };
}, 300_000);

afterAll(async () => {
  await Promise.all([primary?.disconnect(), secondary?.disconnect()]);
  await h?.stop();
});

describe('mm2-failover audit on real clusters and MirrorMaker 2', () => {
  it('finds each problem for real, prints the calls that fix them, applies them, and is ready after', async () => {
    const names = h.info.mirror.connectors;
    const before = await audit();
    process.stdout.write(`audit --json before the fixes:\n${JSON.stringify(before.answer, null, 2)}\n`);

    expect(before.code).toBe(1);
    expect(before.answer.ready).toBe(false);
    expect(codesOf(before.answer.findings)).toEqual(
      [
        `partition-count ${topics.parts}`,
        `config-mismatch ${topics.cleanup}`,
        `topic-missing ${topics.missing}`,
        `schema-topic-not-mirrored ${schemas}`,
        // MM2's default exclude list is on both connectors: neither copies nor checkpoints the topic.
        `mirror-topics-not-covered ${topics.missing}`,
        `mirror-topics-not-covered ${topics.missing}`,
        `mirror-topics-not-covered ${schemas}`,
        'mirror-policy',
      ].sort(),
    );
    const byCode = (code: string) => before.answer.findings.find((f) => f.code === code);
    expect(byCode('partition-count')).toMatchObject({
      expected: expect.stringContaining('2 partitions'),
      found: '4',
    });
    expect(byCode('config-mismatch')).toMatchObject({
      expected: `cleanup.policy=delete (as ${topics.cleanup} on the primary)`,
      found: `cleanup.policy=compact on ${topics.cleanup}`,
    });
    expect(byCode('mirror-topics-not-covered')).toMatchObject({
      found: "excluded by '.*[\\-\\.]internal, .*\\.replica, __.*'",
      action: { set: { 'topics.exclude': '.*[\\-\\.]internal, __.*' } },
    });
    expect(byCode('mirror-policy')).toMatchObject({
      expected: expect.stringContaining(`connector ${names?.checkpoint}`),
      found: 'replication.policy.class=org.apache.kafka.connect.mirror.DefaultReplicationPolicy',
    });

    const fixed = await audit('--fix', '--apply');
    process.stdout.write(`audit --fix --apply --json:\n${JSON.stringify(fixed.answer.fixes, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(fixed.answer.applied, null, 2)}\n`);

    expect(fixed.answer.fixes?.calls.map((c) => c.request.split(':')[0])).toEqual([
      'CreatePartitions on the primary',
      'AlterConfigs on the secondary',
      'CreateTopics on the secondary',
      expect.stringMatching(/^PUT http/),
      expect.stringMatching(/^PUT http/),
    ]);
    expect(fixed.answer.applied?.filter((a) => a.outcome !== 'applied')).toEqual([]);

    // MM2 restarts with its new configuration and copies the registry's topic: ready once it has.
    const after = await waitFor(
      async () => {
        const a = await audit();
        return a.answer.ready && a;
      },
      { timeoutMs: 90_000, intervalMs: 1_000, what: 'the audit to find the standby ready after the fixes' },
    );
    process.stdout.write(`audit --json after the fixes:\n${JSON.stringify(after.answer, null, 2)}\n`);
    expect(after.code).toBe(0);
    expect(codesOf(after.answer.findings)).toEqual([]);
    const checkpoint = (await (
      await fetch(`${h.info.mirror.connectUrl}/connectors/${names?.checkpoint}/config`)
    ).json()) as Record<string, string>;
    expect(checkpoint['replication.policy.class']).toBe(
      'org.apache.kafka.connect.mirror.IdentityReplicationPolicy',
    );
    const layout = await primary.fetchTopicMetadata({ topics: [topics.parts] });
    expect(layout.topics[0]?.partitions).toHaveLength(4);
  });
});
