import * as z from 'zod';
import { failoverPlanSchema } from '../failover/plan.ts';
import { groupOffsetPlanSchema } from '../offsets/offset-translation.ts';
import { drainMeasureSchema } from './backlog-drain.ts';

/**
 * The journaled plan of a planned switchover: the failover's own plan of the switch (executed by its steps), the
 * fence with every override it must restore, and how long the backlog may take to drain. It holds no secret.
 */

const topicOverridesSchema = z
  .object({ topic: z.string(), overrides: z.record(z.string(), z.string()) })
  .strict();

export const plannedPlanSchema = z
  .object({
    /** The switch, as failover plans it; its group offsets are planned again once the backlog drained. */
    switch: failoverPlanSchema,
    /** The primary's watched topics and their overrides before the fence (what lowering writes back). */
    fence: z.object({ topics: z.array(topicOverridesSchema) }).strict(),
    drainTimeoutMs: z.int().min(0),
    /** `fence`, `drain`, the switch's steps, `lift`. */
    steps: z.array(z.string()),
  })
  .strict();
export type PlannedPlan = z.output<typeof plannedPlanSchema>;

/** What the `fence` step records: when the broker acknowledged it (writes stopped from then on). */
export const fenceStepSchema = z.object({ raisedAt: z.iso.datetime() }).passthrough();

/** What the `drain` step records: the figures that prove RPO 0, and the group offsets planned from them. */
export const drainStepSchema = z
  .object({ measure: drainMeasureSchema, waitedMs: z.int().min(0), offsets: z.array(groupOffsetPlanSchema) })
  .passthrough();
