import * as z from 'zod';
import { reasonSchema, requestedBySchema } from '../config/operator-request.ts';
import { problemsOf } from '../config/validate.ts';
import { ValidationError } from '../errors.ts';

/**
 * The failback function's invocation payload. Strict and validated before anything is read or written: a
 * refusal lists every problem by path and changes nothing.
 *
 * @example
 * { "action": "failback", "requestedBy": "alice", "reason": "primary repaired (INC-42)" }              // advance
 * { "action": "failback", "phase": "plan", "requestedBy": "alice", "reason": "what would happen?" }     // dry run
 * { "action": "failback", "phase": "purge", "confirm": true, "requestedBy": "alice", "reason": "ok" }   // purge
 * { "action": "failback", "mirrorConfirmed": "stop-forward", "requestedBy": "bob", "reason": "done" } // manual MM2
 * { "action": "failback", "abandon": true, "requestedBy": "alice", "reason": "a failover happened" }   // give up
 */

/** Every phase, in the order an active-passive failback runs them; `plan` is a dry run and never journaled. */
const failbackPhases = [
  'plan',
  'prepare',
  'salvage',
  'reverse',
  'purge',
  'catch-up',
  'switch',
  'restore',
] as const;
export type FailbackPhase = (typeof failbackPhases)[number];
export type ExecutablePhase = Exclude<FailbackPhase, 'plan'>;

/** Steps the manual mirror controller waits for an operator to confirm (see manual-controller.ts). */
export const mirrorSteps = ['stop-forward', 'start-reverse', 'stop-reverse', 'start-forward'] as const;
export type MirrorStep = (typeof mirrorSteps)[number];

const oneOf = <T extends readonly string[]>(values: T) =>
  z.enum(values as unknown as [T[number], ...T[number][]], {
    error: (i) => `expected one of ${values.map((v) => `'${v}'`).join(', ')}, got ${JSON.stringify(i.input)}`,
  });

const failbackRequestSchema = z
  .object({
    action: z.literal('failback', { error: (i) => `expected 'failback', got ${JSON.stringify(i.input)}` }),
    /**
     * The phase to run. Omitted: continue from the journal as far as the deadline allows. Given: run exactly that
     * phase if it is the next one due (a phase already done is reported, not repeated); a later one is refused.
     */
    phase: oneOf(failbackPhases).optional(),
    /**
     * Required for `purge` (deleting the primary's stale records cannot be undone) and, with a mirror controller
     * that cannot move the forward mirror's offsets, for `restore` (it empties the secondary's copies).
     */
    confirm: z.boolean().default(false),
    /**
     * With `confirm`: partitions (`topic:partition`) purge may delete although it reported records there that
     * exist nowhere any more (lost to retention before salvage read them, or before the reverse mirror copied them).
     */
    acceptLoss: z
      .array(z.string().regex(/^[a-zA-Z0-9._-]+:\d+$/, "expected a 'topic:partition' key like 'orders:0'"))
      .optional(),
    /** With the `manual` mirror controller: the operator has done this step. */
    mirrorConfirmed: oneOf(mirrorSteps).optional(),
    /**
     * Give up the failback in progress: it is journaled as abandoned, with what it leaves behind (mirrors stopped
     * or running, records deleted, clients moved), and the next failback starts afresh.
     */
    abandon: z.boolean().default(false),
    reason: reasonSchema,
    requestedBy: requestedBySchema,
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.phase === 'plan' && r.confirm) {
      ctx.addIssue({
        code: 'custom',
        path: ['confirm'],
        message: "'plan' is a dry run: confirm makes no sense",
      });
    }
    if (r.abandon && (r.phase !== undefined || r.confirm || r.mirrorConfirmed !== undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['abandon'],
        message: 'abandon ends the failback in progress: it takes no phase, confirm or mirrorConfirmed',
      });
    }
    if (r.acceptLoss !== undefined && !r.confirm) {
      ctx.addIssue({
        code: 'custom',
        path: ['acceptLoss'],
        message: 'acceptLoss only goes with confirm: true (it is part of confirming purge)',
      });
    }
    if (r.phase === 'plan' && r.mirrorConfirmed !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['mirrorConfirmed'],
        message: "'plan' is a dry run: it records no confirmation",
      });
    }
  });
export type FailbackRequest = z.output<typeof failbackRequestSchema>;

/** Parse one invocation payload or throw a {@link ValidationError} naming every problem. */
export function parseFailbackRequest(input: unknown): FailbackRequest {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new ValidationError('failback request', [
      {
        path: '',
        message: `expected an object { action: 'failback', requestedBy, reason, phase?, confirm?, mirrorConfirmed?, abandon? }, got ${
          input === null ? 'null' : Array.isArray(input) ? 'an array' : typeof input
        }`,
      },
    ]);
  }
  const parsed = failbackRequestSchema.safeParse(input);
  if (!parsed.success) throw new ValidationError('failback request', problemsOf(parsed.error));
  return parsed.data;
}
