// MirrorMaker 2 as three connectors on a Kafka Connect worker, for any direction: the forward mirror of the
// harness, and the reverse one that failback tests start on the second worker.
import type { MirrorConnectorNames, MirrorDirection, ReplicationPolicyName } from './info.ts';
import { waitFor } from './wait-for.ts';

const BYTE_ARRAY_CONVERTER = 'org.apache.kafka.connect.converters.ByteArrayConverter';
const POLICY_CLASS: Record<ReplicationPolicyName, string> = {
  default: 'org.apache.kafka.connect.mirror.DefaultReplicationPolicy',
  identity: 'org.apache.kafka.connect.mirror.IdentityReplicationPolicy',
};

/** Deadline for connectors and their tasks to reach RUNNING (Kafka's own MM2 tests allow 30 s per step). */
const CONNECTORS_READY_MS = 90_000;
/** Deadline for one REST call, including retries while the worker rebalances. */
const REST_DEADLINE_MS = 60_000;

type Properties = Record<string, string>;

/**
 * The MM2 settings shared by Connect mode and dedicated mode: every replication factor the direction's
 * (1 for one-broker clusters), offset syncs on the target (KIP-716: the source is the cluster that dies), group
 * offsets synced to the target (KIP-545). With the harness's timing (the default) every interval is 1 s instead
 * of minutes and `offset.lag.max` is the direction's (0: exact translation), MM2's best case; with `production`
 * timing MM2 keeps its own defaults (offset.lag.max 100, checkpoints and group-offset syncs every 60 s, topic and
 * group discovery every 10 minutes), as a deployment that never tuned them would run.
 */
export function mirrorSettings(direction: MirrorDirection): Properties {
  const replicationFactor = String(direction.replicationFactor ?? 1);
  const tuned: Properties =
    direction.timing === 'production'
      ? {}
      : {
          'offset.lag.max': String(direction.offsetLagMax),
          'refresh.topics.interval.seconds': '1',
          'refresh.groups.interval.seconds': '1',
          'emit.checkpoints.interval.seconds': '1',
          'emit.heartbeats.interval.seconds': '1',
          'sync.group.offsets.interval.seconds': '1',
          'sync.topic.configs.interval.seconds': '1',
        };
  return {
    'replication.policy.class': POLICY_CLASS[direction.policy],
    'replication.policy.separator': direction.separator,
    topics: '.*',
    groups: '.*',
    'replication.factor': replicationFactor,
    'checkpoints.topic.replication.factor': replicationFactor,
    'heartbeats.topic.replication.factor': replicationFactor,
    'offset-syncs.topic.replication.factor': replicationFactor,
    'offset-syncs.topic.location': 'target',
    ...tuned,
    'sync.group.offsets.enabled': 'true',
    // Kafka's default exclusions plus max.message.bytes: a planned switchover fences the primary's topics with it,
    // and a synced fence would stop MM2's own writes to the secondary (the connector fails on RecordTooLarge).
    'config.properties.exclude':
      'follower\\.replication\\.throttled\\.replicas,leader\\.replication\\.throttled\\.replicas,' +
      'message\\.timestamp\\.difference\\.max\\.ms,log\\.message\\.timestamp\\.before\\.max\\.ms,' +
      'log\\.message\\.timestamp\\.after\\.max\\.ms,message\\.timestamp\\.type,' +
      'unclean\\.leader\\.election\\.enable,min\\.insync\\.replicas,max\\.message\\.bytes',
    // No authorizer on the harness brokers: describing ACLs would only log errors.
    'sync.topic.acls.enabled': 'false',
  };
}

/** The same mirror the other way round (failback's secondary -> primary), with the same policy. */
export function reverseOf(direction: MirrorDirection): MirrorDirection {
  return { ...direction, source: direction.target, target: direction.source };
}

