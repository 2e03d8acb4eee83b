import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KafkaOperationError } from '#shared/errors.ts';
import { Deadline, withTimeout } from '#shared/health/deadline.ts';

describe('Deadline', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('rejects with a timeout naming the step when work outlives the deadline', async () => {
    // Arrange
    const deadline = Deadline.in(1_000);
    const never = new Promise<string>(() => {});
    // Act
    const result = deadline.run('metadata', () => never).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(1_000);
    // Assert
    const error = await result;
    expect(error).toBeInstanceOf(KafkaOperationError);
    expect((error as KafkaOperationError).reason).toBe('timeout');
    expect((error as Error).message).toBe('metadata did not answer within 1000 ms');
  });

  it("uses the step's own budget when it is shorter than the time left", async () => {
    const deadline = Deadline.in(10_000);
    const result = deadline.run('produce', () => new Promise(() => {}), 300).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(300);
    expect(((await result) as Error).message).toBe('produce did not answer within 300 ms');
  });

  it('returns the value and clears its timer when work finishes in time', async () => {
    const deadline = Deadline.in(1_000);
    await expect(deadline.run('fast', async () => 42)).resolves.toBe(42);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('does not start work once the deadline has passed', async () => {
    const deadline = Deadline.in(100);
    await vi.advanceTimersByTimeAsync(100);
    const work = vi.fn(async () => 1);
    await expect(deadline.run('late', work)).rejects.toThrow('late: no time left in the cycle');
    expect(work).not.toHaveBeenCalled();
  });

  it('narrows to a shorter deadline with within()', () => {
    const deadline = Deadline.in(5_000);
    expect(deadline.within(1_000).remainingMs()).toBe(1_000);
    expect(deadline.within(9_000).remainingMs()).toBe(5_000);
  });
});

describe('withTimeout', () => {
  it('passes a rejection of the work through unchanged', async () => {
    await expect(withTimeout(Promise.reject(new Error('refused')), 1_000, 'x')).rejects.toThrow('refused');
  });
});
