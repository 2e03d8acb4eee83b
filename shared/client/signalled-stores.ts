import type { Stores } from '../store/active-config.ts';
import type { CallOptions } from '../store/stores.ts';

/**
 * `stores` with `signal` on every read, so that one deadline (or a stop) aborts whichever store call is under way:
 * the AWS SDK gives up the HTTP request, which on an endpoint that accepts connections and never answers is the
 * only way a read ends. Writes are passed through untouched: readers never write.
 */
export function signalledStores(stores: Stores, signal: AbortSignal): Stores {
  const withSignal = (options: CallOptions | undefined): CallOptions => ({
    ...options,
    signal: options?.signal ? AbortSignal.any([options.signal, signal]) : signal,
  });
  return {
    parameters: {
      get: (name, options) => stores.parameters.get(name, withSignal(options)),
      put: (name, value, options) => stores.parameters.put(name, value, options),
    },
    secrets: {
      get: (name, options) => stores.secrets.get(name, withSignal(options)),
      put: (name, value, options) => stores.secrets.put(name, value, options),
    },
  };
}