/** `mm2-primary-secondary-source` etc.: stable per direction, so a re-created mirror resumes its offsets. */
export function mirrorConnectorNames(direction: MirrorDirection): MirrorConnectorNames {
  const base = `mm2-${direction.source.alias}-${direction.target.alias}`;
  return { source: `${base}-source`, checkpoint: `${base}-checkpoint`, heartbeat: `${base}-heartbeat` };
}

/** The three connector configs for `PUT /connectors/<name>/config`, keyed by connector name. */
function mirrorConnectorConfigs(direction: MirrorDirection): Record<string, Properties> {
  const names = mirrorConnectorNames(direction);
  const common: Properties = {
    'source.cluster.alias': direction.source.alias,
    'target.cluster.alias': direction.target.alias,
    'source.cluster.bootstrap.servers': direction.source.bootstrapServers,
    'target.cluster.bootstrap.servers': direction.target.bootstrapServers,
    ...mirrorSettings(direction),
    'tasks.max': '1',
    // Otherwise Connect's JSON converter would wrap every record.
    'key.converter': BYTE_ARRAY_CONVERTER,
    'value.converter': BYTE_ARRAY_CONVERTER,
    'header.converter': BYTE_ARRAY_CONVERTER,
  };
  const connector = (className: string): Properties => ({
    ...common,
    'connector.class': `org.apache.kafka.connect.mirror.${className}`,
  });
  return {
    [names.source]: connector('MirrorSourceConnector'),
    [names.checkpoint]: connector('MirrorCheckpointConnector'),
    [names.heartbeat]: connector('MirrorHeartbeatConnector'),
  };
}

export interface ConnectorStatus {
  name: string;
  connector: { state: string; trace?: string };
  tasks: { id: number; state: string; trace?: string }[];
}

/** Thrown when Kafka Connect refuses a request for good (a bad config), or a task failed. */
class ConnectRestError extends Error {
  readonly status: number | undefined;
  constructor(message: string, status?: number, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConnectRestError';
    this.status = status;
  }
}

/**
 * Creates (or updates) the direction's three connectors and waits until they and their tasks run.
 * The source and checkpoint connectors have no task until they find a topic or group to mirror.
 */
export async function createMirror(
  connectUrl: string,
  direction: MirrorDirection,
  timeoutMs = CONNECTORS_READY_MS,
): Promise<MirrorConnectorNames> {
  for (const [name, config] of Object.entries(mirrorConnectorConfigs(direction))) {
    await connectRequest(connectUrl, 'PUT', `/connectors/${encodeURIComponent(name)}/config`, config);
  }
  await awaitMirrorState(connectUrl, direction, 'RUNNING', timeoutMs);
  return mirrorConnectorNames(direction);
}

/** Deletes the direction's connectors; their committed offsets stay in the worker's offsets topic. */
export async function deleteMirror(connectUrl: string, direction: MirrorDirection): Promise<void> {
  for (const name of Object.values(mirrorConnectorNames(direction))) {
    await connectRequest(connectUrl, 'DELETE', `/connectors/${encodeURIComponent(name)}`, undefined, [404]);
  }
}

export async function pauseMirror(
  connectUrl: string,
  direction: MirrorDirection,
  timeoutMs = CONNECTORS_READY_MS,
): Promise<void> {
  for (const name of Object.values(mirrorConnectorNames(direction))) {
    await connectRequest(connectUrl, 'PUT', `/connectors/${encodeURIComponent(name)}/pause`);
  }
  await awaitMirrorState(connectUrl, direction, 'PAUSED', timeoutMs);
}

export async function resumeMirror(
  connectUrl: string,
  direction: MirrorDirection,
  timeoutMs = CONNECTORS_READY_MS,
): Promise<void> {
  for (const name of Object.values(mirrorConnectorNames(direction))) {
    await connectRequest(connectUrl, 'PUT', `/connectors/${encodeURIComponent(name)}/resume`);
  }
  await awaitMirrorState(connectUrl, direction, 'RUNNING', timeoutMs);
}

