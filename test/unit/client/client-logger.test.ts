import { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it } from 'vitest';
import type { ClientLogger } from '#shared/client/client-logger.ts';

describe('ClientLogger', () => {
  it('accepts a Powertools Logger and console as they are (checked by tsc) and passes attributes through', () => {
    const logged: unknown[] = [];
    const powertools = new Logger({ serviceName: 'client-test', logLevel: 'INFO' });
    const loggers: ClientLogger[] = [powertools, console];
    const capturing: ClientLogger = {
      info: (message, ...attributes) => logged.push([message, ...attributes]),
      warn: () => {},
      error: () => {},
    };

    capturing.info('switched', { epoch: 2 });

    expect(loggers).toHaveLength(2);
    expect(logged).toEqual([['switched', { epoch: 2 }]]);
  });
});
