import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import * as z from 'zod';
import { lambdaHandler } from '#functions/common/lambda-handler.ts';
import { parseOrThrow } from '#shared/config/validate.ts';

const context = { awsRequestId: 'r', functionName: 'f' } as Context;

describe('lambdaHandler', () => {
  const logger = new Logger({ logLevel: 'SILENT' });
  const parse = (raw: unknown) => parseOrThrow(z.object({ n: z.int().min(1) }), raw, 'test input');

  it('hands the body the parsed event, not the raw one', async () => {
    const body = vi.fn(async (event: { n: number }) => event);
    const handler = lambdaHandler({ fn: 'probe', logger, parse }, body);

    await handler({ n: 3, extra: 'dropped' }, context);

    expect(body.mock.calls[0]?.[0]).toEqual({ n: 3 });
  });

  it('answers input its parser refuses as invalid without running the body', async () => {
    const body = vi.fn(async () => 'ran');
    const handler = lambdaHandler({ fn: 'probe', logger, parse }, body);

    const answer = await handler({ n: 0 }, context);

    expect(answer).toMatchObject({ status: 'invalid', subject: 'test input', problems: [{ path: 'n' }] });
    expect(body).not.toHaveBeenCalled();
  });

  it('ignores the event of a function without input', async () => {
    const handler = lambdaHandler({ fn: 'status', logger }, async (event) => ({ saw: event }));

    expect(await handler({ anything: true }, context)).toEqual({ saw: { anything: true } });
  });
});
