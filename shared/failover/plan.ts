import * as z from 'zod';
import {
  type ActiveConfig,
  activeConfigFormat,
  activeConfigSchema,
  type ClusterCredentials,
} from '../config/contract.ts';
import type { DeploymentPaths } from '../config/paths.ts';
import type { DeploymentConfig } from '../config/schema.ts';
import { topicRouting } from '../config/topic-mapping.ts';
import { type GroupOffsetPlan, groupOffsetPlanSchema } from '../offsets/offset-translation.ts';
import type { ClusterDefinition } from '../store/active-config.ts';
import type { CurrentActive } from '../switch/current.ts';
import type { FailoverRequest } from './input.ts';
import type { ReplicationLag } from './preflight.ts';

/**
 * The plan of one switch: everything that will be written, where, in which order, and what was left behind. It
 * holds no secret (credentials appear as their field names with `[redacted]` values), so it is what a dry run
 * returns and what the journal stores; a resumed run executes the stored plan, never a recomputed one.
 */

const REDACTED = '[redacted]';

const roleSchema = z.enum(['primary', 'secondary']);

const plannedWriteSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('secret'),
      /** `home` (the function's region) or an extra region from the config. */
      region: z.string(),
      name: z.string(),
      /** `{ epoch, cluster, <credential field>: '[redacted]', ... }`. */
      value: z.record(z.string(), z.union([z.string(), z.number()])),
    })
    .strict(),
  z
    .object({
      kind: z.literal('parameter'),
      region: z.string(),
      name: z.string(),
      value: z.union([z.string(), activeConfigSchema]),
    })
    .strict(),
]);
type PlannedWrite = z.output<typeof plannedWriteSchema>;

const topicRpoSchema = z
  .object({
    topic: z.string(),
    /** Records on the primary that had not reached the secondary when last measured; null when unknown. */
    backlogRecords: z.number().nullable(),
    /** Replication lag in seconds when last measured; null when unknown. */
    lagSeconds: z.number().nullable(),
    /** When it was measured; records written to the primary after that and before it died come on top. */
    measuredAt: z.string().nullable(),
  })
  .strict();
export type TopicRpo = z.output<typeof topicRpoSchema>;

const failoverStepNames = ['offsets', 'claim', 'secret', 'parameter', 'plain-parameters'] as const;

export const failoverPlanSchema = z
  .object({
    deployment: z.string(),
    /** When the invocation that made the plan started: durations are measured from here. */
    startedAt: z.iso.datetime(),
    trigger: z
      .object({
        kind: z.enum(['alarm', 'manual', 'probe']),
        reason: z.string(),
        requestedBy: z.string(),
        force: z.boolean(),
        eventId: z.string().optional(),
      })
      .strict(),
    from: z
      .object({
        cluster: roleSchema,
        alias: z.string(),
        epoch: z.int().min(0),
        /** True when no active configuration existed yet: the primary was active by definition. */
        assumed: z.boolean(),
      })
      .strict(),
    to: z.object({ cluster: roleSchema, alias: z.string(), bootstrapServers: z.array(z.string()) }).strict(),
    /** The active configuration to write, epoch + 1. */
    next: activeConfigSchema,
    /** Secret whose value becomes the active credentials (the name only). */
    credentialsSource: z.string(),
    /** Every parameter and secret change, in the order they are made. */
    writes: z.array(plannedWriteSchema),
    /** Extra regions written after the home region. */
    regions: z.array(z.string()),
    /** Consumer-group offsets to commit on the secondary before clients arrive. */
    offsets: z.array(groupOffsetPlanSchema),
    /** The data-loss estimate per topic at the switch. */
    rpo: z.array(topicRpoSchema),
    /**
     * All topics together. With the primary down the probe keeps only the totals of its last complete
     * measurement, so this is known when the per-topic figures are not.
     */
    rpoTotal: z
      .object({
        backlogRecords: z.number().nullable(),
        lagSeconds: z.number().nullable(),
        measuredAt: z.string().nullable(),
      })
      .strict(),
    /** The journaled steps, in order. */
    steps: z.array(z.string()),
    warnings: z.array(z.string()),
  })
  .strict();
export type FailoverPlan = z.output<typeof failoverPlanSchema>;

