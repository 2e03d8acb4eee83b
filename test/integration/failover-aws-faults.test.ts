import { GetParameterHistoryCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { awsClientConfig } from '#harness/aws-clients.ts';
import type { AwsFault } from '#harness/aws-fault.ts';
import { CountingAws, createDeployment, type Deployment } from '#harness/fixtures/failover-deployment.ts';
import { createAwsStores } from '#shared/client/index.ts';
import { describeError, LockHeldError } from '#shared/errors.ts';
import { type FailoverResult, runFailover } from '#shared/failover/failover.ts';
import { parseFailoverInput } from '#shared/failover/input.ts';
import { readActiveOnce } from '#shared/store/active-config.ts';
import { inspectAtRest } from '#shared/switch/at-rest.ts';
import { harness } from './shared-harness.ts';

/**
 * The failover's real code (the wiring the handler uses, on the harness's Kafka and moto) with its AWS clients
 * going through the AWS fault proxy: slow, throttled, failing and hung AWS. Each test has a deployment of its own
 * and forces a manual failover, so that the primary keeps running for the other files.
 */

/** Tighter than the defaults so that a hang costs seconds; moto answers in milliseconds even on a busy machine. */
const limits = { connectTimeoutMs: 1_000, requestTimeoutMs: 2_000, maxAttempts: 3 };
/** The SDK's back-off between the attempts of a timed-out call: under 200 ms, then under 400 ms. */
const BACKOFF_MS = 600;
/** Everything else a forced failover does, on a machine that several engineers' tests share. */
const REST_OF_FAILOVER_MS = 15_000;

const forced = (invocationId: string) => ({
  ...parseFailoverInput({
    action: 'failover',
    reason: 'AWS fault test',
    requestedBy: 'integration test',
    force: true,
  }),
  invocationId,
});

/** Every message down an error's `cause` chain, in one line. */
function chainOf(e: unknown): string {
  const messages: string[] = [];
  for (let c: unknown = e; c !== undefined && messages.length < 10; c = (c as { cause?: unknown }).cause) {
    messages.push(describeError(c));
  }
  return messages.join(' <- ');
}

describe('failover against a degraded AWS (the fault proxy in front of moto)', () => {
  const h = harness();
  const { info } = h;
  // The failover's clients, through the proxy; the observers' clients go straight to moto and never see a fault.
  const aws = new CountingAws(info, { faultProxy: true, limits });
  const direct = awsClientConfig(info);
  const observerStores = createAwsStores(direct);
  const observerSsm = new SSMClient(direct);
  const deployments: Deployment[] = [];

  afterEach(async () => {
    await h.awsFaults.clear();
  });

  afterAll(async () => {
    await h.awsFaults.clear();
    await Promise.all(deployments.map((d) => d.close()));
    aws.destroy();
    observerSsm.destroy();
  });

  async function deployment(): Promise<Deployment> {
    const d = await createDeployment(info, aws, { topics: ['orders'], aws: limits });
    deployments.push(d);
    return d;
  }

  /** The distinct epochs the active parameter ever held, from SSM's own history: one switch is [0, 1]. */
  async function parameterEpochs(d: Deployment): Promise<number[]> {
    const out = await observerSsm.send(new GetParameterHistoryCommand({ Name: d.paths.activeParameter }));
    const epochs = (out.Parameters ?? []).map(
      (p) => (JSON.parse(p.Value ?? '{}') as { epoch: number }).epoch,
    );
    return [...new Set(epochs)];
  }

  /**
   * Reads the active configuration as clients do, while `during` runs, and returns every read that paired one
   * cluster's address with another's credentials or epochs (none is the only right answer).
   */
  async function mixedReadsWhile(d: Deployment, during: Promise<unknown>): Promise<string[]> {
    const mixed: string[] = [];
    let done = false;
    const settled = during.finally(() => {
      done = true;
    });
    settled.catch(() => {});
    while (!done) {
      const read = await readActiveOnce(observerStores, d.paths);
      if (read.kind === 'consistent') {
        const credentials = read.credentials.reveal();
        if (credentials.cluster !== read.config.cluster || credentials.epoch !== read.config.epoch)
          mixed.push(`parameter epoch ${read.config.epoch} with the secret of epoch ${credentials.epoch}`);
      }
    }
    return mixed;
  }

  it('completes exactly one switch when every AWS call is slow, with two invocations racing', async () => {
    // Arrange
    const d = await deployment();
    await h.awsFaults.resetCounts();
    await h.awsFaults.set({ kind: 'latency', ms: 400 });

    // Act: two containers, as an alarm's event and its retry would be.
    const outcomes = await Promise.allSettled([
      runFailover(forced('slow-1'), d.deps()),
      runFailover(forced('slow-2'), d.deps()),
    ]);

    // Assert: one switched; the other found the lock held or the secondary active.
    const results = outcomes.map((o) =>
      o.status === 'fulfilled'
        ? o.value.status
        : o.reason instanceof LockHeldError
          ? 'lock-held'
          : describeError(o.reason),
    );
    expect(results.filter((r) => r === 'switched')).toHaveLength(1);
    expect(results.every((r) => ['switched', 'lock-held', 'already-active'].includes(r))).toBe(true);
    expect((await h.awsFaults.counts()).faulted['ssm:PutParameter']).toBeGreaterThan(0);
    expect(await parameterEpochs(d)).toEqual([0, 1]);
  });

  it('retries throttling and 5xx bursts on every service and completes exactly one switch', async () => {
    // Arrange: each burst is shorter than the attempts a call has.
    const d = await deployment();
    const bursts: AwsFault[] = [
      { kind: 'throttle', service: 'dynamodb', times: 2 },
      { kind: 'server-error', status: 503, service: 'secretsmanager', operation: 'PutSecretValue', times: 2 },
      { kind: 'throttle', service: 'ssm', operation: 'PutParameter', times: 2 },
      { kind: 'server-error', status: 500, service: 'sns', operation: 'Publish', times: 2 },
    ];
    await h.awsFaults.resetCounts();
    await h.awsFaults.set(bursts);

    // Act
    const result = await runFailover(forced('bursts'), d.deps());

    // Assert
    expect(result).toMatchObject({ status: 'switched', epoch: 1, notified: true });
    const { seen, faulted } = await h.awsFaults.counts();
    for (const key of ['secretsmanager:PutSecretValue', 'ssm:PutParameter', 'sns:Publish']) {
      expect(faulted[key], key).toBe(2);
      expect(seen[key], key).toBeGreaterThan(2);
    }
    expect(Object.entries(faulted).filter(([k]) => k.startsWith('dynamodb:'))).not.toEqual([]);
    expect(await parameterEpochs(d)).toEqual([0, 1]);
  });

  it.each([
    {
      what: 'the secret write hangs (nothing written yet)',
      fault: { kind: 'hang', service: 'secretsmanager', operation: 'PutSecretValue' },
      resource: 'secret',
      leftAtRest: { secret: 0, parameter: 0 },
    },
    {
      what: 'the parameter write hangs (between the secret and the parameter)',
      fault: { kind: 'hang', service: 'ssm', operation: 'PutParameter' },
      resource: 'parameter',
      leftAtRest: { secret: 1, parameter: 0 },
    },
    {
      what: 'the parameter write lands but its answer never comes',
      fault: { kind: 'hang', service: 'ssm', operation: 'PutParameter', applied: true },
      resource: 'parameter',
      leftAtRest: { secret: 1, parameter: 1 },
    },
  ] satisfies Array<{
    what: string;
    fault: AwsFault;
    resource: 'secret' | 'parameter';
    /** The epochs at rest after the failed invocation: the secret is written first, so never behind. */
    leftAtRest: { secret: number; parameter: number };
  }>)(
    'fails within its budget naming the hung call when $what; no reader sees a torn pair; the next invocation completes the switch',
    async ({ fault, resource, leftAtRest }) => {
      // Arrange
      const d = await deployment();
      await h.awsFaults.set(fault);
      const budgetMs = limits.maxAttempts * limits.requestTimeoutMs + BACKOFF_MS + REST_OF_FAILOVER_MS;

      // Act
      const started = Date.now();
      const failing = runFailover(forced('hung'), d.deps());
      const mixed = await mixedReadsWhile(d, failing);
      const error = await failing.then(
        (r: FailoverResult) => new Error(`expected the failover to fail, it answered ${r.status}`),
        (e: unknown) => e,
      );
      const failedAfterMs = Date.now() - started;
      const atRestAfterFailure = await inspectAtRest(observerStores, d.paths);
      await h.awsFaults.clear();
      const next = await runFailover(forced('after-the-fault'), d.deps());
      const atRest = await inspectAtRest(observerStores, d.paths);

      // Assert: a clear failure, in time, naming what hung.
      const name = resource === 'secret' ? d.paths.activeCredentialsSecret : d.paths.activeParameter;
      expect(chainOf(error)).toContain(`${resource} ${name}`);
      expect(chainOf(error)).toContain('TimeoutError');
      expect(failedAfterMs).toBeGreaterThanOrEqual(limits.requestTimeoutMs);
      expect(failedAfterMs).toBeLessThan(budgetMs);
      // Nothing torn that a reader could take: the secret is written first, so at worst it is one epoch ahead,
      // which readers see as a switch in flight, and never a mixed pair.
      expect(mixed).toEqual([]);
      expect(atRestAfterFailure).toMatchObject({
        secret: { state: 'ok', epoch: leftAtRest.secret },
        parameter: { state: 'ok', epoch: leftAtRest.parameter },
      });
      // One more invocation leaves it consistent: both halves and the plain parameter at epoch 1.
      expect(next).toMatchObject({ status: 'switched', epoch: 1 });
      expect(atRest).toMatchObject({
        parameter: { state: 'ok', epoch: 1, cluster: 'secondary' },
        secret: { state: 'ok', epoch: 1, cluster: 'secondary' },
        plainMatches: true,
      });
      expect(await parameterEpochs(d)).toEqual([0, 1]);
    },
  );
});
