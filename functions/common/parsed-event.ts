import type { MiddlewareObj } from '@middy/core';

/**
 * Replace the raw event with its parsed form before the handler runs (like Powertools' parser middleware), so the
 * handler only ever sees validated input; `parse` throws a ValidationError listing every problem by path.
 */
export function parsedEvent<E>(parse: (raw: unknown) => E): MiddlewareObj<E> {
  return {
    name: 'parsedEvent',
    before: (request) => {
      request.event = parse(request.event as unknown);
    },
  };
}
