import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ListSecretsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ListTopicsCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
// Not a dependency of ours: the SDK clients' own HTTP handler, which they depend on and which npm hoists.
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { awsClientConfig } from '#harness/aws-clients.ts';
import { startAwsFaultProxy } from '#harness/aws-fault-proxy.ts';
import { uniqueName } from '#harness/unique-name.ts';
import { waitFor } from '#harness/wait-for.ts';
import { harness } from './shared-harness.ts';

/** What an SDK v3 call surfaced: its result's metadata, or the error's name, fault and metadata. */
interface Outcome {
  ok: boolean;
  name?: string;
  code?: string;
  fault?: string;
  status?: number;
  attempts?: number;
  ms: number;
}

interface SdkError {
  name?: string;
  code?: string;
  $fault?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
}

async function outcome(call: Promise<{ $metadata: { attempts?: number } }>): Promise<Outcome> {
  const started = Date.now();
  try {
    const result = await call;
    return { ok: true, attempts: result.$metadata.attempts ?? 0, ms: Date.now() - started };
  } catch (e: unknown) {
    const error = e as SdkError;
    return {
      ok: false,
      ...(error.name === undefined ? {} : { name: error.name }),
      ...(error.code === undefined ? {} : { code: error.code }),
      ...(error.$fault === undefined ? {} : { fault: error.$fault }),
      ...(error.$metadata?.httpStatusCode === undefined ? {} : { status: error.$metadata.httpStatusCode }),
      ...(error.$metadata?.attempts === undefined ? {} : { attempts: error.$metadata.attempts }),
      ms: Date.now() - started,
    };
  }
}

