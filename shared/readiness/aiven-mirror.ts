import { describeError } from '../errors.ts';
import { type Fetch, httpJson } from '../failback/http-json.ts';
import type { Redacted } from '../store/redacted.ts';
import { type MirrorSetting, type MirrorSetup, type MirrorUnit, POLICY_CLASSES } from './mirror-setup.ts';
import { DEFAULT_TOPICS_EXCLUDE, filterEntries } from './mm2-filter.ts';

/**
 * MM2's real configuration on Aiven: the replication flow
 * (`GET /v1/project/<project>/service/<service>/mirrormaker/replication-flows/<source>/<target>`), one flow
 * doing what Connect's three connectors do. Aiven has no group filter, no separator and no checkpoint switch in
 * the flow's schema: those settings are not judged.
 */
export interface AivenMirrorOptions {
  apiUrl: string;
  project: string;
  service: string;
  token: () => Promise<Redacted<string>>;
  sourceAlias: string;
  targetAlias: string;
  fetch?: Fetch;
  timeoutMs?: number;
}

/** The flow's field for each setting Aiven has, and its default when the flow does not set it. */
const FIELDS: Partial<
  Record<MirrorSetting, { field: string; default: string; list?: true; boolean?: true }>
> = {
  policyClass: { field: 'replication_policy_class', default: POLICY_CLASSES.default },
  topics: { field: 'topics', default: '.*', list: true },
  // Aiven's API kept MM2's pre-3.0 name for the exclusion list.
  topicsExclude: { field: 'topics.blacklist', default: DEFAULT_TOPICS_EXCLUDE, list: true },
  syncGroupOffsets: { field: 'sync_group_offsets_enabled', default: 'false', boolean: true },
  offsetSyncsLocation: { field: 'offset_syncs_topic_location', default: 'source' },
};

export async function readAivenMirror(options: AivenMirrorOptions): Promise<MirrorSetup> {
  const base = options.apiUrl.replace(/\/+$/, '');
  const { sourceAlias: s, targetAlias: t } = options;
  const path = `/v1/project/${encodeURIComponent(options.project)}/service/${encodeURIComponent(options.service)}/mirrormaker/replication-flows/${encodeURIComponent(s)}/${encodeURIComponent(t)}`;
  const what = `Aiven service ${options.service}`;
  let flow: Record<string, unknown>;
  try {
    const token = await options.token();
    const answer = await httpJson('GET', `${base}${path}`, undefined, {
      what: 'Aiven API (read the replication flow)',
      accept: [404],
      headers: { authorization: `aivenv1 ${token.reveal()}` },
      timeoutMs: options.timeoutMs ?? 10_000,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    if (answer.status === 404) {
      return {
        kind: 'read',
        units: [],
        missing: [
          {
            label: `replication flow ${s} → ${t} on ${what}`,
            found: 'no such flow',
            fix: `create the flow ${s} → ${t} on ${what} (POST ${base}/v1/project/${options.project}/service/${options.service}/mirrormaker/replication-flows)`,
          },
        ],
      };
    }
    const body = (answer.body as { replication_flow?: unknown } | null)?.replication_flow;
    if (body === null || typeof body !== 'object') {
      return { kind: 'unreadable', what, error: `GET ${path}: expected { replication_flow }` };
    }
    flow = body as Record<string, unknown>;
  } catch (e: unknown) {
    return { kind: 'unreadable', what, error: describeError(e) };
  }

  const unit: MirrorUnit = {
    label: `replication flow ${s} → ${t} on ${what}`,
    duties: ['replicate', 'checkpoint', 'heartbeat'],
    setting: (key) => {
      const f = FIELDS[key];
      if (f === undefined) return undefined;
      const v = flow[f.field];
      if (v === undefined || v === null) return f.default;
      return Array.isArray(v) ? v.map(String).join(', ') : String(v);
    },
    keyOf: (key) => FIELDS[key]?.field ?? key,
    patch: (set) => ({
      kind: 'patch-aiven-flow',
      url: `${base}${path}`,
      source: s,
      target: t,
      set: Object.fromEntries(
        Object.entries(set).flatMap(([k, v]) => {
          const f = FIELDS[k as MirrorSetting];
          if (f === undefined || v === undefined) return [];
          return [[f.field, f.list ? filterEntries(v) : f.boolean ? v === 'true' : v]];
        }),
      ),
    }),
    state:
      flow.enabled === false
        ? {
            running: false,
            found: 'enabled: false',
            fix: `a failback disables the forward flow; when none is in progress, PUT ${base}${path} { "enabled": true }`,
          }
        : { running: true },
  };
  return { kind: 'read', units: [unit], missing: [] };
}
