import type { HarnessInfo } from './info.ts';

/** Constructor options for any AWS SDK v3 client, pointed at the harness's moto server. */
export interface MotoClientConfig {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  maxAttempts: number;
}

/**
 * @example
 * const ssm = new SSMClient(awsClientConfig(harness().info));
 */
export function awsClientConfig(info: HarnessInfo): MotoClientConfig {
  const { moto } = info;
  if (moto === undefined)
    throw new Error(`harness ${info.runId} runs without moto: start it with { moto: true }`);
  return {
    endpoint: moto.endpoint,
    region: moto.region,
    // moto accepts any credentials; these only keep the SDK from looking for real ones.
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    maxAttempts: 2,
  };
}

/** The same, as environment variables for a child process (the AWS SDKs read `AWS_ENDPOINT_URL`). */
export function awsEnvironment(info: HarnessInfo): Record<string, string> {
  const config = awsClientConfig(info);
  return {
    AWS_ENDPOINT_URL: config.endpoint,
    AWS_REGION: config.region,
    AWS_DEFAULT_REGION: config.region,
    AWS_ACCESS_KEY_ID: config.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: config.credentials.secretAccessKey,
  };
}
