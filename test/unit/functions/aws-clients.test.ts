import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { awsClientOptions } from '#shared/store/aws-client-options.ts';
import { regionalAwsClients } from '#shared/store/regional-stores.ts';
import { writeConfigFile } from '../../fakes/config-file.ts';
import { testConfig } from '../failover/fakes.ts';

// Every SDK client the product constructs is recorded with the options it was given: the handlers build theirs at
// module scope, so the only way to see them from outside is at their constructor.
const built = vi.hoisted(() => [] as Array<{ client: string; options: Record<string, unknown> }>);

vi.mock('@aws-sdk/client-ssm', async (importOriginal) => {
  const sdk = await importOriginal<typeof import('@aws-sdk/client-ssm')>();
  class SSMClient extends sdk.SSMClient {
    constructor(options: NonNullable<ConstructorParameters<typeof sdk.SSMClient>[0]> = {}) {
      super(options);
      built.push({ client: 'SSMClient', options: { ...options } });
    }
  }
  return { ...sdk, SSMClient };
});
vi.mock('@aws-sdk/client-secrets-manager', async (importOriginal) => {
  const sdk = await importOriginal<typeof import('@aws-sdk/client-secrets-manager')>();
  class SecretsManagerClient extends sdk.SecretsManagerClient {
    constructor(options: NonNullable<ConstructorParameters<typeof sdk.SecretsManagerClient>[0]> = {}) {
      super(options);
      built.push({ client: 'SecretsManagerClient', options: { ...options } });
    }
  }
  return { ...sdk, SecretsManagerClient };
});
vi.mock('@aws-sdk/client-dynamodb', async (importOriginal) => {
  const sdk = await importOriginal<typeof import('@aws-sdk/client-dynamodb')>();
  class DynamoDBClient extends sdk.DynamoDBClient {
    constructor(options: NonNullable<ConstructorParameters<typeof sdk.DynamoDBClient>[0]> = {}) {
      super(options);
      built.push({ client: 'DynamoDBClient', options: { ...options } });
    }
  }
  return { ...sdk, DynamoDBClient };
});
vi.mock('@aws-sdk/client-sns', async (importOriginal) => {
  const sdk = await importOriginal<typeof import('@aws-sdk/client-sns')>();
  class SNSClient extends sdk.SNSClient {
    constructor(options: NonNullable<ConstructorParameters<typeof sdk.SNSClient>[0]> = {}) {
      super(options);
      built.push({ client: 'SNSClient', options: { ...options } });
    }
  }
  return { ...sdk, SNSClient };
});
vi.mock('@aws-sdk/client-lambda', async (importOriginal) => {
  const sdk = await importOriginal<typeof import('@aws-sdk/client-lambda')>();
  class LambdaClient extends sdk.LambdaClient {
    constructor(options: NonNullable<ConstructorParameters<typeof sdk.LambdaClient>[0]> = {}) {
      super(options);
      built.push({ client: 'LambdaClient', options: { ...options } });
    }
  }
  return { ...sdk, LambdaClient };
});

/** Limits no default has, so that a client built without the config's `aws` section cannot pass. */
const limits = { connectTimeoutMs: 1_234, requestTimeoutMs: 4_321, maxAttempts: 7 };
const config = testConfig({ aws: limits });
const bounded = {
  maxAttempts: 7,
  requestHandler: { connectionTimeout: 1_234, requestTimeout: 4_321, throwOnRequestTimeout: true },
};

/** The clients a handler module builds when it is first imported (its cold start). */
async function clientsBuiltBy(handler: () => Promise<unknown>): Promise<typeof built> {
  const before = built.length;
  await handler();
  return built.slice(before);
}

beforeAll(() => {
  vi.stubEnv('MM2_FAILOVER_CONFIG_FILE', writeConfigFile(config));
  vi.stubEnv('MM2_FAILOVER_TABLE', 'mm2-failover');
  vi.stubEnv('MM2_FAILOVER_FUNCTION', 'mm2-failover-orders-dr-failover');
  vi.stubEnv('MM2_FAILOVER_TOPIC_ARN', 'arn:aws:sns:eu-west-1:123456789012:mm2-failover');
  vi.stubEnv('AWS_REGION', 'eu-west-1');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
});
afterAll(() => {
  vi.unstubAllEnvs();
});

describe("the functions' AWS clients", () => {
  it.each([
    {
      fn: 'failover',
      load: () => import('#functions/failover/handler.ts'),
      clients: ['DynamoDBClient', 'SNSClient', 'SSMClient', 'SecretsManagerClient'],
    },
    {
      fn: 'failback',
      load: () => import('#functions/failback/handler.ts'),
      clients: ['DynamoDBClient', 'SNSClient', 'SSMClient', 'SecretsManagerClient'],
    },
    {
      fn: 'probe',
      load: () => import('#functions/probe/handler.ts'),
      // The epoch authority's table, and the failover function it asks for repairs and credential refreshes.
      clients: ['DynamoDBClient', 'LambdaClient', 'SSMClient', 'SecretsManagerClient'],
    },
    {
      fn: 'status',
      load: () => import('#functions/status/handler.ts'),
      // No Secrets Manager: status is never granted a secret.
      clients: ['DynamoDBClient', 'SSMClient'],
    },
  ])('$fn builds each of its clients with the deployment config’s aws limits', async ({ load, clients }) => {
    const made = await clientsBuiltBy(load);

    expect(made.map((m) => m.client).sort()).toEqual(clients);
    for (const m of made) expect(m.options, m.client).toEqual(bounded);
  });

  it("builds an extra region's clients with the same limits, in that region", () => {
    const before = built.length;

    regionalAwsClients(config.aws)('eu-central-1');

    expect(built.slice(before)).toEqual([
      { client: 'SSMClient', options: { region: 'eu-central-1', ...bounded } },
      { client: 'SecretsManagerClient', options: { region: 'eu-central-1', ...bounded } },
    ]);
  });

  it('the options given are exactly those awsClientOptions makes of the limits', () => {
    expect(awsClientOptions(limits)).toEqual(bounded);
  });
});
