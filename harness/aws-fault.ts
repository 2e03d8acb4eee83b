// What the AWS fault proxy can do to a call, and which calls it does it to. The spec crosses the control
// server as JSON, so it is a zod schema; the schedule that applies it is deterministic (seeded), so a test
// that injects faults with a probability sees the same calls fail on every run.
import * as z from 'zod';
import { parseOrThrow } from '#shared/config/validate.ts';

/** The services a fault can select; anything else the SDKs send (CloudWatch, EventBridge...) is `other`. */
const AWS_FAULT_SERVICES = ['ssm', 'secretsmanager', 'dynamodb', 'sns'] as const;
export type AwsFaultService = (typeof AWS_FAULT_SERVICES)[number];

/** One call as the proxy sees it: `{ service: 'ssm', operation: 'PutParameter' }`. */
export interface AwsCall {
  service: AwsFaultService | 'other';
  operation: string;
}

const selector = {
  /** Only calls to this service; every service when omitted. */
  service: z.enum(AWS_FAULT_SERVICES).optional(),
  /** Only this operation (`PutParameter`, `GetItem`, `Publish`); every operation when omitted. */
  operation: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9]*$/, 'expected an operation name such as PutParameter')
    .optional(),
  /** Only the next N matching calls (counting only the calls the fault hit); every one when omitted. */
  times: z.int().min(1).optional(),
  /** Hit each matching call with this probability, drawn from a generator seeded with `seed`. */
  probability: z.number().gt(0).max(1).optional(),
  /** Seed of the probability draws; the same seed and the same calls give the same faults. Default 1. */
  seed: z.int().optional(),
};

/**
 * `applied: true` forwards the call to moto first and drops the answer: the change happened, the caller
 * cannot know it (the response was lost on the way back).
 */
const applied = z.boolean().optional();

const awsFaultSchema = z.discriminatedUnion('kind', [
  /** Wait `ms` before forwarding. A call whose client gives up meanwhile is not forwarded. */
  z.strictObject({ kind: z.literal('latency'), ms: z.int().min(1).max(600_000), ...selector }),
  /** HTTP 400 with the service's throttling error, which the SDKs retry with back-off. */
  z.strictObject({ kind: z.literal('throttle'), ...selector }),
  /** HTTP 500 (the service's internal error) or 503 (ServiceUnavailable); the SDKs retry both. */
  z.strictObject({ kind: z.literal('server-error'), status: z.literal([500, 503]), ...selector }),
  /** Read the request and never answer, until the fault is cleared (then the connection is reset). */
  z.strictObject({ kind: z.literal('hang'), applied, ...selector }),
  /** Read the request, then reset the connection (TCP RST): the SDK sees ECONNRESET. */
  z.strictObject({ kind: z.literal('reset'), applied, ...selector }),
]);

export type AwsFault = z.infer<typeof awsFaultSchema>;

/** Parses one fault or a list of them (from the control server's JSON body, or a test), or throws a ValidationError. */
export function parseAwsFaults(input: unknown): AwsFault[] {
  // Not a union of the two: its error would say only "invalid input" instead of naming the field.
  return Array.isArray(input)
    ? parseOrThrow(z.array(awsFaultSchema), input, 'AWS faults')
    : [parseOrThrow(awsFaultSchema, input, 'AWS fault')];
}

interface ScheduledFault {
  fault: AwsFault;
  /** Hits left when `times` was given. */
  remaining: number | undefined;
  draw: () => number;
}

/**
 * The faults in force, in order: a call gets the first one that selects it and fires (its `times` not used
 * up, its probability draw below `probability`). A call no fault fires on is forwarded untouched.
 */
export class AwsFaultSchedule {
  #faults: ScheduledFault[] = [];

  /** Replaces the faults in force; counts and draws start afresh. */
  set(faults: readonly AwsFault[]): void {
    this.#faults = faults.map((fault) => ({
      fault,
      remaining: fault.times,
      draw: seededRandom(fault.seed ?? 1),
    }));
  }

  clear(): void {
    this.#faults = [];
  }

  get active(): readonly AwsFault[] {
    return this.#faults.map((f) => f.fault);
  }

  /** The fault for this call, if any; a fault with `times` is used up by the calls it returns for. */
  pick(call: AwsCall): AwsFault | undefined {
    for (const scheduled of this.#faults) {
      const { fault } = scheduled;
      if (fault.service !== undefined && fault.service !== call.service) continue;
      if (fault.operation !== undefined && fault.operation !== call.operation) continue;
      if (scheduled.remaining === 0) continue;
      // Drawn only for calls the fault selects, so unrelated traffic does not shift the sequence.
      if (fault.probability !== undefined && scheduled.draw() >= fault.probability) continue;
      if (scheduled.remaining !== undefined) scheduled.remaining -= 1;
      return fault;
    }
    return undefined;
  }
}

/** mulberry32: a tiny, well-mixed 32-bit generator; uniform in [0, 1). */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
