import * as z from 'zod';
import { describeError } from '../errors.ts';
import { type Fetch, httpJson } from '../failback/http-json.ts';
import {
  type MirrorDuty,
  type MirrorSetting,
  type MirrorSetup,
  type MirrorUnit,
  type MissingUnit,
  POLICY_CLASSES,
  type UnitState,
} from './mirror-setup.ts';
import { DEFAULT_GROUPS_EXCLUDE, DEFAULT_TOPICS_EXCLUDE } from './mm2-filter.ts';

/**
 * MM2's real configuration on Kafka Connect, read in one call per worker
 * (`GET /connectors?expand=info&expand=status`: every connector's config and state). The deployment names the
 * connectors `<prefix>-<source alias>-<target alias>-{source,checkpoint,heartbeat}` (failback drives them by these
 * names), so a connector under another name counts as missing.
 */
export interface KafkaConnectMirrorOptions {
  /** The worker(s) whose connectors write into the direction's target. */
  url: string;
  connectorPrefix: string;
  sourceAlias: string;
  targetAlias: string;
  fetch?: Fetch;
  timeoutMs?: number;
}

const KINDS: Record<MirrorDuty, { suffix: string; className: string }> = {
  replicate: { suffix: 'source', className: 'MirrorSourceConnector' },
  checkpoint: { suffix: 'checkpoint', className: 'MirrorCheckpointConnector' },
  heartbeat: { suffix: 'heartbeat', className: 'MirrorHeartbeatConnector' },
};

/** Connect's property for each setting, and MM2's default when the property is unset. */
const PROPERTIES: Record<MirrorSetting, { keys: readonly string[]; default: string }> = {
  policyClass: { keys: ['replication.policy.class'], default: POLICY_CLASSES.default },
  separator: { keys: ['replication.policy.separator'], default: '.' },
  topics: { keys: ['topics'], default: '.*' },
  // MM2 reads the pre-3.0 name when the new one is unset.
  topicsExclude: { keys: ['topics.exclude', 'topics.blacklist'], default: DEFAULT_TOPICS_EXCLUDE },
  groups: { keys: ['groups'], default: '.*' },
  groupsExclude: { keys: ['groups.exclude', 'groups.blacklist'], default: DEFAULT_GROUPS_EXCLUDE },
  emitCheckpoints: { keys: ['emit.checkpoints.enabled'], default: 'true' },
  syncGroupOffsets: { keys: ['sync.group.offsets.enabled'], default: 'false' },
  offsetSyncsLocation: { keys: ['offset-syncs.topic.location'], default: 'source' },
};

const stateSchema = z.object({ state: z.string(), trace: z.string().optional() });
const expandedSchema = z.record(
  z.string(),
  z.object({
    info: z.object({ config: z.record(z.string(), z.string()) }),
    status: z.object({ connector: stateSchema, tasks: z.array(stateSchema.extend({ id: z.int() })) }),
  }),
);

export async function readKafkaConnectMirror(options: KafkaConnectMirrorOptions): Promise<MirrorSetup> {
  const url = options.url.replace(/\/+$/, '');
  const what = `Kafka Connect at ${url}`;
  let connectors: z.output<typeof expandedSchema>;
  try {
    const answer = await httpJson('GET', `${url}/connectors?expand=info&expand=status`, undefined, {
      what: 'Kafka Connect (read the mirror connectors)',
      timeoutMs: options.timeoutMs ?? 10_000,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    const parsed = expandedSchema.safeParse(answer.body);
    if (!parsed.success) {
      return {
        kind: 'unreadable',
        what,
        error: 'GET /connectors?expand=info&expand=status: expected { <name>: { info: { config }, status } }',
      };
    }
    connectors = parsed.data;
  } catch (e: unknown) {
    return { kind: 'unreadable', what, error: describeError(e) };
  }

  const units: MirrorUnit[] = [];
  const missing: MissingUnit[] = [];
  for (const duty of ['replicate', 'checkpoint', 'heartbeat'] as const) {
    const { suffix, className } = KINDS[duty];
    const name = `${options.connectorPrefix}-${options.sourceAlias}-${options.targetAlias}-${suffix}`;
    const found = connectors[name];
    if (found === undefined) {
      const present = Object.keys(connectors);
      missing.push({
        label: `connector ${name} on ${url}`,
        found: present.length === 0 ? 'no connectors' : `connectors ${present.sort().join(', ')}`,
        fix: `create ${name} (${className}, source.cluster.alias=${options.sourceAlias}, target.cluster.alias=${options.targetAlias}) on ${url}, or set mirror.connectorPrefix to the prefix the connectors have`,
      });
      continue;
    }
    units.push(connectorUnit(url, name, duty, found.info.config, found.status));
  }
  return { kind: 'read', units, missing };
}

function connectorUnit(
  url: string,
  name: string,
  duty: MirrorDuty,
  config: Record<string, string>,
  status: z.output<typeof expandedSchema>[string]['status'],
): MirrorUnit {
  return {
    label: `connector ${name} on ${url}`,
    duties: [duty],
    setting: (key) => {
      const p = PROPERTIES[key];
      for (const k of p.keys) {
        const v = config[k];
        if (v !== undefined) return v.trim();
      }
      return p.default;
    },
    keyOf: (key) => PROPERTIES[key].keys[0] ?? key,
    patch: (set) => ({
      kind: 'patch-connector',
      url,
      connector: name,
      set: Object.fromEntries(
        Object.entries(set).map(([k, v]) => [PROPERTIES[k as MirrorSetting].keys[0] ?? k, v ?? '']),
      ),
    }),
    state: stateOf(url, name, status),
  };
}

function stateOf(
  url: string,
  name: string,
  status: z.output<typeof expandedSchema>[string]['status'],
): UnitState {
  const states = [status.connector.state, ...status.tasks.map((t) => t.state)];
  if (states.every((s) => s === 'RUNNING')) return { running: true };
  const found = `connector ${status.connector.state}, tasks [${status.tasks.map((t) => `${t.id}: ${t.state}`).join(', ')}]`;
  if (states.includes('FAILED')) {
    return {
      running: false,
      found,
      fix: `POST ${url}/connectors/${name}/restart?includeTasks=true&onlyFailed=true (read the task's trace first: GET ${url}/connectors/${name}/status)`,
      action: { kind: 'restart-connector', url, connector: name },
    };
  }
  if (status.connector.state === 'PAUSED') {
    return {
      running: false,
      found,
      fix: `PUT ${url}/connectors/${name}/resume`,
      action: { kind: 'resume-connector', url, connector: name },
    };
  }
  if (status.connector.state === 'STOPPED') {
    // Failback stops the forward mirror on purpose: resuming it then would copy stale data over the salvage.
    return {
      running: false,
      found,
      fix: `a failback stops the forward mirror; when none is in progress, PUT ${url}/connectors/${name}/resume`,
    };
  }
  return {
    running: false,
    found,
    fix: `wait for the worker to assign it; if it stays, check the worker at ${url}`,
  };
}
