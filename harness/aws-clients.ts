import type { HarnessInfo } from './info.ts';

/** Constructor options for any AWS SDK v3 client, pointed at the harness's moto server. */
export interface MotoClientConfig {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  maxAttempts: number;
}

export interface AwsClientOptions {
  /**
   * Send the calls through the AWS fault proxy in front of moto, so that the faults set with
   * `awsFaults.set(...)` reach this client. Default false: straight to moto, never faulted.
   */
  faultProxy?: boolean;
}

/**
 * @example
 * const ssm = new SSMClient(awsClientConfig(harness().info));
 * const faultedSsm = new SSMClient(awsClientConfig(harness().info, { faultProxy: true }));
 */
export function awsClientConfig(info: HarnessInfo, options: AwsClientOptions = {}): MotoClientConfig {
  const { moto } = info;
  if (moto === undefined)
    throw new Error(`harness ${info.runId} runs without moto: start it with { moto: true }`);
  return {
    endpoint: options.faultProxy ? moto.faultProxyEndpoint : moto.endpoint,
    region: moto.region,
    // moto accepts any credentials; these only keep the SDK from looking for real ones.
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    maxAttempts: 2,
  };
}

/** The same, as environment variables for a child process (the AWS SDKs read `AWS_ENDPOINT_URL`). */
export function awsEnvironment(info: HarnessInfo, options: AwsClientOptions = {}): Record<string, string> {
  const config = awsClientConfig(info, options);
  return {
    AWS_ENDPOINT_URL: config.endpoint,
    AWS_REGION: config.region,
    AWS_DEFAULT_REGION: config.region,
    AWS_ACCESS_KEY_ID: config.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: config.credentials.secretAccessKey,
  };
}
