import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/**
 * A local HTTP stand-in for Aiven's MirrorMaker 2 replication-flow API, strict like the real one is documented
 * (api.aiven.io/doc, "Service: Kafka MirrorMaker"):
 *
 * - `GET|POST /v1/project/{project}/service/{service_name}/mirrormaker/replication-flows`
 * - `GET|PUT|DELETE /v1/project/{project}/service/{service_name}/mirrormaker/replication-flows/{source}/{target}`
 * - `Authorization: aivenv1 <token>` on every call (403 otherwise), JSON bodies with `content-type: application/json`
 * - POST requires `enabled`, `source_cluster`, `target_cluster`; PUT takes the same fields minus source and target;
 *   unknown fields (anything not in the published replication-flow schema, e.g. `topics_exclude`), wrong types and
 *   bad enum values are 400; errors come as `{ message, errors: [{ message, status, error_code }] }`.
 *
 * It keeps the flows in memory and records every request, so tests assert what the controller sent.
 */

interface RecordedRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: unknown;
  status: number;
}

export interface FakeAivenApi {
  url: string;
  flows: Map<string, Record<string, unknown>>;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

const FLOW_FIELDS: Record<string, 'boolean' | 'string' | 'integer' | 'string[]'> = {
  config_properties_exclude: 'string',
  emit_backward_heartbeats_enabled: 'boolean',
  emit_heartbeats_enabled: 'boolean',
  enabled: 'boolean',
  exactly_once_delivery_enabled: 'boolean',
  follower_fetching_enabled: 'boolean',
  offset_lag_max: 'integer',
  offset_syncs_topic_location: 'string',
  replication_factor: 'integer',
  replication_policy_class: 'string',
  sync_group_offsets_enabled: 'boolean',
  sync_group_offsets_interval_seconds: 'integer',
  topics: 'string[]',
  // Aiven's only exclusion list (Apache Kafka renamed MM2's own to topics.exclude in 3.0; Aiven's API kept this).
  'topics.blacklist': 'string[]',
};
const ENUMS: Record<string, readonly string[]> = {
  offset_syncs_topic_location: ['source', 'target'],
  replication_policy_class: [
    'org.apache.kafka.connect.mirror.DefaultReplicationPolicy',
    'org.apache.kafka.connect.mirror.IdentityReplicationPolicy',
  ],
};
const ALIAS = /^[A-Za-z0-9._-]{1,128}$/;
const PATH =
  /^\/v1\/project\/([^/]+)\/service\/([^/]+)\/mirrormaker\/replication-flows(?:\/([^/]+)\/([^/]+))?\/?$/;

export async function startFakeAivenApi(options: {
  project: string;
  service: string;
  token: string;
  flows?: Array<Record<string, unknown>>;
}): Promise<FakeAivenApi> {
  const flows = new Map<string, Record<string, unknown>>();
  for (const f of options.flows ?? []) flows.set(`${f.source_cluster}/${f.target_cluster}`, { ...f });
  const requests: RecordedRequest[] = [];

  const handle = async (
    req: IncomingMessage,
  ): Promise<{ status: number; body: unknown; parsed: unknown }> => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let parsed: unknown;
    if (text.length > 0) {
      try {
        parsed = JSON.parse(text);
      } catch {
        return { ...error(400, 'Invalid JSON body', 'bad_request'), parsed: text };
      }
    }
    if (req.headers.authorization !== `aivenv1 ${options.token}`) {
      return { ...error(403, 'Authentication failed', 'authentication_failed'), parsed };
    }
    const m = PATH.exec(new URL(req.url ?? '/', 'http://x').pathname);
    if (!m) return { ...error(404, 'Not found', 'not_found'), parsed };
    const [, project, service, source, target] = m.map((s) =>
      s === undefined ? undefined : decodeURIComponent(s),
    );
    if (project !== options.project)
      return { ...error(404, 'Project does not exist', 'project_not_found'), parsed };
    if (service !== options.service)
      return { ...error(404, 'Service does not exist', 'service_not_found'), parsed };
    const hasBody = ['POST', 'PUT'].includes(req.method ?? '');
    if (hasBody && !String(req.headers['content-type'] ?? '').startsWith('application/json')) {
      return { ...error(400, 'expected content-type: application/json', 'bad_request'), parsed };
    }
    if (source === undefined) {
      if (req.method === 'GET')
        return { status: 200, body: { replication_flows: [...flows.values()] }, parsed };
      if (req.method !== 'POST') return { ...error(405, 'Method not allowed', 'bad_request'), parsed };
      const problems = validate(parsed, true);
      if (problems.length > 0)
        return { ...error(400, problems.join('; '), 'replication_config_invalid'), parsed };
      const body = parsed as Record<string, unknown>;
      const key = `${body.source_cluster}/${body.target_cluster}`;
      if (flows.has(key))
        return { ...error(409, 'Replication flow already exists', 'replication_already_exists'), parsed };
      flows.set(key, { ...body });
      return { status: 200, body: { message: 'created' }, parsed };
    }
    const key = `${source}/${target}`;
    const flow = flows.get(key);
    if (flow === undefined)
      return { ...error(404, 'Replication flow not found', 'replication_not_found'), parsed };
    switch (req.method) {
      case 'GET':
        return { status: 200, body: { replication_flow: { ...flow, replication_progress: 1 } }, parsed };
      case 'PUT': {
        const problems = validate(parsed, false);
        if (problems.length > 0)
          return { ...error(400, problems.join('; '), 'replication_config_invalid'), parsed };
        Object.assign(flow, parsed);
        return { status: 200, body: { message: 'updated', replication_flow: flow }, parsed };
      }
      case 'DELETE':
        flows.delete(key);
        return { status: 200, body: { message: 'deleted' }, parsed };
      default:
        return { ...error(405, 'Method not allowed', 'bad_request'), parsed };
    }
  };

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    handle(req).then(
      ({ status, body, parsed }) => {
        requests.push({
          method: req.method ?? '',
          path: new URL(req.url ?? '/', 'http://x').pathname,
          authorization: req.headers.authorization,
          contentType: req.headers['content-type'],
          body: parsed,
          status,
        });
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      },
      () => {
        res.writeHead(500);
        res.end();
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('expected a TCP address');
  return {
    url: `http://127.0.0.1:${address.port}`,
    flows,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function error(status: number, message: string, code: string) {
  return { status, body: { message, errors: [{ message, status, error_code: code }] } };
}

function validate(body: unknown, create: boolean): string[] {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return ['expected a JSON object'];
  const b = body as Record<string, unknown>;
  const problems: string[] = [];
  for (const [k, v] of Object.entries(b)) {
    if (create && (k === 'source_cluster' || k === 'target_cluster')) {
      if (typeof v !== 'string' || !ALIAS.test(v)) problems.push(`${k}: expected a cluster alias`);
      continue;
    }
    const type = FLOW_FIELDS[k];
    if (type === undefined) {
      problems.push(`${k}: unknown field`);
      continue;
    }
    const ok =
      type === 'string[]'
        ? Array.isArray(v) && v.length <= 8192 && v.every((x) => typeof x === 'string')
        : type === 'integer'
          ? Number.isInteger(v)
          : typeof v === type;
    if (!ok) problems.push(`${k}: expected ${type}`);
    const allowed = ENUMS[k];
    if (allowed && !allowed.includes(String(v))) problems.push(`${k}: expected one of ${allowed.join(', ')}`);
  }
  if (create) {
    for (const k of ['enabled', 'source_cluster', 'target_cluster']) {
      if (!(k in b)) problems.push(`${k}: required`);
    }
  }
  return problems;
}
