import { describe, expect, it } from 'vitest';
import { Detection } from '#drill/detection.ts';
import { drillConfig } from '#drill/drill-config.ts';
import type { FailoverAnswer } from '#drill/functions.ts';
import type { Datapoint } from '#shared/alarms/evaluate.ts';
import { alarmSpecs } from '#shared/alarms/specs.ts';
import { harnessInfo, recorder } from './fakes.ts';

const specs = alarmSpecs(drillConfig(harnessInfo()));

/** What the probe emits every 2 s from 40 s to 88 s: the primary up until 70 s and down after. */
function probeHistory(): Datapoint[] {
  const points: Datapoint[] = [];
  for (let t = 40_000; t <= 88_000; t += 2_000) {
    points.push(
      { metricName: 'ProberHeartbeat', timestampMs: t, value: 1 },
      { metricName: 'ClusterUp', cluster: 'primary', timestampMs: t, value: t < 70_000 ? 1 : 0 },
      { metricName: 'ClusterUp', cluster: 'secondary', timestampMs: t, value: 1 },
      { metricName: 'ReplicationLagSeconds', cluster: 'secondary', timestampMs: t, value: 0.5 },
    );
  }
  return points;
}

function detectionWith(points: Datapoint[], options: { retryDelaysMs?: readonly number[] } = {}) {
  const { record, lines } = recorder(0);
  const detection = new Detection(specs, record, options);
  detection.points.push(...points);
  return { detection, lines };
}

