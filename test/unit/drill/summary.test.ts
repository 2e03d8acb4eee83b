import { describe, expect, it } from 'vitest';
import { failoverTimes, initialSummary, reportFigures, rtoTarget } from '#drill/summary.ts';
import { recorder } from './fakes.ts';

const files = { reportFile: '/out/report.html', logFile: '/out/functions.log' };

describe('drill summary', () => {
  it('starts not ok, without figures, with every field summary.json has always had, in its order', () => {
    const { record } = recorder();

    const summary = initialSummary(
      { scenario: 'kill', mode: 'active-passive', policy: 'identity', mirrorTiming: 'best' },
      record,
      files,
    );

    expect(Object.keys(summary)).toEqual([
      'ok',
      'scenario',
      'detectionWindowSeconds',
      'detectionSeconds',
      'switchSeconds',
      'clientFollowSeconds',
      'rtoSeconds',
      'ackedOnPrimary',
      'missingAfterFailover',
      'duplicatesConsumed',
      'duplicatesByEpoch',
      'failback',
      'switches',
      'tornAtRest',
      'checks',
      'targets',
      'epochs',
      'alarmsFired',
      'reportFile',
      'logFile',
      'mode',
      'policy',
      'mirrorTiming',
    ]);
    expect(summary).toMatchObject({
      ok: false,
      mode: 'active-passive',
      policy: 'identity',
      mirrorTiming: 'best',
      scenario: 'kill',
      rtoSeconds: null,
      failback: null,
      switches: null,
      tornAtRest: null,
    });
  });

  it('holds what the recorder records after it was built, so a run that throws still reports its checks', () => {
    const { record } = recorder();
    const summary = initialSummary(
      { scenario: 'hang', mode: 'active-passive', policy: 'identity', mirrorTiming: 'best' },
      record,
      files,
    );

    record.stoppedBy(new Error('harness did not start'));
    record.target({ name: 'RTO', met: false, detail: 'null s against 35 s' });

    expect(summary.checks).toEqual([
      { name: 'drill ran to the end', ok: false, detail: 'Error: harness did not start' },
    ]);
    expect(summary.targets).toHaveLength(1);
  });

  it('measures detection from the fault, the switch from detection, following from the switch', () => {
    const times = failoverTimes({
      faultMs: 10_000,
      detectedMs: 30_500,
      switchedMs: 31_500,
      followedMs: 32_300,
    });

    expect(times).toEqual({
      detectionSeconds: 20.5,
      switchSeconds: 1,
      clientFollowSeconds: 0.8,
      rtoSeconds: 22.3,
    });
  });

  it('leaves a figure null when its moment never came, and never reports a negative follow time', () => {
    expect(
      failoverTimes({ faultMs: 0, detectedMs: undefined, switchedMs: undefined, followedMs: 25_000 }),
    ).toEqual({ detectionSeconds: null, switchSeconds: null, clientFollowSeconds: null, rtoSeconds: 25 });
    // Clients can follow before the failover's answer arrives: the write is visible before the function returns.
    expect(
      failoverTimes({ faultMs: 0, detectedMs: 20_000, switchedMs: 22_000, followedMs: 21_500 })
        .clientFollowSeconds,
    ).toBe(0);
  });

  it('meets the RTO target up to the detection window plus 15 s, and misses it without an RTO', () => {
    expect(rtoTarget({ detectionWindowSeconds: 20, rtoSeconds: 35 })).toEqual({
      name: 'RTO within the detection window + 15 s',
      met: true,
      detail: '35 s against 35 s',
    });
    expect(rtoTarget({ detectionWindowSeconds: 20, rtoSeconds: 35.1 }).met).toBe(false);
    expect(rtoTarget({ detectionWindowSeconds: 20, rtoSeconds: null }).met).toBe(false);
  });

  it('gives the report every figure but the checks', () => {
    const { record } = recorder();
    const summary = initialSummary(
      { scenario: 'flapping', mode: 'active-passive', policy: 'identity', mirrorTiming: 'best' },
      record,
      files,
    );

    const figures = reportFigures(summary);

    expect(figures).not.toHaveProperty('checks');
    expect(Object.keys(figures)).toHaveLength(Object.keys(summary).length - 1);
  });
});
