import { MirrorControlError } from '../errors.ts';
import { type Fetch, httpJson } from './http-json.ts';
import type {
  Flow,
  MirrorController,
  MirrorOutcome,
  PartitionPosition,
  ReverseFlowSpec,
} from './mirror-controller.ts';

/**
 * MirrorMaker 2 as connectors on Kafka Connect, driven over its REST API. The forward connectors run on the
 * worker(s) at `forwardUrl` (bootstrap: the secondary), the reverse ones on `reverseUrl` (bootstrap: the primary).
 * Connectors are named `<prefix>-<source alias>-<target alias>-{source,checkpoint,heartbeat}`.
 *
 * Needs Kafka Connect ≥ 3.7: `PUT /connectors/<n>/stop` and the offsets API (KIP-875, 3.6) to stop the forward
 * mirror with its offsets flushed, to start the reverse mirror from the earliest offsets even when a previous
 * failback left offsets behind, and to restart the forward mirror at the primary's current end; creating a
 * connector in the STOPPED state (KIP-980, 3.7) so that nothing is copied before its offsets are reset.
 */
export interface KafkaConnectControllerOptions {
  forwardUrl: string;
  reverseUrl: string;
  connectorPrefix: string;
  primaryAlias: string;
  secondaryAlias: string;
  fetch?: Fetch;
  /** How long one call waits for connectors to reach a state (they move asynchronously). */
  settleTimeoutMs?: number;
  pollIntervalMs?: number;
}

type ConnectorKind = 'source' | 'checkpoint' | 'heartbeat';
const CLASS: Record<ConnectorKind, string> = {
  source: 'org.apache.kafka.connect.mirror.MirrorSourceConnector',
  checkpoint: 'org.apache.kafka.connect.mirror.MirrorCheckpointConnector',
  heartbeat: 'org.apache.kafka.connect.mirror.MirrorHeartbeatConnector',
};
/**
 * The key that tags a reverse connector with the failback run that created it. Kafka Connect keeps keys a
 * connector does not define (MM2 logs them as unused), so the tag travels with the connector's config.
 */
const RUN_TAG = 'mm2-failover.failback-run';
/** MM2's default `topics.exclude`, kept when the template has none. */
const DEFAULT_TOPICS_EXCLUDE = ['.*[\\-\\.]internal', '.*\\.replica', '__.*'];

interface ConnectorStatus {
  connector: { state: string; trace?: string };
  tasks: Array<{ id: number; state: string; trace?: string }>;
}

export class KafkaConnectController implements MirrorController {
  readonly kind = 'kafka-connect' as const;
  readonly canSetForwardOffsets = true;
  readonly #o: Required<Omit<KafkaConnectControllerOptions, 'fetch'>> & { fetch: Fetch | undefined };