export interface PlanInput {
  config: DeploymentConfig;
  paths: DeploymentPaths;
  request: Pick<FailoverRequest, 'trigger' | 'reason' | 'requestedBy' | 'force' | 'eventId'>;
  startedAt: number;
  now: number;
  current: CurrentActive;
  /** The cluster clients move to, as its operator described it (credentials stay redacted). */
  target: ClusterDefinition;
  /** Where the target's credentials are read from. */
  credentialsSource: string;
  offsets: GroupOffsetPlan[];
  lag?: ReplicationLag | undefined;
  /** Regions to write to after the home one (the config's `regions` minus the home region). */
  extraRegions: string[];
  warnings?: string[];
}

function regionStep(region: string): string {
  return `region:${region}`;
}

/** Build the plan. Pure: everything it needs was read before. */
export function buildPlan(input: PlanInput): FailoverPlan {
  const { config, paths, request, current, target } = input;
  const cluster = config.clusters[target.role];
  const next: ActiveConfig = {
    epoch: current.nextEpoch,
    cluster: target.role,
    alias: cluster.alias,
    bootstrapServers: target.parameter.bootstrapServers,
    securityProtocol: target.parameter.securityProtocol,
    ...(target.parameter.sasl ? { sasl: target.parameter.sasl } : {}),
    credentialsSecret: paths.activeCredentialsSecret,
    format: activeConfigFormat,
    routing: topicRouting(config, target.role),
    switchedAt: new Date(input.now).toISOString(),
    reason: `${request.reason} (requested by ${request.requestedBy})`,
  };
  const warnings = [...(input.warnings ?? [])];
  if (target.parameter.alias !== cluster.alias) {
    warnings.push(
      `parameter ${paths.clusterParameter(target.role)} names alias '${target.parameter.alias}' but the config says '${cluster.alias}'; the config's alias is used`,
    );
  }
  const writes = ['home', ...input.extraRegions].flatMap((region) =>
    activeWrites(region, paths, next, target.credentials.reveal()),
  );
  return {
    deployment: config.name,
    startedAt: new Date(input.startedAt).toISOString(),
    trigger: {
      kind: request.trigger,
      reason: request.reason,
      requestedBy: request.requestedBy,
      force: request.force,
      ...(request.eventId ? { eventId: request.eventId } : {}),
    },
    from: { cluster: current.cluster, alias: current.alias, epoch: current.epoch, assumed: current.assumed },
    to: { cluster: target.role, alias: cluster.alias, bootstrapServers: next.bootstrapServers },
    next,
    credentialsSource: input.credentialsSource,
    writes,
    regions: input.extraRegions,
    offsets: input.offsets,
    rpo: rpoEstimate(config, input.lag),
    rpoTotal: {
      backlogRecords: input.lag?.backlogRecords ?? null,
      lagSeconds: input.lag?.lagSeconds ?? null,
      measuredAt: input.lag?.measuredAt ?? null,
    },
    steps: [...failoverStepNames, ...input.extraRegions.map(regionStep), 'notify'],
    warnings,
  };
}

/**
 * The three writes of a switch in the fencing order. Only the credential field *names* are read here: each
 * value is replaced by `[redacted]` before it can reach the plan.
 */
function activeWrites(
  region: string,
  paths: DeploymentPaths,
  next: ActiveConfig,
  credentials: ClusterCredentials,
): PlannedWrite[] {
  const masked: Record<string, string | number> = { epoch: next.epoch, cluster: next.cluster };
  for (const field of Object.keys(credentials)) masked[field] = REDACTED;
  return [
    { kind: 'secret', region, name: paths.activeCredentialsSecret, value: masked },
    { kind: 'parameter', region, name: paths.activeParameter, value: next },
    {
      kind: 'parameter',
      region,
      name: paths.activeBootstrapParameter,
      value: next.bootstrapServers.join(','),
    },
  ];
}

/** Per logical topic, what the last measurement says was left behind on the primary. */
function rpoEstimate(config: DeploymentConfig, lag: ReplicationLag | undefined): TopicRpo[] {
  return config.topics.map((topic) => {
    const t = lag?.topics.find((x) => x.topic === topic);
    return {
      topic,
      backlogRecords: t?.backlogRecords ?? null,
      lagSeconds: t?.lagSeconds ?? null,
      measuredAt: lag?.measuredAt ?? null,
    };
  });
}
