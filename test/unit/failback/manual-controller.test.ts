import { describe, expect, it } from 'vitest';
import { ManualController } from '#shared/failback/manual-controller.ts';
import type { MirrorStep } from '#shared/failback/payload.ts';

const controller = (confirmed: MirrorStep[] = []) =>
  new ManualController({
    primaryAlias: 'primary',
    secondaryAlias: 'secondary',
    confirmed: new Set(confirmed),
  });

describe('ManualController', () => {
  it('waits for the operator with the exact step and how to confirm it', async () => {
    // Act
    const outcome = await controller().stopForward();

    // Assert
    expect(outcome.done).toBe(false);
    expect(outcome.done === false && outcome.waitingFor).toBe('stop-forward');
    expect(outcome.done === false && outcome.instructions.join('\n')).toContain(
      '"mirrorConfirmed": "stop-forward"',
    );
  });

  it('gives the forward offsets to set, as a Kafka Connect offsets body, before restarting the forward flow', async () => {
    // Act
    const outcome = await controller().startForward([
      { topic: 'orders', partition: 0, offset: 120 },
      { topic: 'orders', partition: 1, offset: 0 },
    ]);

    // Assert
    const text = outcome.done === false ? outcome.instructions.join('\n') : '';
    expect(text).toContain('orders[0]: first offset to copy 120');
    expect(text).toContain(
      '{"offsets":[{"partition":{"cluster":"primary","topic":"orders","partition":0},"offset":{"offset":119}},{"partition":{"cluster":"primary","topic":"orders","partition":1},"offset":null}]}',
    );
  });

  it('is done once the step was confirmed', async () => {
    // Act
    const outcome = await controller(['start-reverse']).startReverse({
      topics: ['orders'],
      excludeTopics: ['q'],
      groups: [],
      runId: 'run-A',
      requestedBefore: false,
    });

    // Assert
    expect(outcome).toEqual({ done: true, detail: "operator confirmed 'start-reverse'" });
  });
});