  constructor(options: KafkaConnectControllerOptions) {
    this.#o = {
      settleTimeoutMs: 60_000,
      pollIntervalMs: 500,
      ...options,
      forwardUrl: options.forwardUrl.replace(/\/+$/, ''),
      reverseUrl: options.reverseUrl.replace(/\/+$/, ''),
      fetch: options.fetch,
    };
  }

  /** `mm2-primary-secondary-source` etc. */
  connectorName(flow: Flow, kind: ConnectorKind): string {
    const [source, target] = this.#aliases(flow);
    return `${this.#o.connectorPrefix}-${source}-${target}-${kind}`;
  }

  describeChanges(spec: ReverseFlowSpec): string[] {
    const f = (k: ConnectorKind) => this.connectorName('forward', k);
    const r = (k: ConnectorKind) => this.connectorName('reverse', k);
    return [
      `salvage: PUT ${this.#o.forwardUrl}/connectors/{${f('source')},${f('checkpoint')},${f('heartbeat')}}/stop (forward mirror stopped, offsets flushed)`,
      `reverse: POST ${this.#o.reverseUrl}/connectors ${r('source')} and ${r('checkpoint')} in state STOPPED (configuration copied from ${f('source')} with source and target swapped, topics ${spec.topics.join(',')}, excluding ${spec.excludeTopics.join(',')}), DELETE …/offsets (start from the earliest offsets), PUT …/resume`,
      `restore: DELETE ${this.#o.reverseUrl}/connectors/{${r('source')},${r('checkpoint')}}; PATCH ${this.#o.forwardUrl}/connectors/${f('source')}/offsets to the primary's end at the producer switch; PUT …/resume on the forward connectors`,
    ];
  }

  async stopForward(): Promise<MirrorOutcome> {
    const stopped: string[] = [];
    for (const kind of ['source', 'checkpoint', 'heartbeat'] as const) {
      const name = this.connectorName('forward', kind);
      const status = await this.#status(this.#o.forwardUrl, name);
      if (status === undefined || status.connector.state === 'STOPPED') continue;
      await this.#call(
        'PUT',
        this.#o.forwardUrl,
        `/connectors/${enc(name)}/stop`,
        undefined,
        'stop forward mirror',
      );
      stopped.push(name);
    }
    for (const kind of ['source', 'checkpoint', 'heartbeat'] as const) {
      await this.#awaitState(this.#o.forwardUrl, this.connectorName('forward', kind), 'STOPPED', true);
    }
    return {
      done: true,
      detail:
        stopped.length > 0 ? `stopped ${stopped.join(', ')}` : 'forward connectors were already stopped',
    };
  }

  async startReverse(spec: ReverseFlowSpec): Promise<MirrorOutcome> {
    const templateName = this.connectorName('forward', 'source');
    const template = await this.#call(
      'GET',
      this.#o.forwardUrl,
      `/connectors/${enc(templateName)}/config`,
      undefined,
      'read the forward mirror configuration',
      [404],
    );
    if (template.status === 404 || !isStringRecord(template.body)) {
      throw new MirrorControlError(
        `cannot derive the reverse mirror: connector ${templateName} not found on ${this.#o.forwardUrl} (expected the forward MirrorSourceConnector there; check mirror.connectorPrefix)`,
        { status: template.status, retriable: false },
      );
    }
    // Anything found that this run did not create is refused before anything is changed: it may carry offsets
    // of its own, so it could skip records that purge then deletes.
    for (const kind of ['source', 'checkpoint', 'heartbeat'] as const) {
      await this.#refuseForeign(this.connectorName('reverse', kind), spec.runId);
    }
    const done: string[] = [];
    for (const kind of ['source', 'checkpoint'] as const) {
      const name = this.connectorName('reverse', kind);
      const config = this.#reverseConfig(template.body, kind, spec);
      const status = await this.#status(this.#o.reverseUrl, name);
      if (status !== undefined && status.connector.state !== 'STOPPED') {
        // This run's own connector, running or paused: an earlier invocation reset its offsets and resumed it.
        if (status.connector.state === 'PAUSED') {
          await this.#call('PUT', this.#o.reverseUrl, `/connectors/${enc(name)}/resume`, undefined, 'resume');
        }
        continue;
      }
      if (status === undefined) {
        await this.#call(
          'POST',
          this.#o.reverseUrl,
          '/connectors',
          { name, config, initial_state: 'STOPPED' },
          'create the reverse mirror',
          [409],
        );
      } else {
        await this.#call('PUT', this.#o.reverseUrl, `/connectors/${enc(name)}/config`, config, 'configure');
      }
      await this.#awaitState(this.#o.reverseUrl, name, 'STOPPED', false);
      // Offsets left by an earlier failback would make the reverse mirror skip data that purge then deletes.
      await this.#call(
        'DELETE',
        this.#o.reverseUrl,
        `/connectors/${enc(name)}/offsets`,
        undefined,
        'reset the reverse mirror to the earliest offsets',
      );
      await this.#call('PUT', this.#o.reverseUrl, `/connectors/${enc(name)}/resume`, undefined, 'start');
      done.push(name);
    }
    for (const kind of ['source', 'checkpoint'] as const) {
      await this.#awaitState(this.#o.reverseUrl, this.connectorName('reverse', kind), 'RUNNING', false);
    }
    return {
      done: true,
      detail:
        done.length > 0
          ? `started ${done.join(', ')} on ${this.#o.reverseUrl} from the earliest offsets`
          : 'reverse mirror already running',
    };
  }

  async removeReverse(): Promise<MirrorOutcome> {
    const removed: string[] = [];
    for (const kind of ['source', 'checkpoint', 'heartbeat'] as const) {
      const name = this.connectorName('reverse', kind);
      const r = await this.#call(
        'DELETE',
        this.#o.reverseUrl,
        `/connectors/${enc(name)}`,
        undefined,
        'remove',
        [404],
      );
      if (r.status !== 404) removed.push(name);
    }
    return {
      done: true,
      detail: removed.length > 0 ? `removed ${removed.join(', ')}` : 'reverse mirror absent',
    };
  }

  async startForward(startAt?: readonly PartitionPosition[]): Promise<MirrorOutcome> {
    const source = this.connectorName('forward', 'source');
    const status = await this.#status(this.#o.forwardUrl, source);
    if (status === undefined) {
      throw new MirrorControlError(`forward connector ${source} not found on ${this.#o.forwardUrl}`, {
        status: 404,
        retriable: false,
      });
    }
    let moved = 0;
    if (status.connector.state === 'STOPPED' && startAt !== undefined && startAt.length > 0) {
      // MirrorSourceTask resumes at stored offset + 1, so store "the last one copied" = first to copy - 1; a
      // partition that starts at 0 gets no offset at all (null), which makes the task start from the beginning.
      const offsets = startAt.map((p) => ({
        partition: { cluster: this.#o.primaryAlias, topic: p.topic, partition: p.partition },
        offset: p.offset > 0 ? { offset: p.offset - 1 } : null,
      }));
      await this.#call(
        'PATCH',
        this.#o.forwardUrl,
        `/connectors/${enc(source)}/offsets`,
        { offsets },
        'move the forward mirror to the primary end',
      );
      moved = offsets.length;
    }
    for (const kind of ['source', 'checkpoint', 'heartbeat'] as const) {
      const name = this.connectorName('forward', kind);
      const s = await this.#status(this.#o.forwardUrl, name);
      if (s === undefined || s.connector.state === 'RUNNING') continue;
      await this.#call(
        'PUT',
        this.#o.forwardUrl,
        `/connectors/${enc(name)}/resume`,
        undefined,
        'resume forward',
      );
    }
    for (const kind of ['source', 'checkpoint', 'heartbeat'] as const) {
      await this.#awaitState(this.#o.forwardUrl, this.connectorName('forward', kind), 'RUNNING', true);
    }
    return {
      done: true,
      detail: `forward mirror running${moved > 0 ? `, ${moved} partition offsets moved first` : ''}`,
    };
  }

  async lastReplicated(flow: Flow): Promise<PartitionPosition[] | undefined> {
    const url = flow === 'forward' ? this.#o.forwardUrl : this.#o.reverseUrl;
    const name = this.connectorName(flow, 'source');
    const r = await this.#call(
      'GET',
      url,
      `/connectors/${enc(name)}/offsets`,
      undefined,
      'read offsets',
      [404],
    );
    if (r.status === 404) return undefined;
    const [sourceAlias] = this.#aliases(flow);
    const list = (r.body as { offsets?: unknown } | null)?.offsets;
    if (!Array.isArray(list)) {
      throw new MirrorControlError(`GET ${url}/connectors/${name}/offsets: expected { offsets: [...] }`, {
        retriable: false,
      });
    }
    const positions: PartitionPosition[] = [];
    for (const entry of list) {
      const p = (entry as { partition?: Record<string, unknown> }).partition;
      const o = (entry as { offset?: Record<string, unknown> | null }).offset;
      if (!p || !o || p.cluster !== sourceAlias) continue;
      if (typeof p.topic !== 'string' || typeof p.partition !== 'number' || typeof o.offset !== 'number')
        continue;
      positions.push({ topic: p.topic, partition: p.partition, offset: o.offset });
    }
    return positions;
  }

  /** Throw when connector `name` exists on the reverse worker without this run's tag. */
  async #refuseForeign(name: string, runId: string): Promise<void> {
    const status = await this.#status(this.#o.reverseUrl, name);
    if (status === undefined) return;
    const config = await this.#call(
      'GET',
      this.#o.reverseUrl,
      `/connectors/${enc(name)}/config`,
      undefined,
      'read the reverse mirror configuration',
      [404],
    );
    if (config.status === 404) return;
    const tag = isStringRecord(config.body) ? config.body[RUN_TAG] : undefined;
    if (tag === runId) return;
    throw new MirrorControlError(
      `connector ${name} exists on ${this.#o.reverseUrl} (${status.connector.state}) but was not created by ` +
        `failback run ${runId} (${tag === undefined ? 'it carries no run tag' : `it is tagged for run ${tag}`}): ` +
        'it may resume from offsets of its own and skip records that purge would then delete. Check what created ' +
        `it, then remove it (DELETE ${this.#o.reverseUrl}/connectors/${name}) and invoke failback again`,
      { status: 409, retriable: false },
    );
  }

  #aliases(flow: Flow): [string, string] {
    return flow === 'forward'
      ? [this.#o.primaryAlias, this.#o.secondaryAlias]
      : [this.#o.secondaryAlias, this.#o.primaryAlias];
  }

  #reverseConfig(
    template: Record<string, string>,
    kind: ConnectorKind,
    spec: ReverseFlowSpec,
  ): Record<string, string> {
    const swap: Array<[string, string]> = [
      ['source.cluster.', 'target.cluster.'],
      ['source.admin.', 'target.admin.'],
    ];
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries(template)) {
      if (key === 'name') continue;
      const pair = swap.find(([a, b]) => key.startsWith(a) || key.startsWith(b));
      if (pair === undefined) {
        out[key] = value;
        continue;
      }
      const [a, b] = pair;
      out[key.startsWith(a) ? b + key.slice(a.length) : a + key.slice(b.length)] = value;
    }
    const excludes = (template['topics.exclude'] ?? DEFAULT_TOPICS_EXCLUDE.join(','))
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
    out['connector.class'] = CLASS[kind];
    out['source.cluster.alias'] = this.#o.secondaryAlias;
    out['target.cluster.alias'] = this.#o.primaryAlias;
    out.topics = spec.topics.join(',');
    out['topics.exclude'] = [...excludes, ...spec.excludeTopics.map(escapeRegex)].join(',');
    if (spec.groups.length > 0) out.groups = spec.groups.join(',');
    out[RUN_TAG] = spec.runId;
    return out;
  }

  async #status(url: string, name: string): Promise<ConnectorStatus | undefined> {
    const r = await this.#call('GET', url, `/connectors/${enc(name)}/status`, undefined, 'status', [404]);
    if (r.status === 404) return undefined;
    return r.body as ConnectorStatus;
  }

  async #awaitState(url: string, name: string, state: string, absentIsFine: boolean): Promise<void> {
    const deadline = Date.now() + this.#o.settleTimeoutMs;
    let last = 'unknown';
    for (;;) {
      const status = await this.#status(url, name);
      if (status === undefined) {
        if (absentIsFine) return;
        last = 'absent';
      } else {
        const failed = [status.connector, ...status.tasks].find((s) => s.state === 'FAILED');
        if (failed !== undefined) {
          throw new MirrorControlError(
            `connector ${name} on ${url} FAILED: ${(failed.trace ?? '').split('\n')[0] ?? ''}`,
            { retriable: true },
          );
        }
        last = `${status.connector.state} with tasks [${status.tasks.map((t) => t.state).join(',')}]`;
        const tasksOk =
          state === 'STOPPED' ? status.tasks.length === 0 : status.tasks.every((t) => t.state === state);
        if (status.connector.state === state && tasksOk) return;
      }
      if (Date.now() > deadline) {
        throw new MirrorControlError(
          `connector ${name} on ${url} did not reach ${state} within ${this.#o.settleTimeoutMs} ms (last: ${last})`,
          { retriable: true },
        );
      }
      await new Promise((r) => setTimeout(r, this.#o.pollIntervalMs));
    }
  }

  async #call(
    method: 'GET' | 'PUT' | 'POST' | 'PATCH' | 'DELETE',
    url: string,
    path: string,
    body: unknown,
    what: string,
    accept: readonly number[] = [],
  ) {
    return httpJson(method, `${url}${path}`, body, {
      what: `Kafka Connect (${what})`,
      accept,
      ...(this.#o.fetch ? { fetch: this.#o.fetch } : {}),
    });
  }
}

function enc(name: string): string {
  return encodeURIComponent(name);
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function isStringRecord(v: unknown): v is Record<string, string> {
  return (
    v !== null &&
    typeof v === 'object' &&
    !Array.isArray(v) &&
    Object.values(v).every((x) => typeof x === 'string')
  );
}
