import { describe, expect, it } from 'vitest';
import { ValidationError } from '#shared/errors.ts';
import { failoverEnvironment } from '#shared/failover/dependencies.ts';

describe('failoverEnvironment', () => {
  it('names every missing variable', () => {
    const err = (() => {
      try {
        failoverEnvironment({});
      } catch (e: unknown) {
        return e as ValidationError;
      }
      return undefined;
    })();

    expect(err).toBeInstanceOf(ValidationError);
    expect(err?.problems.map((p) => p.path)).toEqual(['MM2_FAILOVER_TABLE', 'MM2_FAILOVER_TOPIC_ARN']);
  });
});
