import { afterEach, describe, expect, it, vi } from 'vitest';
import { consumerReadEverything } from '#drill/checks.ts';
import { recorder } from './fakes.ts';

describe('drill recorder', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('says each moment with its time since the start and keeps it for the timeline', () => {
    const { record, lines } = recorder(1_000);

    record.mark('primary killed (SIGKILL)', 13_340);

    expect(lines).toEqual(['[  12.3s] primary killed (SIGKILL)']);
    expect(record.moments).toEqual([{ t: 12.3, label: 'primary killed (SIGKILL)' }]);
  });

  it('tells a moment learnt late at the time it is told, with its own time, and keeps the timeline in order', () => {
    vi.useFakeTimers({ now: 170_000 });
    const { record, lines } = recorder(0);

    record.mark('failback: completed', 169_300);
    record.mark('failback complete: clients write to the primary again', 163_600);

    expect(lines).toEqual([
      '[ 169.3s] failback: completed',
      '[ 170.0s] failback complete: clients write to the primary again (at 163.6 s)',
    ]);
    expect(record.moments.map((m) => m.t)).toEqual([163.6, 169.3]);
  });

  it('says and keeps every verdict, and is ok only while every check passed', () => {
    const { record, lines } = recorder();

    record.judge(consumerReadEverything, { unseen: 0 });
    const okAfterPass = record.ok;
    record.judge(consumerReadEverything, { unseen: 2 });
    record.target({
      name: 'RTO within the detection window + 15 s',
      met: false,
      detail: '40 s against 35 s',
    });

    expect(okAfterPass).toBe(true);
    expect(record.ok).toBe(false);
    expect(lines).toEqual([
      '  ok   consumer read every acknowledged record: 0 unseen',
      '  FAIL consumer read every acknowledged record: 2 unseen',
      '  MISS RTO within the detection window + 15 s: 40 s against 35 s',
    ]);
  });

  it('turns an error that stopped the run into a failed check', () => {
    const { record, lines } = recorder();

    record.stoppedBy(new Error('timed out after 180 s waiting for steady state'));

    expect(record.ok).toBe(false);
    expect(lines).toEqual(['  FAIL Error: timed out after 180 s waiting for steady state']);
  });
});
