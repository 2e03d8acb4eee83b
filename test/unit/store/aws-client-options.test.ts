import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterEach, describe, expect, it } from 'vitest';
import { deploymentConfigSchema } from '#shared/config/schema.ts';
import { Mm2FailoverError } from '#shared/errors.ts';
import { awsClientOptions, defaultAwsCallLimits } from '#shared/store/aws-client-options.ts';
import { createAwsStores } from '#shared/store/aws-stores.ts';

/**
 * A fake AWS endpoint on loopback that reads every request and never answers: what a hung service looks like to
 * the SDK. It counts the requests (the SDK's attempts) and closes the held connections when the test is done.
 */
async function hungEndpoint(): Promise<{ endpoint: string; requests: number; close(): Promise<void> }> {
  const held: IncomingMessage[] = [];
  const server: Server = createServer((request) => {
    held.push(request);
    request.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    get requests() {
      return held.length;
    },
    close: async () => {
      for (const r of held) r.socket.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const offline = { region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanup.map((c) => c()));
  cleanup = [];
});

/** How long `call` took to settle, and how: a guard ends the wait, so a call that hangs fails the test. */
async function timed(call: Promise<unknown>, guardMs: number): Promise<{ ms: number; error: unknown }> {
  const started = Date.now();
  let guard: NodeJS.Timeout | undefined;
  const error = await Promise.race([
    call.then(
      () => new Error('expected the call to fail'),
      (e: unknown) => e,
    ),
    new Promise((resolve) => {
      guard = setTimeout(() => resolve(new Error(`still waiting after ${guardMs} ms`)), guardMs);
    }),
  ]);
  clearTimeout(guard);
  return { ms: Date.now() - started, error };
}

describe('awsClientOptions', () => {
  it('bounds a client by the defaults: 3 s to connect, 5 s per attempt, 3 attempts, timeouts thrown', () => {
    expect(awsClientOptions()).toEqual({
      maxAttempts: 3,
      requestHandler: { connectionTimeout: 3_000, requestTimeout: 5_000, throwOnRequestTimeout: true },
    });
  });

  it('takes the limits given and keeps the default of a limit given as undefined', () => {
    expect(awsClientOptions({ requestTimeoutMs: 800, maxAttempts: undefined })).toEqual({
      maxAttempts: 3,
      requestHandler: { connectionTimeout: 3_000, requestTimeout: 800, throwOnRequestTimeout: true },
    });
  });

  it("is what the deployment config's aws section defaults to", () => {
    const { aws } = deploymentConfigSchema.parse({
      name: 'd',
      mode: 'active-passive',
      replicationPolicy: 'identity',
      clusters: { primary: { alias: 'a', auth: 'none' }, secondary: { alias: 'b', auth: 'none' } },
      topics: ['t'],
      mirror: { kind: 'manual' },
    });

    expect(aws).toEqual(defaultAwsCallLimits);
  });

  it('ends a call the endpoint never answers with a TimeoutError after maxAttempts attempts', async () => {
    const hung = await hungEndpoint();
    cleanup.push(hung.close);
    const ssm = new SSMClient({
      ...offline,
      endpoint: hung.endpoint,
      ...awsClientOptions({ requestTimeoutMs: 300, maxAttempts: 2 }),
    });
    cleanup.push(async () => ssm.destroy());

    const { ms, error } = await timed(ssm.send(new GetParameterCommand({ Name: '/p' })), 5_000);

    // Two attempts of 300 ms and one back-off (at most 200 ms for a timeout), on a busy machine.
    expect((error as Error).name).toBe('TimeoutError');
    expect(hung.requests).toBe(2);
    expect(ms).toBeGreaterThanOrEqual(600);
    expect(ms).toBeLessThan(3_000);
  });
});

describe('createAwsStores', () => {
  it('bounds its reads: a hung parameter read fails within the limits, naming the parameter', async () => {
    const hung = await hungEndpoint();
    cleanup.push(hung.close);
    const stores = createAwsStores({
      ...offline,
      endpoint: hung.endpoint,
      requestTimeoutMs: 300,
      maxAttempts: 1,
    });

    const { ms, error } = await timed(stores.parameters.get('/mm2-failover/d/active'), 5_000);

    expect(error).toBeInstanceOf(Mm2FailoverError);
    expect((error as Error).message).toBe(
      'AWS call on parameter /mm2-failover/d/active failed: TimeoutError (ETIMEDOUT)',
    );
    expect(hung.requests).toBe(1);
    expect(ms).toBeLessThan(2_000);
  });

  it('bounds its secret reads by default too: one attempt of a hung read ends at the 5 s default', async () => {
    const hung = await hungEndpoint();
    cleanup.push(hung.close);
    const stores = createAwsStores({ ...offline, endpoint: hung.endpoint, maxAttempts: 1 });

    const { ms, error } = await timed(stores.secrets.get('mm2-failover/d/active-credentials'), 9_000);

    expect((error as Error).message).toBe(
      'AWS call on secret mm2-failover/d/active-credentials failed: TimeoutError (ETIMEDOUT)',
    );
    expect(ms).toBeGreaterThanOrEqual(5_000);
    expect(ms).toBeLessThan(8_000);
  }, 12_000);
});
