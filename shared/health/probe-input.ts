import * as z from 'zod';
import { parseOrThrow } from '../config/validate.ts';

/**
 * What the probe function accepts: the EventBridge schedule's event (whose fields it ignores), or a manual
 * invocation asking for a bounded number of cycles (`{ "maxCycles": 1 }`, e.g. from the drill or an operator).
 */
export const probeInvocationSchema = z.looseObject({
  /** Stop after this many cycles instead of using the whole invocation. */
  maxCycles: z.int().min(1).max(1_000).optional(),
});
export type ProbeInvocation = z.output<typeof probeInvocationSchema>;

/** Parse the invocation payload; refuses with every problem listed by path. */
export function parseProbeInvocation(event: unknown): ProbeInvocation {
  return parseOrThrow(probeInvocationSchema, event ?? {}, 'probe invocation');
}
