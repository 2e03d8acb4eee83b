import * as z from 'zod';
import { reasonSchema } from '../config/operator-request.ts';

/**
 * What the probe sends the failover function when its own results satisfy the failover rule: the same request
 * the composite alarm stands for, with the probe results behind it. The failover function still decides with its
 * own preflight and lock; the evidence is for the record and for the operator reading why it switched.
 */

const downCycleSchema = z
  .object({
    cycle: z.int().min(0),
    startedAt: z.iso.datetime(),
    reasons: z.array(z.string().max(64)).max(10),
  })
  .strict();

const triggerEvidenceSchema = z
  .object({
    /** Start of the first cycle of the streak that saw the primary down. */
    downSince: z.iso.datetime(),
    /** The streak as the rule counts it: first down cycle's start to the last one's, plus one interval. */
    downForSeconds: z.number().min(0),
    /** The window the rule asks for (the alarm's: evaluationPeriods × alarmPeriodSeconds). */
    windowSeconds: z.int().min(1),
    /** Down cycles this probe saw itself, the latest last (a streak adopted at a cold start has fewer). */
    cycles: z.array(downCycleSchema).max(60),
    secondary: z
      .object({ verdict: z.enum(['up', 'degraded']), reasons: z.array(z.string().max(64)) })
      .strict(),
  })
  .strict();
export type TriggerEvidence = z.output<typeof triggerEvidenceSchema>;

export const probeTriggerRequestSchema = z
  .object({
    action: z.literal('failover'),
    trigger: z.literal('probe'),
    reason: reasonSchema,
    requestedBy: z.literal('probe'),
    evidence: triggerEvidenceSchema,
  })
  .strict();
export type ProbeTriggerRequest = z.output<typeof probeTriggerRequestSchema>;
