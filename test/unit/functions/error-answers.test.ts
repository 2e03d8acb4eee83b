import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { errorAnswers } from '#functions/common/error-answers.ts';
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

/** A handler that throws `error`, behind the middleware under test. */
function throwing(
  error: unknown,
  options: Parameters<typeof errorAnswers<{ trigger: string }, unknown>>[2] = {},
) {
  const log = logCollector();
  const handler = middy<{ trigger: string }, unknown>()
    .use(errorAnswers<{ trigger: string }, unknown>('failback', log, options))
    .handler(async () => {
      throw error;
    });
  return { log, invoke: (event = { trigger: 'manual' }) => handler(event, context) };
}

describe('errorAnswers', () => {
  it('answers a ValidationError with status invalid, the subject and every problem by path', async () => {
    const { log, invoke } = throwing(
      new ValidationError('failback request', [{ path: 'confirm', message: 'expected boolean' }]),
    );

    expect(await invoke()).toEqual({
      status: 'invalid',
      subject: 'failback request',
      problems: [{ path: 'confirm', message: 'expected boolean' }],
    });
    expect(log.lines.map(([level]) => level)).toEqual(['warn']);
  });

  it('answers a RefusedError with status refused and every coded reason, without warnings when there are none', async () => {
    const { invoke } = throwing(
      new RefusedError('failback', [
        { code: 'phase-out-of-order', message: "phase 'switch' is out of order" },
      ]),
    );

    expect(await invoke()).toEqual({
      status: 'refused',
      reasons: [{ code: 'phase-out-of-order', message: "phase 'switch' is out of order" }],
    });
  });

  it('carries the warnings of a refusal that has some', async () => {
    const { invoke } = throwing(
      new RefusedError('failover', [{ code: 'cooldown', message: 'within the cooldown' }], {
        warnings: [{ code: 'secondary-degraded', message: 'the secondary is degraded' }],
      }),
    );

    expect(await invoke()).toEqual({
      status: 'refused',
      reasons: [{ code: 'cooldown', message: 'within the cooldown' }],
      warnings: [{ code: 'secondary-degraded', message: 'the secondary is degraded' }],
    });
  });

  it('answers a held lock as refused with code lock-held, naming the holder', async () => {
    const { invoke } = throwing(new LockHeldError('lock#x', 'req-1 (failover)'));

    expect(await invoke()).toEqual({
      status: 'refused',
      reasons: [
        {
          code: 'lock-held',
          message:
            'another failover or failback is running (req-1 (failover)); invoke again once it has finished',
        },
      ],
    });
  });

  it('rethrows a held lock for the events retryWhenLockHeld picks, and answers the others', async () => {
    const { log, invoke } = throwing(new LockHeldError('lock#x', 'req-1'), {
      retryWhenLockHeld: (event) => event.trigger === 'alarm',
    });

    await expect(invoke({ trigger: 'alarm' })).rejects.toBeInstanceOf(LockHeldError);
    await expect(invoke({ trigger: 'manual' })).resolves.toMatchObject({
      status: 'refused',
      reasons: [{ code: 'lock-held' }],
    });
    expect(log.lines.map(([level]) => level)).toEqual(['warn', 'warn']);
  });

  it('rethrows anything else and logs one line, never the error object', async () => {
    const { log, invoke } = throwing(new Error('broker went away'));

    await expect(invoke()).rejects.toThrow('broker went away');
    expect(log.lines).toEqual([['error', 'failback failed', { error: 'Error: broker went away' }]]);
  });
});
