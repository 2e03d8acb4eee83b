import { MirrorControlError } from '../errors.ts';
import type { Redacted } from '../store/redacted.ts';
import { type Fetch, httpJson } from './http-json.ts';
import type {
  MirrorController,
  MirrorOutcome,
  PartitionPosition,
  ReverseFlowSpec,
} from './mirror-controller.ts';

/**
 * An Aiven for Apache Kafka MirrorMaker 2 service, through Aiven's replication-flow API:
 *
 * - `GET    /v1/project/<project>/service/<service>/mirrormaker/replication-flows/<source>/<target>`
 * - `POST   /v1/project/<project>/service/<service>/mirrormaker/replication-flows` (body names source and target)
 * - `PUT    /v1/project/<project>/service/<service>/mirrormaker/replication-flows/<source>/<target>` (partial update)
 * - `DELETE /v1/project/<project>/service/<service>/mirrormaker/replication-flows/<source>/<target>`
 *
 * with `Authorization: aivenv1 <token>`. Sources and targets are the integration cluster aliases.
 *
 * What the API cannot do, and what failback does instead:
 * - There is no offsets API, so the forward flow cannot be moved to the primary's end
 *   (`canSetForwardOffsets = false`): restore first empties the secondary's stale copies so that the re-enabled
 *   forward flow rebuilds them from the primary without duplicates; salvage measures the replicated position from
 *   MM2's offset syncs (conservative: a few records may be both on the secondary and in quarantine).
 * - An existing secondary → primary flow cannot be reset to the earliest offsets, so one that failback did not
 *   create itself is refused: purge would otherwise delete data the flow then skips.
 */
export interface AivenControllerOptions {
  apiUrl: string;
  project: string;
  service: string;
  /** The API token, read on first use (from the Secrets Manager secret `mirror.tokenSecret`). */
  token: () => Promise<Redacted<string>>;
  primaryAlias: string;
  secondaryAlias: string;
  fetch?: Fetch;
}

/** Fields Aiven reports on a flow that are not settable. */
const READ_ONLY_FIELDS = new Set(['replication_progress', 'source_cluster', 'target_cluster']);
const DEFAULT_TOPICS_EXCLUDE = ['.*[\\-\\.]internal', '.*\\.replica', '__.*'];

export class AivenController implements MirrorController {
  readonly kind = 'aiven' as const;
  readonly canSetForwardOffsets = false;
  readonly #o: AivenControllerOptions;

  constructor(options: AivenControllerOptions) {
    this.#o = { ...options, apiUrl: options.apiUrl.replace(/\/+$/, '') };
  }

  describeChanges(spec: ReverseFlowSpec): string[] {
    const { primaryAlias: p, secondaryAlias: s } = this.#o;
    return [
      `salvage: PUT ${this.#flowPath(p, s)} { enabled: false } (forward flow stopped)`,
      `reverse: POST ${this.#base()} { source_cluster: '${s}', target_cluster: '${p}', enabled: true, topics: [${spec.topics.join(', ')}], 'topics.blacklist' adds [${spec.excludeTopics.join(', ')}] } (settings copied from the forward flow)`,
      `restore: DELETE ${this.#flowPath(s, p)}; the secondary's stale copies emptied; PUT ${this.#flowPath(p, s)} { enabled: true }`,
    ];
  }

  async stopForward(): Promise<MirrorOutcome> {
    const { primaryAlias: p, secondaryAlias: s } = this.#o;
    const flow = await this.#get(p, s);
    if (flow === undefined) return { done: true, detail: `no replication flow ${p} → ${s}` };
    if (flow.enabled === false)
      return { done: true, detail: `replication flow ${p} → ${s} already disabled` };
    await this.#call('PUT', this.#flowPath(p, s), { enabled: false }, 'disable the forward flow');
    return { done: true, detail: `replication flow ${p} → ${s} disabled` };
  }

