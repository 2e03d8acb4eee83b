import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { systemClock } from '#shared/clock.ts';

describe('systemClock.sleep', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Whether `p` has settled once pending callbacks have run. */
  async function settled(p: Promise<void>): Promise<boolean> {
    let done = false;
    void p.then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    return done;
  }

  it('resolves after the time asked, not before', async () => {
    const sleep = systemClock.sleep(1_000);

    await vi.advanceTimersByTimeAsync(999);
    expect(await settled(sleep)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await settled(sleep)).toBe(true);
  });

  it('resolves early, without rejecting, when its signal aborts, and leaves no timer behind', async () => {
    const controller = new AbortController();
    const sleep = systemClock.sleep(60_000, controller.signal);

    controller.abort();

    await expect(sleep).resolves.toBeUndefined();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('resolves at once when the signal has already aborted', async () => {
    const controller = new AbortController();
    controller.abort();

    expect(await settled(systemClock.sleep(60_000, controller.signal))).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });
});