describe('harness AWS fault proxy', () => {
  const h = harness();
  const { info } = h;
  // Three attempts, so that "the SDK retried" and "the SDK gave up" are both visible in $metadata.attempts.
  const config = { ...awsClientConfig(info, { faultProxy: true }), maxAttempts: 3 };
  const ssm = new SSMClient(config);
  const directSsm = new SSMClient(awsClientConfig(info));
  const secrets = new SecretsManagerClient(config);
  const dynamo = new DynamoDBClient(config);
  const sns = new SNSClient(config);
  const clients = [ssm, directSsm, secrets, dynamo, sns];

  beforeEach(async () => {
    await h.awsFaults.clear();
    await h.awsFaults.resetCounts();
  });

  afterEach(async () => {
    await h.awsFaults.clear();
  });

  afterAll(() => {
    for (const client of clients) client.destroy();
  });

  const newParameter = async (value: string): Promise<string> => {
    const name = `/mm2-failover/${uniqueName('fault')}/active`;
    await directSsm.send(new PutParameterCommand({ Name: name, Value: value, Type: 'String' }));
    return name;
  };

  it('forwards every call untouched, and counts it, while no fault is in force', async () => {
    // Arrange
    const name = `/mm2-failover/${uniqueName('fault')}/active`;

    // Act
    const put = await ssm.send(new PutParameterCommand({ Name: name, Value: '{"epoch":1}', Type: 'String' }));
    const read = await ssm.send(new GetParameterCommand({ Name: name }));

    // Assert
    expect(put.Version).toBe(1);
    expect(read.Parameter?.Value).toBe('{"epoch":1}');
    expect(await h.awsFaults.counts()).toEqual({
      seen: { 'ssm:PutParameter': 1, 'ssm:GetParameter': 1 },
      faulted: {},
      hanging: 0,
    });
  });

  it('delays the selected operation by the injected latency and leaves the others alone', async () => {
    // Arrange
    const name = await newParameter('slow');
    await h.awsFaults.set({ kind: 'latency', ms: 700, service: 'ssm', operation: 'GetParameter' });

    // Act
    const slow = await outcome(ssm.send(new GetParameterCommand({ Name: name })));
    await ssm.send(new PutParameterCommand({ Name: name, Value: 'fast', Type: 'String', Overwrite: true }));

    // Assert
    expect(slow.ok).toBe(true);
    expect(slow.ms).toBeGreaterThanOrEqual(700);
    expect((await h.awsFaults.counts()).faulted).toEqual({ 'ssm:GetParameter': 1 });
  });

  it('throttles SSM as AWS does: ThrottlingException, retried by the SDK until its attempts run out', async () => {
    // Arrange
    const name = await newParameter('throttled');
    await h.awsFaults.set({ kind: 'throttle', service: 'ssm', operation: 'GetParameter' });

    // Act
    const result = await outcome(ssm.send(new GetParameterCommand({ Name: name })));

    // Assert
    expect(result).toMatchObject({
      ok: false,
      name: 'ThrottlingException',
      fault: 'client',
      status: 400,
      attempts: 3,
    });
    expect((await h.awsFaults.counts()).seen['ssm:GetParameter']).toBe(3);
  });

  it('lets the SDK retry through when only the next call is throttled, writing once', async () => {
    // Arrange
    const name = `/mm2-failover/${uniqueName('fault')}/active`;
    await h.awsFaults.set({ kind: 'throttle', service: 'ssm', operation: 'PutParameter', times: 1 });

    // Act
    const put = await ssm.send(new PutParameterCommand({ Name: name, Value: 'once', Type: 'String' }));

    // Assert
    expect(put.$metadata.attempts).toBe(2);
    expect(put.Version).toBe(1);
    expect((await h.awsFaults.counts()).faulted).toEqual({ 'ssm:PutParameter': 1 });
  });

  it('throttles DynamoDB with ProvisionedThroughputExceededException', async () => {
    // Arrange
    await h.awsFaults.set({ kind: 'throttle', service: 'dynamodb' });

    // Act
    const result = await outcome(dynamo.send(new ListTablesCommand({})));

    // Assert
    expect(result).toMatchObject({
      ok: false,
      name: 'ProvisionedThroughputExceededException',
      fault: 'client',
      status: 400,
      attempts: 3,
    });
  });

  it('throttles SNS through its query protocol with the XML Throttling error', async () => {
    // Arrange
    await h.awsFaults.set({ kind: 'throttle', service: 'sns', operation: 'ListTopics' });

    // Act
    const result = await outcome(sns.send(new ListTopicsCommand({})));

    // Assert
    expect(result).toMatchObject({
      ok: false,
      name: 'Throttling',
      fault: 'client',
      status: 400,
      attempts: 3,
    });
  });

  it('answers Secrets Manager with 503 ServiceUnavailable and 500 InternalServiceError, both retried', async () => {
    // Act
    await h.awsFaults.set({ kind: 'server-error', status: 503, service: 'secretsmanager' });
    const unavailable = await outcome(secrets.send(new ListSecretsCommand({})));
    await h.awsFaults.set({ kind: 'server-error', status: 500, service: 'secretsmanager' });
    const internal = await outcome(secrets.send(new ListSecretsCommand({})));

    // Assert
    expect(unavailable).toMatchObject({
      ok: false,
      name: 'ServiceUnavailable',
      fault: 'server',
      status: 503,
      attempts: 3,
    });
    expect(internal).toMatchObject({
      ok: false,
      name: 'InternalServiceError',
      fault: 'server',
      status: 500,
      attempts: 3,
    });
  });

  it("turns a hang into a TimeoutError by the client's requestTimeout, once per attempt", async () => {
    // Arrange
    const name = await newParameter('hung');
    // requestTimeout alone only logs a warning in this SDK: throwOnRequestTimeout makes it end the call.
    const patient = new SSMClient({
      ...config,
      maxAttempts: 2,
      // The SDK builds its Node handler from these options: no import of @smithy/node-http-handler needed.
      requestHandler: { requestTimeout: 800, throwOnRequestTimeout: true },
    });
    await h.awsFaults.set({ kind: 'hang', service: 'ssm', operation: 'GetParameter' });

    try {
      // Act
      const result = await outcome(patient.send(new GetParameterCommand({ Name: name })));

      // Assert
      expect(result).toMatchObject({ ok: false, name: 'TimeoutError', attempts: 2 });
      expect(result.ms).toBeGreaterThanOrEqual(1_600);
      // The client closed both connections on timeout: the proxy holds nothing any more.
      await waitFor(async () => (await h.awsFaults.counts()).hanging === 0, {
        timeoutMs: 5_000,
        what: 'the proxy to let go of the timed-out calls',
      });
      expect((await h.awsFaults.counts()).faulted).toEqual({ 'ssm:GetParameter': 2 });
    } finally {
      patient.destroy();
    }
  });

  it('holds a hung call until clear() resets its connection, and the SDK retry then succeeds', async () => {
    // Arrange
    const name = await newParameter('released');
    await h.awsFaults.set({ kind: 'hang', service: 'ssm', operation: 'GetParameter', times: 1 });
    let settled = false;
    const call = outcome(ssm.send(new GetParameterCommand({ Name: name }))).finally(() => {
      settled = true;
    });
    await waitFor(async () => (await h.awsFaults.counts()).hanging === 1, {
      timeoutMs: 10_000,
      what: 'the call to hang in the proxy',
    });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const settledWhileHung = settled;

    // Act
    await h.awsFaults.clear();
    const result = await call;

    // Assert
    expect(settledWhileHung).toBe(false);
    expect(result).toMatchObject({ ok: true, attempts: 2 });
    expect((await h.awsFaults.counts()).hanging).toBe(0);
  });

  it('resets the connection: the SDK sees ECONNRESET, retries, and fails once its attempts run out', async () => {
    // Arrange
    const name = await newParameter('reset');
    await h.awsFaults.set({ kind: 'reset', service: 'ssm', operation: 'GetParameter' });

    // Act
    const result = await outcome(ssm.send(new GetParameterCommand({ Name: name })));

    // Assert
    expect(result).toMatchObject({ ok: false, code: 'ECONNRESET', attempts: 3 });
  });

  it('applies the write before resetting when asked: the caller sees a failure, moto has the value', async () => {
    // Arrange
    const name = await newParameter('{"epoch":1}');
    const once = new SSMClient({ ...config, maxAttempts: 1 });
    await h.awsFaults.set({ kind: 'reset', applied: true, service: 'ssm', operation: 'PutParameter' });

    try {
      // Act
      const put = await outcome(
        once.send(
          new PutParameterCommand({ Name: name, Value: '{"epoch":2}', Type: 'String', Overwrite: true }),
        ),
      );
      const stored = await directSsm.send(new GetParameterCommand({ Name: name }));

      // Assert
      expect(put).toMatchObject({ ok: false, code: 'ECONNRESET', attempts: 1 });
      expect(stored.Parameter?.Value).toBe('{"epoch":2}');
      expect(stored.Parameter?.Version).toBe(2);
    } finally {
      once.destroy();
    }
  });

  it('lets calls through again after clear()', async () => {
    // Arrange
    const name = await newParameter('back');
    await h.awsFaults.set({ kind: 'server-error', status: 500, service: 'ssm' });
    const during = await outcome(ssm.send(new GetParameterCommand({ Name: name })));

    // Act
    await h.awsFaults.clear();
    const after = await outcome(ssm.send(new GetParameterCommand({ Name: name })));

    // Assert
    expect(during).toMatchObject({ ok: false, name: 'InternalServerError' });
    expect(after).toMatchObject({ ok: true, attempts: 1 });
  });

  it('refuses a fault that does not parse with 400, naming the field', async () => {
    // Act
    const response = await fetch(`${info.controlUrl}/aws-faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'latency', service: 'ssm' }),
    });
    const body = (await response.json()) as { error?: string };

    // Assert
    expect(response.status).toBe(400);
    expect(body.error).toMatch(/invalid AWS fault[\s\S]*- ms: /);
    expect((await h.awsFaults.counts()).seen).toEqual({});
  });
});

describe('harness AWS fault proxy, in-process', () => {
  const { info } = harness();

  it('draws probabilistic faults from a seed: the same seed hits the same calls', async () => {
    // Arrange
    const moto = info.moto;
    if (moto === undefined) throw new Error('expected the shared harness with moto');
    const proxy = await startAwsFaultProxy({ upstream: moto.endpoint });
    const ssm = new SSMClient({ ...awsClientConfig(info), endpoint: proxy.endpoint, maxAttempts: 1 });
    const name = `/mm2-failover/${uniqueName('fault')}/active`;
    await ssm.send(new PutParameterCommand({ Name: name, Value: 'coin', Type: 'String' }));
    const pattern = async (): Promise<boolean[]> => {
      const hits: boolean[] = [];
      for (let i = 0; i < 16; i += 1) {
        hits.push(!(await outcome(ssm.send(new GetParameterCommand({ Name: name })))).ok);
      }
      return hits;
    };

    try {
      // Act
      proxy.set({ kind: 'server-error', status: 503, operation: 'GetParameter', probability: 0.5, seed: 42 });
      const first = await pattern();
      proxy.set({ kind: 'server-error', status: 503, operation: 'GetParameter', probability: 0.5, seed: 42 });
      const second = await pattern();
      proxy.set({ kind: 'server-error', status: 503, operation: 'GetParameter', probability: 0.5, seed: 7 });
      const otherSeed = await pattern();

      // Assert
      expect(second).toEqual(first);
      expect(otherSeed).not.toEqual(first);
      expect(first).toContain(true);
      expect(first).toContain(false);
      expect(proxy.counts().faulted['ssm:GetParameter']).toBe(
        [...first, ...second, ...otherSeed].filter(Boolean).length,
      );
    } finally {
      ssm.destroy();
      await proxy.close();
    }
  });
});
