import * as z from 'zod';
import { reasonSchema, requestedBySchema } from '../config/operator-request.ts';
import { problemsOf } from '../config/validate.ts';
import { ValidationError } from '../errors.ts';
import { probeTriggerRequestSchema, type TriggerEvidence } from '../health/trigger-request.ts';
import type { MaintenanceRequest } from '../switch/maintenance.ts';

/**
 * What may start a failover: the EventBridge event of the failover composite alarm going to ALARM, or a manual
 * invocation. Both pass a schema here, before anything is read or written; a refusal lists every problem.
 */

/**
 * EventBridge "CloudWatch Alarm State Change" (source `aws.cloudwatch`). Not strict: AWS adds fields over time
 * (`configuration`, `reasonData`, ...), and they change nothing here.
 */
const alarmStateChangeEventSchema = z.object({
  version: z.string(),
  id: z.string().min(1),
  'detail-type': z.literal('CloudWatch Alarm State Change'),
  source: z.literal('aws.cloudwatch'),
  account: z.string(),
  time: z.iso.datetime({ offset: true }),
  region: z.string().min(1),
  resources: z.array(z.string()),
  detail: z.object({
    alarmName: z.string().min(1),
    state: z.object({
      // Only the transition to ALARM starts a failover; the EventBridge rule filters on it, and an OK event
      // arriving anyway is refused rather than acted upon.
      value: z.literal('ALARM', { error: (i) => `expected 'ALARM', got ${JSON.stringify(i.input)}` }),
      reason: z.string().default(''),
      timestamp: z.string(),
    }),
    previousState: z.object({ value: z.string() }).optional(),
  }),
});

/** `{ action: 'failover', reason, requestedBy, dryRun?, force?, planned? }`. Strict: a typo such as `forced` is refused. */
const manualFailoverSchema = z
  .object({
    action: z.literal('failover', { error: (i) => `expected 'failover', got ${JSON.stringify(i.input)}` }),
    reason: reasonSchema,
    requestedBy: requestedBySchema,
    /** Return the complete plan and write nothing. */
    dryRun: z.boolean().default(false),
    /** Skip the confirmation that the primary is down, the lag budget and the healthy-secondary rule. */
    force: z.boolean().default(false),
    /**
     * A planned switchover (fence the primary, drain, switch: RPO 0). Absent: planned when the primary is up and
     * the request is not forced; `false`: the unplanned failover only.
     */
    planned: z.boolean().optional(),
  })
  .strict();

/**
 * `{ action: 'repair' | 'refresh-credentials', reason, requestedBy, force? }`: the maintenance writes of the active
 * configuration the failover function also runs (see shared/switch/maintenance.ts).
 */
const maintenanceSchema = z
  .object({
    action: z.enum(['repair', 'refresh-credentials']),
    reason: reasonSchema,
    requestedBy: requestedBySchema,
    /** refresh-credentials only: republish even though no secret version moved. */
    force: z.boolean().default(false),
  })
  .strict();

/** Every trigger, normalised. `alarm` and `probe` are automatic: the same rule, seen by CloudWatch or by the probe. */
export interface FailoverRequest {
  trigger: 'alarm' | 'manual' | 'probe';
  reason: string;
  requestedBy: string;
  dryRun: boolean;
  force: boolean;
  /** Manual only: planned switchover asked for (true), refused (false), or chosen by the primary's health (absent). */
  planned?: boolean;
  /** The alarm event's id, for the record. */
  eventId?: string;
  /** The probe results behind a `probe` trigger. */
  evidence?: TriggerEvidence;
}

const anyObject = z.record(z.string(), z.unknown());

/**
 * Parse one invocation payload into a {@link FailoverRequest}, or throw a {@link ValidationError} listing every
 * problem by path. An object with `source` or `detail-type` is judged as an alarm event, anything else as a
 * manual request, so the problems listed are those of the shape the caller evidently meant.
 */
export function parseFailoverInput(input: unknown): FailoverRequest {
  const object = anyObject.safeParse(input);
  if (!object.success || Array.isArray(input)) {
    throw new ValidationError('failover input', [
      {
        path: '',
        message: `expected an object: { action: 'failover', reason, requestedBy, dryRun?, force? } or a CloudWatch Alarm State Change event, got ${describeKind(input)}`,
      },
    ]);
  }
  if ('source' in object.data || 'detail-type' in object.data) {
    const parsed = alarmStateChangeEventSchema.safeParse(input);
    if (!parsed.success) throw new ValidationError('alarm event', problemsOf(parsed.error));
    const { detail } = parsed.data;
    return {
      trigger: 'alarm',
      reason: `alarm ${detail.alarmName} went to ALARM${detail.state.reason ? `: ${detail.state.reason}` : ''}`,
      requestedBy: `alarm:${detail.alarmName}`,
      dryRun: false,
      force: false,
      eventId: parsed.data.id,
    };
  }
  if (object.data.trigger === 'probe') {
    const probe = probeTriggerRequestSchema.safeParse(input);
    if (!probe.success) throw new ValidationError('probe failover request', problemsOf(probe.error));
    return {
      trigger: 'probe',
      reason: probe.data.reason,
      requestedBy: probe.data.requestedBy,
      dryRun: false,
      force: false,
      evidence: probe.data.evidence,
    };
  }
  const parsed = manualFailoverSchema.safeParse(input);
  if (!parsed.success) throw new ValidationError('manual failover request', problemsOf(parsed.error));
  return {
    trigger: 'manual',
    reason: parsed.data.reason,
    requestedBy: parsed.data.requestedBy,
    dryRun: parsed.data.dryRun,
    force: parsed.data.force,
    ...(parsed.data.planned === undefined ? {} : { planned: parsed.data.planned }),
  };
}

/** What the failover function is asked: a failover, or one of the maintenance writes. */
export type FailoverFunctionRequest =
  | ({ operation: 'failover' } & FailoverRequest)
  | ({ operation: 'repair' | 'refresh-credentials' } & Omit<MaintenanceRequest, 'operation'>);

/**
 * Parse the failover function's payload: `{ action: 'repair' | 'refresh-credentials', ... }` is a maintenance
 * request, anything else is judged as a failover trigger by {@link parseFailoverInput}.
 */
export function parseFailoverFunctionInput(input: unknown): FailoverFunctionRequest {
  const action = anyObject.safeParse(input).data?.action;
  if (action === 'repair' || action === 'refresh-credentials') {
    const parsed = maintenanceSchema.safeParse(input);
    if (!parsed.success) throw new ValidationError(`${action} request`, problemsOf(parsed.error));
    const { action: operation, ...rest } = parsed.data;
    return { operation, ...rest };
  }
  return { operation: 'failover', ...parseFailoverInput(input) };
}

function describeKind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v;
}