/** Restarts connectors and tasks that FAILED (e.g. after a cluster was down for long), then waits. */
export async function restartFailedMirror(
  connectUrl: string,
  direction: MirrorDirection,
  timeoutMs = CONNECTORS_READY_MS,
): Promise<void> {
  for (const name of Object.values(mirrorConnectorNames(direction))) {
    await connectRequest(
      connectUrl,
      'POST',
      `/connectors/${encodeURIComponent(name)}/restart?includeTasks=true&onlyFailed=true`,
    );
  }
  await awaitMirrorState(connectUrl, direction, 'RUNNING', timeoutMs);
}

export async function mirrorStatus(
  connectUrl: string,
  direction: MirrorDirection,
): Promise<ConnectorStatus[]> {
  const statuses: ConnectorStatus[] = [];
  for (const name of Object.values(mirrorConnectorNames(direction))) {
    statuses.push(await connectorStatus(connectUrl, name));
  }
  return statuses;
}

async function connectorStatus(connectUrl: string, name: string): Promise<ConnectorStatus> {
  const body = await connectRequest(connectUrl, 'GET', `/connectors/${encodeURIComponent(name)}/status`);
  return body as ConnectorStatus;
}

/**
 * Waits until every connector of the direction, and each of its tasks, is in `state`; the heartbeat
 * connector must have its one task. A FAILED task ends the wait at once, with its stack trace.
 */
async function awaitMirrorState(
  connectUrl: string,
  direction: MirrorDirection,
  state: 'RUNNING' | 'PAUSED',
  timeoutMs = CONNECTORS_READY_MS,
): Promise<ConnectorStatus[]> {
  const names = mirrorConnectorNames(direction);
  return waitFor(
    async () => {
      const statuses = await mirrorStatus(connectUrl, direction);
      for (const status of statuses) {
        const failed = [status.connector, ...status.tasks].find((s) => s.state === 'FAILED');
        if (failed !== undefined) {
          throw new ConnectRestError(`connector ${status.name} FAILED:\n${failed.trace ?? '(no trace)'}`);
        }
      }
      const settled = statuses.every(
        (s) =>
          s.connector.state === state &&
          s.tasks.every((t) => t.state === state) &&
          (s.name !== names.heartbeat || s.tasks.length > 0),
      );
      return settled && statuses;
    },
    {
      timeoutMs,
      intervalMs: 500,
      what: `MM2 connectors ${direction.source.alias}->${direction.target.alias} on ${connectUrl} to be ${state}`,
      giveUpOn: (e) => e instanceof ConnectRestError && e.status === undefined,
    },
  );
}

/**
 * One Kafka Connect REST call. While the worker is still joining its group or rebalancing it answers 409
 * or 5xx (or does not listen yet): those are retried until the deadline; a 400 (bad config) is not.
 */
async function connectRequest(
  connectUrl: string,
  method: 'GET' | 'PUT' | 'POST' | 'DELETE',
  path: string,
  body?: unknown,
  acceptStatuses: readonly number[] = [],
): Promise<unknown> {
  return waitFor(
    async () => {
      const response = await fetch(`${connectUrl}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? null : JSON.stringify(body),
        signal: AbortSignal.timeout(20_000),
      });
      const text = await response.text();
      if (response.ok || acceptStatuses.includes(response.status)) {
        return text === '' ? {} : (JSON.parse(text) as unknown);
      }
      // 409 while rebalancing, 5xx while joining the group, 404 just after a create: retried until the deadline.
      throw new ConnectRestError(`${method} ${path} -> ${response.status}: ${text}`, response.status);
    },
    {
      timeoutMs: REST_DEADLINE_MS,
      intervalMs: 500,
      what: `Kafka Connect at ${connectUrl} to accept ${method} ${path}`,
      giveUpOn: (e) => e instanceof ConnectRestError && e.status !== undefined && isFinal(e.status),
    },
  );
}

function isFinal(status: number): boolean {
  return status !== 409 && status < 500 && status !== 404;
}
