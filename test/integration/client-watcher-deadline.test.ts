import { afterEach, describe, expect, it } from 'vitest';
import { awsClientConfig } from '#harness/aws-clients.ts';
import { waitFor } from '#harness/wait-for.ts';
import { ActiveConfigWatcher, createAwsStores } from '#shared/client/index.ts';
import { newDeployment } from './client-deployment.ts';
import { harness } from './shared-harness.ts';

// The watcher's own deadline against SSM and Secrets Manager endpoints that accept connections and never answer
// (the harness's AWS fault proxy, `hang`): polls fail at the deadline, the last good configuration stays, and the
// next switch is followed once the endpoints answer again. Short deadline, short interval: a few seconds in all.
const POLL_TIMEOUT_MS = 1_500;
const DEADLINE_MESSAGE = `within ${POLL_TIMEOUT_MS} ms (pollTimeoutMs), got no answer in time`;

describe('active configuration watcher against hung AWS endpoints (AWS fault proxy)', () => {
  const h = harness();
  const { info } = h;
  const direct = createAwsStores(awsClientConfig(info));
  const faulted = createAwsStores(awsClientConfig(info, { faultProxy: true }));

  afterEach(async () => {
    await h.awsFaults.clear();
  });

  it('keeps the last good configuration while SSM, then Secrets Manager, hang, and follows the switch once they answer', async () => {
    // Arrange
    const d = newDeployment(info, direct);
    await d.switchTo(1, 'primary');
    const failures: Array<{ message: string; at: number }> = [];
    const switches: number[] = [];
    const watcher = new ActiveConfigWatcher({
      deployment: d.name,
      stores: faulted,
      kafka: { clientId: 'client-watcher-deadline-test' },
      intervalMs: 300,
      jitter: 0,
      pollTimeoutMs: POLL_TIMEOUT_MS,
      onError: (e) => failures.push({ message: e.message, at: Date.now() }),
    });
    await watcher.start();
    watcher.subscribe((next) => {
      switches.push(next.epoch);
    });
    await h.awsFaults.resetCounts();

    try {
      // Act 1: both services hang; a watcher starting now cannot start.
      const hungAt = Date.now();
      await h.awsFaults.set([
        { kind: 'hang', service: 'ssm' },
        { kind: 'hang', service: 'secretsmanager' },
      ]);
      await waitFor(() => failures.length >= 2, { timeoutMs: 30_000, what: 'two polls failing on hung SSM' });
      const firstFailureAfterMs = (failures[0]?.at ?? 0) - hungAt;
      const starting = await new ActiveConfigWatcher({
        deployment: d.name,
        stores: faulted,
        kafka: { clientId: 'client-watcher-deadline-test' },
        pollTimeoutMs: POLL_TIMEOUT_MS,
      })
        .start()
        .then(
          () => 'started',
          (e: unknown) => (e as Error).message,
        );

      // Act 2: the switch is written (straight to moto); SSM answers again, Secrets Manager still hangs.
      await d.switchTo(2, 'secondary');
      await h.awsFaults.set({ kind: 'hang', service: 'secretsmanager' });
      const secretHangFrom = failures.length;
      // A poll that was already waiting on the hung SSM when it came back can fail after this point too: count
      // the polls that reached the secret, not just the failures.
      const secretReads = async () => (await h.awsFaults.counts()).seen['secretsmanager:GetSecretValue'] ?? 0;
      await waitFor(async () => failures.length >= secretHangFrom + 2 && (await secretReads()) >= 2, {
        timeoutMs: 30_000,
        what: 'two polls failing on a hung Secrets Manager after the switch',
      });
      const epochWhileSecretHung = watcher.current().epoch;
      const counts = (await h.awsFaults.counts()).seen;

      // Act 3: both answer.
      await h.awsFaults.clear();
      await waitFor(() => watcher.current().epoch === 2, {
        timeoutMs: 30_000,
        what: 'the watcher to follow the switch once the endpoints answer',
      });

      // Assert
      expect(firstFailureAfterMs).toBeLessThan(POLL_TIMEOUT_MS + 300 + 10_000);
      expect(failures.every((f) => f.message.endsWith(DEADLINE_MESSAGE))).toBe(true);
      expect(starting).toContain(DEADLINE_MESSAGE);
      expect(epochWhileSecretHung).toBe(1);
      expect(counts['ssm:GetParameter']).toBeGreaterThanOrEqual(3);
      expect(counts['secretsmanager:GetSecretValue']).toBeGreaterThanOrEqual(2);
      expect(switches).toEqual([2]);
      expect(watcher.current().cluster).toBe('secondary');
      expect(watcher.status()).toMatchObject({ epoch: 2, consecutiveFailures: 0 });
    } finally {
      await h.awsFaults.clear();
      await watcher.stop();
    }
  }, 120_000);
});
