import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, ListSecretVersionIdsCommand } from '@aws-sdk/client-secrets-manager';
import { GetParametersByPathCommand } from '@aws-sdk/client-ssm';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { awsEnvironment } from '#harness/aws-clients.ts';
import { CountingAws, createDeployment, type Deployment } from '#harness/fixtures/failover-deployment.ts';
import { writeConfigFile } from '../fakes/config-file.ts';
import { malformedPayloads } from '../unit/failover/payloads.ts';
import { harness } from './shared-harness.ts';

type Handler = (event: unknown, context: Context) => Promise<unknown>;

/** Everything the deployment has in SSM, Secrets Manager and DynamoDB, with versions. */
async function storeContents(d: Deployment, aws: CountingAws): Promise<unknown> {
  const parameters = await aws.ssm.send(
    new GetParametersByPathCommand({ Path: d.paths.root, Recursive: true }),
  );
  const secrets: Record<string, unknown> = {};
  for (const name of [
    d.paths.clusterSecret('primary'),
    d.paths.clusterSecret('secondary'),
    d.paths.activeCredentialsSecret,
  ]) {
    const versions = await aws.secretsManager.send(new ListSecretVersionIdsCommand({ SecretId: name }));
    const value = await aws.secretsManager.send(new GetSecretValueCommand({ SecretId: name }));
    secrets[name] = { versions: versions.Versions?.length, value: value.SecretString };
  }
  const items = await aws.dynamodb.send(new ScanCommand({ TableName: d.table, ConsistentRead: true }));
  return {
    parameters: (parameters.Parameters ?? [])
      .map((p) => [p.Name, p.Version, p.Value])
      .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    secrets,
    items: items.Items ?? [],
  };
}

describe('failover function input (the real handler on moto)', () => {
  const h = harness();
  const aws = new CountingAws(h.info);
  let d: Deployment;
  let handler: Handler;
  const context = (id: string) => ({ awsRequestId: id, functionName: 'failover' }) as Context;

  beforeAll(async () => {
    d = await createDeployment(h.info, aws, { topics: ['orders'], consumerGroups: ['billing'] });
    for (const [k, v] of Object.entries(awsEnvironment(h.info))) vi.stubEnv(k, v);
    vi.stubEnv('MM2_FAILOVER_CONFIG_FILE', writeConfigFile(d.config));
    vi.stubEnv('MM2_FAILOVER_TABLE', d.table);
    vi.stubEnv('MM2_FAILOVER_TOPIC_ARN', d.topicArn);
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
    ({ handler } = (await import('#functions/failover/handler.ts')) as { handler: Handler });
  }, 120_000);

  afterAll(async () => {
    vi.unstubAllEnvs();
    await d?.close();
    aws.destroy();
  });

  it(`refuses each of ${malformedPayloads.length} malformed payloads with its problems by path and changes nothing`, async () => {
    // Arrange
    const before = await storeContents(d, aws);

    // Act
    const responses: unknown[] = [];
    for (const [i, { payload }] of malformedPayloads.entries())
      responses.push(await handler(payload, context(`bad-${i}`)));

    // Assert
    expect(malformedPayloads.length).toBeGreaterThanOrEqual(20);
    responses.forEach((response, i) => {
      const expected = malformedPayloads[i];
      expect(response, expected?.name).toMatchObject({ status: 'invalid', subject: expect.any(String) });
      const paths = (response as { problems: Array<{ path: string }> }).problems.map((p) => p.path).sort();
      expect(paths, expected?.name).toEqual([...(expected?.paths ?? [])].sort());
    });
    expect(await storeContents(d, aws)).toEqual(before);
  }, 180_000);

  it('refuses a manual failover while the primary answers, with coded reasons and the preflight, and changes nothing', async () => {
    // Arrange
    const before = await storeContents(d, aws);

    // Act
    const response = await handler(
      // planned: false, since a manual request with the primary up is a planned switchover by default.
      {
        action: 'failover',
        reason: 'is the primary really down?',
        requestedBy: 'integration test',
        planned: false,
      },
      context('refused'),
    );

    // Assert
    // The primary answers, and no probe has measured the lag in this deployment yet: both are refusals.
    expect(response).toMatchObject({
      status: 'refused',
      reasons: [
        { code: 'primary-not-down', message: expect.stringContaining('not confirmed down') },
        { code: 'lag-unknown', message: expect.any(String) },
      ],
      warnings: expect.any(Array),
      preflight: { ok: false },
    });
    expect(await storeContents(d, aws)).toEqual(before);
  }, 180_000);

  it('answers a dry run with the plan and changes nothing, and a forced manual request does switch', async () => {
    // Arrange
    const before = await storeContents(d, aws);
    const request = {
      action: 'failover',
      reason: 'drill: move to the secondary',
      requestedBy: 'integration test',
    };

    // Act
    const dry = (await handler({ ...request, dryRun: true, force: true }, context('dry'))) as Record<
      string,
      unknown
    >;
    const afterDryRun = await storeContents(d, aws);
    const real = (await handler({ ...request, force: true }, context('real'))) as Record<string, unknown>;

    // Assert
    expect(dry).toMatchObject({
      status: 'dry-run',
      wouldDo: 'switch',
      plan: { next: { epoch: 1, cluster: 'secondary' } },
    });
    expect(JSON.stringify(dry)).toContain('"key":"[redacted]"');
    expect(JSON.stringify(dry)).not.toContain(d.secondaryCredentials.key.split('\n')[1]);
    expect(afterDryRun).toEqual(before);
    expect(real).toMatchObject({ status: 'switched', epoch: 1 });
    expect(await storeContents(d, aws)).not.toEqual(before);
  }, 180_000);
});