  async startReverse(spec: ReverseFlowSpec): Promise<MirrorOutcome> {
    const { primaryAlias: p, secondaryAlias: s } = this.#o;
    const existing = await this.#get(s, p);
    if (existing !== undefined) {
      if (!spec.requestedBefore) {
        throw new MirrorControlError(
          `a replication flow ${s} → ${p} already exists on Aiven service ${this.#o.service}; Aiven's API cannot reset its offsets, so it may skip records that purge would then delete. Delete it (DELETE ${this.#flowPath(s, p)}) and run failback again`,
          { status: 409, retriable: false },
        );
      }
      if (existing.enabled !== true) {
        await this.#call('PUT', this.#flowPath(s, p), { enabled: true }, 'enable the reverse flow');
      }
      return { done: true, detail: `replication flow ${s} → ${p} enabled` };
    }
    const forward = (await this.#get(p, s)) ?? {};
    const body: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(forward)) if (!READ_ONLY_FIELDS.has(k)) body[k] = v;
    // Aiven's exclusion list keeps MM2's pre-3.0 name: `topics.blacklist` (there is no `topics.exclude` field).
    const blacklist = forward['topics.blacklist'];
    const excludes = Array.isArray(blacklist) ? (blacklist as string[]) : DEFAULT_TOPICS_EXCLUDE;
    Object.assign(body, {
      source_cluster: s,
      target_cluster: p,
      enabled: true,
      topics: [...spec.topics],
      'topics.blacklist': [...excludes, ...spec.excludeTopics.map(escapeRegex)],
    });
    await this.#call('POST', this.#base(), body, 'create the reverse flow');
    return { done: true, detail: `replication flow ${s} → ${p} created` };
  }

  async removeReverse(): Promise<MirrorOutcome> {
    const { primaryAlias: p, secondaryAlias: s } = this.#o;
    const r = await this.#call('DELETE', this.#flowPath(s, p), undefined, 'delete the reverse flow', [404]);
    return {
      done: true,
      detail: r.status === 404 ? `no replication flow ${s} → ${p}` : `flow ${s} → ${p} deleted`,
    };
  }

  async startForward(_startAt?: readonly PartitionPosition[]): Promise<MirrorOutcome> {
    const { primaryAlias: p, secondaryAlias: s } = this.#o;
    const flow = await this.#get(p, s);
    if (flow === undefined) {
      throw new MirrorControlError(
        `no replication flow ${p} → ${s} on Aiven service ${this.#o.service} to enable`,
        {
          status: 404,
          retriable: false,
        },
      );
    }
    if (flow.enabled !== true)
      await this.#call('PUT', this.#flowPath(p, s), { enabled: true }, 'enable forward');
    return { done: true, detail: `replication flow ${p} → ${s} enabled` };
  }

  async lastReplicated(): Promise<PartitionPosition[] | undefined> {
    return undefined;
  }

  async #get(source: string, target: string): Promise<Record<string, unknown> | undefined> {
    const r = await this.#call(
      'GET',
      this.#flowPath(source, target),
      undefined,
      'read a replication flow',
      [404],
    );
    if (r.status === 404) return undefined;
    const flow = (r.body as { replication_flow?: unknown } | null)?.replication_flow;
    if (flow === null || typeof flow !== 'object') {
      throw new MirrorControlError(
        `Aiven: GET ${this.#flowPath(source, target)}: expected { replication_flow }`,
        {
          retriable: false,
        },
      );
    }
    return flow as Record<string, unknown>;
  }

  #base(): string {
    const { apiUrl, project, service } = this.#o;
    return `${apiUrl}/v1/project/${encodeURIComponent(project)}/service/${encodeURIComponent(service)}/mirrormaker/replication-flows`;
  }

  #flowPath(source: string, target: string): string {
    return `${this.#base()}/${encodeURIComponent(source)}/${encodeURIComponent(target)}`;
  }

  async #call(
    method: 'GET' | 'PUT' | 'POST' | 'DELETE',
    url: string,
    body: unknown,
    what: string,
    accept: readonly number[] = [],
  ) {
    const token = await this.#o.token();
    return httpJson(method, url, body, {
      what: `Aiven API (${what})`,
      accept,
      headers: { authorization: `aivenv1 ${token.reveal()}` },
      ...(this.#o.fetch ? { fetch: this.#o.fetch } : {}),
    });
  }
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
