import type { Clock } from '#shared/clock.ts';

/**
 * A clock whose `sleep` returns at once and moves time forward, recording each wait. `onSleep` lets a test make
 * something happen "meanwhile" (a switch completing while the reader backs off).
 */
export class FakeClock implements Clock {
  t = 1_000_000;
  readonly sleeps: number[] = [];
  onSleep: ((ms: number) => void | Promise<void>) | undefined;
  randomValue = 0.5;

  now(): number {
    return this.t;
  }

  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return;
    this.sleeps.push(ms);
    this.t += ms;
    await this.onSleep?.(ms);
  }

  random(): number {
    return this.randomValue;
  }
}
