import type { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { describe, expectTypeOf, it } from 'vitest';
import type { ClientLogger } from '#shared/client/client-logger.ts';
import type { Logger } from '#shared/logger.ts';

// Type-level: `npx tsc -p tsconfig.json` fails if any of these stops holding.
describe('Logger', () => {
  it("takes Powertools' Logger and console as they are", () => {
    expectTypeOf<PowertoolsLogger>().toExtend<Logger>();
    expectTypeOf<Console>().toExtend<Logger>();
  });

  it("is the client library's ClientLogger without debug, so applications' loggers need no debug", () => {
    type InfoWarnError = Pick<Console, 'info' | 'warn' | 'error'>;
    expectTypeOf<ClientLogger>().toEqualTypeOf<Pick<Logger, 'info' | 'warn' | 'error'>>();
    expectTypeOf<InfoWarnError>().toExtend<ClientLogger>();
    expectTypeOf<InfoWarnError>().not.toExtend<Logger>();
  });
});
