import {
  CreateEventSourceMappingCommand,
  type EventSourceMappingConfiguration,
  type LambdaClient,
  ListEventSourceMappingsCommand,
  type SourceAccessConfiguration,
  UpdateEventSourceMappingCommand,
} from '@aws-sdk/client-lambda';
import { DescribeSecretCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod';
import type { TopicRoute, TopicRouting } from '../config/contract.ts';
import type { ClusterRole, DeploymentConfig, EventSourceMappingConfig } from '../config/schema.ts';
import { routeByRule } from '../config/topic-mapping.ts';
import { describeError, Mm2FailoverError, mapAwsError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Claim, EpochAuthority } from './epoch-authority.ts';

/**
 * Lambda functions that consume Kafka through a self-managed Kafka event source mapping cannot follow a switch by
 * reading the active configuration: a mapping's bootstrap servers, topic and consumer group are fixed when it is
 * created. So the switch moves them, as part of the claimed switch: for each configured mapping it disables the
 * function's mappings of that consumer group on other clusters, then enables the one on the cluster consumers now
 * use, or creates it with the active credentials and the same consumer group (whose offsets the switch translated).
 *
 * Old first, then new: the group then never reads both clusters at once, and Lambda wants a group id used by one
 * mapping at a time. Every write is preceded by the authority's check, so a writer that was fenced out moves
 * nothing; the check's error is thrown, not recorded. A mapping Lambda refuses is recorded and the others go on:
 * the switch has happened, and an operator can re-run the move. Each step finds the mappings by function, bootstrap
 * servers, topic and group before it writes, so a resumed run does not create a second one.
 */

const settledOff = new Set(['Disabled', 'Disabling', 'Deleting']);

export const mappingMoveSchema = z
  .object({
    functionName: z.string(),
    consumerGroup: z.string(),
    cluster: z.enum(['primary', 'secondary']),
    topic: z.string(),
    ok: z.boolean(),
    /** What was done to the target cluster's mapping. */
    target: z.enum(['created', 'enabled', 'already-enabled', 'not-moved']),
    uuid: z.string().optional(),
    /** Mappings of the same function and group on another cluster that were disabled. */
    disabled: z.array(z.string()),
    error: z.string().optional(),
  })
  .strict();
export type MappingMove = z.output<typeof mappingMoveSchema>;

/** Where consumers read now: the active configuration's fields (or its consumers' view). */
interface MappingTarget {
  cluster: ClusterRole;
  bootstrapServers: readonly string[];
  /** Format 2 of the active parameter routes by rule; a listed route (format 1, or an exception) wins. */
  routing?: TopicRouting;
  topics?: Record<string, TopicRoute>;
}

export interface MoveMappingsInput {
  claim: Claim;
  target: MappingTarget;
  /** A mapping already moved by an earlier invocation of this run (by {@link mappingKey}). */
  done(key: string): boolean;
  /** Journal one mapping's outcome before the next one starts. */
  onMoved(key: string, move: MappingMove): Promise<void>;
}

export interface EventSourceMappingDeps {
  lambda: Pick<LambdaClient, 'send'>;
  /** A secret's ARN from its name (source access configurations take ARNs). */
  secretArn(name: string): Promise<string>;
  authority: Pick<EpochAuthority, 'check'>;
  logger: Pick<Logger, 'info' | 'warn'>;
}

export interface EventSourceMappingSettings {
  config: Pick<DeploymentConfig, 'eventSourceMappings' | 'clusters' | 'vpc'>;
  activeCredentialsSecret: string;
}

const keyPrefix = 'event-source-mapping:';

/** The journal key of one mapping: Lambda allows a consumer group in one mapping only. */
export function mappingKey(m: Pick<EventSourceMappingConfig, 'functionName' | 'consumerGroup'>): string {
  return `${keyPrefix}${m.functionName}:${m.consumerGroup}`;
}

/** A journaled step result carries the time it was recorded beside the move. */
const journaledMove = mappingMoveSchema.extend({ at: z.string().optional() });

/** The moves among a run's journaled steps (by step name); a result that does not parse is left out. */
export function journaledMappingMoves(steps: ReadonlyMap<string, unknown>): MappingMove[] {
  const moves: MappingMove[] = [];
  for (const [key, result] of steps) {
    if (!key.startsWith(keyPrefix)) continue;
    const parsed = journaledMove.safeParse(result);
    if (!parsed.success) continue;
    const { at: _at, ...move } = parsed.data;
    moves.push(move);
  }
  return moves;
}

export async function moveEventSourceMappings(
  input: MoveMappingsInput,
  settings: EventSourceMappingSettings,
  deps: EventSourceMappingDeps,
): Promise<MappingMove[]> {
  let claim = input.claim;
  const check = async () => {
    try {
      claim = await deps.authority.check(claim);
    } catch (e: unknown) {
      throw new FencedOut(e);
    }
  };
  const moves: MappingMove[] = [];
  for (const mapping of settings.config.eventSourceMappings) {
    const key = mappingKey(mapping);
    if (input.done(key)) continue;
    const move = await moveOne(mapping, input.target, settings, { ...deps, check });
    if (move.ok) deps.logger.info('event source mapping moved', { ...move });
    else deps.logger.warn('event source mapping not moved', { ...move });
    await input.onMoved(key, move);
    moves.push(move);
  }
  return moves;
}

async function moveOne(
  mapping: EventSourceMappingConfig,
  target: MappingTarget,
  settings: EventSourceMappingSettings,
  deps: EventSourceMappingDeps & { check(): Promise<void> },
): Promise<MappingMove> {
  const topic = targetTopic(mapping, target);
  const base = {
    functionName: mapping.functionName,
    consumerGroup: mapping.consumerGroup,
    cluster: target.cluster,
    topic,
  };
  const disabled: string[] = [];
  try {
    const existing = await listMappings(deps.lambda, mapping.functionName);
    const ofGroup = existing.filter((e) => groupOf(e) === mapping.consumerGroup);
    const isTarget = (e: EventSourceMappingConfiguration) =>
      sameServers(serversOf(e), target.bootstrapServers) && sameTopics(e.Topics, [topic]);
    for (const old of ofGroup.filter((e) => !isTarget(e) && !settledOff.has(e.State ?? ''))) {
      await deps.check();
      await deps.lambda.send(new UpdateEventSourceMappingCommand({ UUID: old.UUID, Enabled: false }));
      disabled.push(old.UUID ?? '');
    }
    const current = ofGroup.find(isTarget);
    if (current?.UUID !== undefined) {
      if (current.State === 'Enabled' || current.State === 'Enabling') {
        return { ...base, ok: true, target: 'already-enabled', uuid: current.UUID, disabled };
      }
      await deps.check();
      await deps.lambda.send(new UpdateEventSourceMappingCommand({ UUID: current.UUID, Enabled: true }));
      return { ...base, ok: true, target: 'enabled', uuid: current.UUID, disabled };
    }
    const access = await sourceAccess(mapping, target.cluster, settings, deps.secretArn);
    await deps.check();
    const created = await deps.lambda.send(
      new CreateEventSourceMappingCommand({
        FunctionName: mapping.functionName,
        Enabled: true,
        Topics: [topic],
        BatchSize: mapping.batchSize,
        StartingPosition: mapping.startingPosition,
        ...(mapping.maximumBatchingWindowInSeconds === undefined
          ? {}
          : { MaximumBatchingWindowInSeconds: mapping.maximumBatchingWindowInSeconds }),
        SelfManagedEventSource: { Endpoints: { KAFKA_BOOTSTRAP_SERVERS: [...target.bootstrapServers] } },
        SelfManagedKafkaEventSourceConfig: { ConsumerGroupId: mapping.consumerGroup },
        ...(access.length > 0 ? { SourceAccessConfigurations: access } : {}),
      }),
    );
    return {
      ...base,
      ok: true,
      target: 'created',
      ...(created.UUID ? { uuid: created.UUID } : {}),
      disabled,
    };
  } catch (e: unknown) {
    // A fenced-out writer stops here: only the mapping's own failures are recorded as its outcome.
    if (e instanceof FencedOut) throw e.error;
    return { ...base, ok: false, target: 'not-moved', disabled, error: describeError(e) };
  }
}

/** Carries the authority's refusal through a mapping's error handling, which records every other failure. */
class FencedOut {
  readonly error: unknown;
  constructor(error: unknown) {
    this.error = error;
  }
}

/** A secret's ARN through DescribeSecret: the active credentials secret is known by name. */
export function secretArnOf(sm: Pick<SecretsManagerClient, 'send'>): (name: string) => Promise<string> {
  return async (name) => {
    let arn: string | undefined;
    try {
      arn = (await sm.send(new DescribeSecretCommand({ SecretId: name }))).ARN;
    } catch (e: unknown) {
      throw mapAwsError(e, `secret ${name}`);
    }
    if (arn === undefined) throw new Mm2FailoverError(`secret ${name}: expected an ARN, found none`);
    return arn;
  };
}

/** The one topic the mapping reads on the target cluster: what consumers subscribe to there. */
function targetTopic(mapping: EventSourceMappingConfig, target: MappingTarget): string {
  const route =
    target.topics?.[mapping.topic] ??
    (target.routing === undefined ? undefined : routeByRule(target.routing, mapping.topic));
  const subscribe = route?.subscribe ?? [];
  if (subscribe.length !== 1) {
    throw new Mm2FailoverError(
      `event source mapping of ${mapping.functionName}: expected topic '${mapping.topic}' to map to one topic on the ${target.cluster} cluster, found ${subscribe.length === 0 ? 'none' : subscribe.join(', ')}`,
    );
  }
  return subscribe[0] as string;
}

async function listMappings(
  lambda: Pick<LambdaClient, 'send'>,
  functionName: string,
): Promise<EventSourceMappingConfiguration[]> {
  const all: EventSourceMappingConfiguration[] = [];
  let marker: string | undefined;
  do {
    const page = await lambda.send(
      new ListEventSourceMappingsCommand({
        FunctionName: functionName,
        ...(marker === undefined ? {} : { Marker: marker }),
      }),
    );
    all.push(...(page.EventSourceMappings ?? []));
    marker = page.NextMarker;
  } while (marker !== undefined);
  return all;
}

function groupOf(e: EventSourceMappingConfiguration): string | undefined {
  return e.SelfManagedKafkaEventSourceConfig?.ConsumerGroupId;
}

function serversOf(e: EventSourceMappingConfiguration): string[] {
  return (e.SelfManagedEventSource?.Endpoints?.KAFKA_BOOTSTRAP_SERVERS ?? []).flatMap((s) => s.split(','));
}

function sameServers(a: readonly string[], b: readonly string[]): boolean {
  const norm = (xs: readonly string[]) =>
    [...new Set(xs.map((x) => x.trim().toLowerCase()))].sort().join(',');
  return a.length > 0 && norm(a) === norm(b);
}

function sameTopics(a: readonly string[] | undefined, b: readonly string[]): boolean {
  return a !== undefined && a.length === b.length && a.every((t, i) => t === b[i]);
}

/**
 * How Lambda authenticates to the target cluster. SASL reads the active credentials secret (its `username` and
 * `password` are the keys Lambda reads); mTLS reads the per-cluster secrets of the mapping's config (the active
 * secret's `cert`/`key` are not Lambda's `certificate`/`privateKey`); a VPC deployment puts the pollers in the
 * functions' subnets.
 */
async function sourceAccess(
  mapping: EventSourceMappingConfig,
  role: ClusterRole,
  settings: EventSourceMappingSettings,
  secretArn: (name: string) => Promise<string>,
): Promise<SourceAccessConfiguration[]> {
  const cluster = settings.config.clusters[role];
  const secrets = mapping.secrets[role] ?? {};
  const access: SourceAccessConfiguration[] = [];
  switch (cluster.auth) {
    case 'mtls':
      if (secrets.clientCertificate === undefined) {
        throw new Mm2FailoverError(
          `event source mapping of ${mapping.functionName}: the ${role} cluster uses mtls, expected secrets.${role}.clientCertificate, found none`,
        );
      }
      access.push({ Type: 'CLIENT_CERTIFICATE_TLS_AUTH', URI: secrets.clientCertificate });
      break;
    case 'sasl-scram':
      access.push({
        Type: cluster.scramMechanism === 'scram-sha-256' ? 'SASL_SCRAM_256_AUTH' : 'SASL_SCRAM_512_AUTH',
        URI: await secretArn(settings.activeCredentialsSecret),
      });
      break;
    case 'sasl-plain':
      access.push({ Type: 'BASIC_AUTH', URI: await secretArn(settings.activeCredentialsSecret) });
      break;
    case 'msk-iam':
      throw new Mm2FailoverError(
        `event source mapping of ${mapping.functionName}: the ${role} cluster uses msk-iam, which a self-managed Kafka event source cannot use`,
      );
    case 'none':
      break;
  }
  if (secrets.serverRootCaCertificate !== undefined) {
    access.push({ Type: 'SERVER_ROOT_CA_CERTIFICATE', URI: secrets.serverRootCaCertificate });
  }
  const vpc = settings.config.vpc;
  if (vpc !== undefined) {
    for (const id of vpc.subnetIds) access.push({ Type: 'VPC_SUBNET', URI: `subnet:${id}` });
    for (const id of vpc.securityGroupIds)
      access.push({ Type: 'VPC_SECURITY_GROUP', URI: `security_group:${id}` });
  }
  return access;
}
