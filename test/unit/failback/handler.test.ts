import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { failbackErrors } from '#functions/failback/middleware.ts';
import { LockHeldError, RefusedError, ValidationError } from '#shared/errors.ts';

function logCollector() {
  const lines: Array<[string, string, unknown]> = [];
  return {
    lines,
    warn: (m: string, x?: Record<string, unknown>) => lines.push(['warn', m, x]),
    error: (m: string, x?: Record<string, unknown>) => lines.push(['error', m, x]),
  };
}

const context = { getRemainingTimeInMillis: () => 900_000, awsRequestId: 'r' } as unknown as Context;

describe('failbackErrors', () => {
  it.each([
    [
      new ValidationError('failback request', [{ path: 'confirm', message: 'expected boolean' }]),
      ['confirm: expected boolean'],
    ],
    [new RefusedError('failback', ["phase 'switch' is out of order"]), ["phase 'switch' is out of order"]],
    [
      new LockHeldError('lock#x', 'req-1 (failover)'),
      ['another failover or failback is running (req-1 (failover)); invoke again once it has finished'],
    ],
  ])('answers %s with status refused and the reasons', async (error, reasons) => {
    // Arrange
    const log = logCollector();
    const handler = middy<unknown, unknown>()
      .use(failbackErrors(log))
      .handler(async () => {
        throw error;
      });

    // Act
    const response = await handler({}, context);

    // Assert
    expect(response).toEqual({ status: 'refused', reasons });
    expect(log.lines[0]?.[0]).toBe('warn');
  });

  it('rethrows anything else and logs one line, never the error object', async () => {
    // Arrange
    const log = logCollector();
    const handler = middy<unknown, unknown>()
      .use(failbackErrors(log))
      .handler(async () => {
        throw new Error('broker went away');
      });

    // Act
    const outcome = handler({}, context);

    // Assert
    await expect(outcome).rejects.toThrow('broker went away');
    expect(log.lines).toEqual([['error', 'failback failed', { error: 'Error: broker went away' }]]);
  });
});