describe('drill detection', () => {
  it('is steady only once evaluated with every alarm OK', () => {
    const { detection } = detectionWith(probeHistory());

    const before = detection.steady;
    detection.evaluate(80_000, async () => ({ status: 'switched', epoch: 1 }));

    expect(before).toBe(false);
    expect(detection.steady).toBe(true);
  });

  it('invokes failover once when the composite goes to ALARM, however often it is evaluated after', async () => {
    const { detection, lines } = detectionWith(probeHistory());
    let invocations = 0;
    const failover = async (): Promise<FailoverAnswer> => {
      invocations++;
      return { status: 'switched', epoch: 1 };
    };

    detection.evaluate(80_000, failover);
    detection.evaluate(90_000, failover);
    detection.evaluate(91_000, failover);
    await detection.failoverInFlight;

    expect(invocations).toBe(1);
    expect(detection.failoverInvocations).toBe(1);
    expect(detection.detectedAtMs).toBe(90_000);
    expect(detection.switchedAtMs).toBeDefined();
    expect(detection.fired).toEqual(new Set(['PrimaryDown', 'FailoverComposite']));
    expect(lines.map((l) => l.replace(/^\[\s*[\d.]+s\] /, ''))).toEqual([
      'alarm PrimaryDown -> ALARM',
      'composite alarm -> ALARM: EventBridge invokes the failover function',
      'failover switched clients to the secondary (epoch 1)',
    ]);
  });

  it('records a failover that answered without switching, or failed, and sets no switch time', async () => {
    for (const failover of [
      async (): Promise<FailoverAnswer> => ({ status: 'refused' }),
      async (): Promise<FailoverAnswer> => {
        throw new Error('lock held');
      },
    ]) {
      // Without Lambda's retries: what one invocation's outcome leaves.
      const { detection, lines } = detectionWith(probeHistory(), { retryDelaysMs: [] });

      detection.evaluate(90_000, failover);
      await detection.failoverInFlight;

      expect(detection.switchedAtMs).toBeUndefined();
      expect(lines.at(-1)).toMatch(/failover (answered refused|failed: Error: lock held)$/);
    }
  });

  it('retries a failed failover invocation as Lambda retries an asynchronous one, twice, then gives up', async () => {
    const { detection, lines } = detectionWith(probeHistory(), { retryDelaysMs: [10, 20] });
    let calls = 0;
    const failsTwice = async (): Promise<FailoverAnswer> => {
      calls++;
      if (calls <= 2) throw new Error(`AWS call on parameter /p failed: TimeoutError (${calls})`);
      return { status: 'switched', epoch: 1 };
    };
    const alwaysFails = async (): Promise<FailoverAnswer> => {
      throw new Error('still failing');
    };
    const second = detectionWith(probeHistory(), { retryDelaysMs: [10, 20] });

    detection.evaluate(90_000, failsTwice);
    await detection.failoverInFlight;
    second.detection.evaluate(90_000, alwaysFails);
    await second.detection.failoverInFlight;

    expect(calls).toBe(3);
    expect(detection.failoverInvocations).toBe(1);
    expect(detection.failoverRetries).toBe(2);
    expect(detection.switchedAtMs).toBeDefined();
    expect(lines.slice(-3).map((l) => l.replace(/^\[\s*[\d.]+s\] /, ''))).toEqual([
      'failover failed: Error: AWS call on parameter /p failed: TimeoutError (1); Lambda retries the asynchronous invocation in 0.01 s',
      'failover failed: Error: AWS call on parameter /p failed: TimeoutError (2); Lambda retries the asynchronous invocation in 0.02 s',
      'failover switched clients to the secondary (epoch 1)',
    ]);
    expect(second.detection.failoverRetries).toBe(2);
    expect(second.detection.switchedAtMs).toBeUndefined();
    expect(second.lines.at(-1)).toMatch(/failover failed: Error: still failing$/);
  });

  it("names a refusal's reason codes, so the run says why nothing switched", async () => {
    const { detection, lines } = detectionWith(probeHistory());

    detection.evaluate(90_000, async () => ({
      status: 'refused',
      reasons: [{ code: 'secondary-unhealthy' }, { code: 'lag-seconds' }],
    }));
    await detection.failoverInFlight;

    expect(lines.at(-1)).toMatch(/failover answered refused \(secondary-unhealthy, lag-seconds\)$/);
  });

  it("runs the probe's direct trigger as a failover invocation, and only notes its maintenance asks", async () => {
    const { detection, lines } = detectionWith(probeHistory());
    const events: unknown[] = [];
    detection.start({
      probe: () => new Promise((resolve) => setTimeout(resolve, 5)),
      failover: async (event) => {
        events.push(event);
        return { status: 'switched', epoch: 1 };
      },
    });
    const request = {
      action: 'failover',
      trigger: 'probe',
      requestedBy: 'probe',
      reason: 'down',
      evidence: {},
    };

    detection.probeInvoked({ action: 'repair', requestedBy: 'probe', reason: 'torn' });
    detection.probeInvoked(request);
    await detection.failoverInFlight;
    await detection.stop();

    expect(events).toEqual([request]);
    expect(detection.failoverInvocations).toBe(1);
    expect(detection.switches).toBe(1);
    expect(detection.probeTriggeredAtMs).toBeDefined();
    expect(detection.detectedAtMs).toBe(detection.probeTriggeredAtMs);
    expect(detection.alarmAtMs).toBeUndefined();
    expect(lines.map((l) => l.replace(/^\[\s*[\d.]+s\] /, ''))).toEqual(
      expect.arrayContaining([
        'the probe asked for repair (not run by the drill)',
        'the probe saw the primary down for the window: it invokes the failover function',
        'failover switched clients to the secondary (epoch 1)',
      ]),
    );
  });

  it('samples health from probes of the last 5 s only', () => {
    const { detection } = detectionWith(probeHistory());

    expect(detection.sample(90_000)).toEqual({
      t: 90,
      primaryUp: false,
      secondaryUp: true,
      replicationLagSeconds: 0.5,
    });
    expect(detection.sample(100_000)).toMatchObject({ primaryUp: undefined, secondaryUp: undefined });
  });

  it('takes its metrics from the EMF lines the probe prints and ignores other output', () => {
    const { detection } = detectionWith([]);

    detection.ingest(
      JSON.stringify({
        _aws: { Timestamp: 5_000, CloudWatchMetrics: [{ Metrics: [{ Name: 'ClusterUp' }] }] },
        Cluster: 'primary',
        ClusterUp: 1,
      }),
    );
    detection.ingest('{"level":"INFO","message":"probe cycle"}');
    detection.ingest('not json');

    expect(detection.points).toEqual([
      { metricName: 'ClusterUp', cluster: 'primary', timestampMs: 5_000, value: 1 },
    ]);
  });
});
