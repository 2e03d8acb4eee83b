import { tpKey } from '#shared/kafka/topic-partition.ts';
import type { MemoryMirror } from './fakes.ts';

/**
 * Kafka Connect's REST API over a {@link MemoryMirror}, as far as the real KafkaConnectController uses it, so that
 * failback tests drive the controller itself rather than the mirror fake's shortcuts. The connectors decide what
 * the mirror copies: the forward flow runs while the forward source connector is RUNNING, the reverse flow while
 * the reverse source connector is RUNNING, each from the offsets its connector holds. As in Kafka Connect, a
 * connector's offsets outlive the connector: deleting one and creating it again under the same name resumes from
 * where the old one was, until `DELETE …/offsets` forgets them.
 */
interface Connector {
  config: Record<string, string>;
  state: 'RUNNING' | 'PAUSED' | 'STOPPED';
}

export interface ConnectOverMemory {
  fetch(url: string, init: RequestInit): Promise<Response>;
  /**
   * Leave a reverse flow behind as an earlier failback would: source and checkpoint connectors RUNNING with `tag`
   * (or none) as their run tag, and the source's offsets at `positions` (last copied offset per partition).
   */
  leaveReverseFlow(
    tag: string | undefined,
    positions: ReadonlyArray<{ topic: string; partition: number; offset: number }>,
  ): void;
  /** What an operator does on the controller's refusal: delete the reverse connectors (their offsets stay). */
  deleteReverseConnectors(): string[];
}

const RUN_TAG = 'mm2-failover.failback-run';

export function connectOverMemory(
  mirror: MemoryMirror,
  o: { forwardHost: string; reverseHost: string; prefix: string; primary: string; secondary: string },
): ConnectOverMemory {
  const forwardConfig = {
    'connector.class': 'org.apache.kafka.connect.mirror.MirrorSourceConnector',
    'source.cluster.alias': o.primary,
    'target.cluster.alias': o.secondary,
    'source.cluster.bootstrap.servers': `${o.primary}:9092`,
    'target.cluster.bootstrap.servers': `${o.secondary}:9092`,
    'replication.policy.class': 'org.apache.kafka.connect.mirror.IdentityReplicationPolicy',
    topics: '.*',
  };
  const forwardNames = ['source', 'checkpoint', 'heartbeat'].map(
    (k) => `${o.prefix}-${o.primary}-${o.secondary}-${k}`,
  );
  const reverseSource = `${o.prefix}-${o.secondary}-${o.primary}-source`;
  const reverse = new Map<string, Connector>();

  // The forward connectors' state is the mirror's: the drill's outage stops the forward flow before the crash.
  const forwardState = (): Connector['state'] => (mirror.forward === 'running' ? 'RUNNING' : 'STOPPED');
  const syncReverse = () => {
    mirror.reverse = reverse.get(reverseSource)?.state === 'RUNNING' ? 'running' : 'absent';
  };
  const json = (status: number, body: unknown) =>
    new Response(body === undefined ? '' : JSON.stringify(body), {
      status,
      headers: { 'content-type': 'application/json' },
    });
  const offsetsOf = (flow: 'forward' | 'reverse', cluster: string) =>
    [...mirror.positions[flow].entries()].map(([k, offset]) => {
      const i = k.lastIndexOf(':');
      return {
        partition: { cluster, topic: k.slice(0, i), partition: Number(k.slice(i + 1)) },
        offset: { offset },
      };
    });

  const fetch = async (url: string, init: RequestInit): Promise<Response> => {
    const u = new URL(url);
    const method = init.method ?? 'GET';
    const body = typeof init.body === 'string' ? (JSON.parse(init.body) as unknown) : undefined;
    if (u.host === o.forwardHost) {
      const m = /^\/connectors\/([^/]+)\/(\w+)$/.exec(u.pathname);
      const name = decodeURIComponent(m?.[1] ?? '');
      const action = m?.[2];
      if (!forwardNames.includes(name)) return json(404, { message: `Connector ${name} not found` });
      const state = forwardState();
      if (method === 'GET' && action === 'status')
        return json(200, { connector: { state }, tasks: state === 'STOPPED' ? [] : [{ id: 0, state }] });
      if (method === 'GET' && action === 'config') return json(200, { ...forwardConfig, name });
      if (method === 'GET' && action === 'offsets') {
        mirror.poll();
        return json(200, { offsets: name.endsWith('-source') ? offsetsOf('forward', o.primary) : [] });
      }
      if (method === 'PUT' && action === 'stop') {
        mirror.forward = 'stopped';
        return json(202, undefined);
      }
      if (method === 'PUT' && action === 'resume') {
        if (mirror.reverse === 'running') return json(500, { message: 'cycle: reverse still running' });
        mirror.forward = 'running';
        return json(202, undefined);
      }
      if (method === 'PATCH' && action === 'offsets') {
        if (state !== 'STOPPED') return json(400, { message: 'Connectors must be in the STOPPED state' });
        for (const e of (
          body as {
            offsets: Array<{
              partition: { topic: string; partition: number };
              offset: { offset: number } | null;
            }>;
          }
        ).offsets) {
          const key = tpKey(e.partition.topic, e.partition.partition);
          if (e.offset === null) mirror.positions.forward.delete(key);
          else mirror.positions.forward.set(key, e.offset.offset);
        }
        return json(200, { message: 'altered' });
      }
      return json(405, { message: 'unsupported' });
    }
    if (u.host !== o.reverseHost) throw new TypeError(`fetch failed: no worker at ${u.host}`);
    if (method === 'POST' && u.pathname === '/connectors') {
      const b = body as { name: string; config: Record<string, string>; initial_state?: string };
      if (reverse.has(b.name)) return json(409, { message: `Connector ${b.name} already exists` });
      reverse.set(b.name, { config: b.config, state: b.initial_state === 'STOPPED' ? 'STOPPED' : 'RUNNING' });
      syncReverse();
      return json(201, { name: b.name });
    }
    const m = /^\/connectors\/([^/]+)(?:\/(\w+))?$/.exec(u.pathname);
    const name = decodeURIComponent(m?.[1] ?? '');
    const action = m?.[2];
    const c = reverse.get(name);
    if (c === undefined) return json(404, { message: `Connector ${name} not found` });
    const isSource = name === reverseSource;
    if (method === 'GET' && action === 'status')
      return json(200, {
        connector: { state: c.state },
        tasks: c.state === 'STOPPED' ? [] : [{ id: 0, state: c.state }],
      });
    if (method === 'GET' && action === 'config') return json(200, c.config);
    if (method === 'GET' && action === 'offsets') {
      mirror.poll();
      return json(200, { offsets: isSource ? offsetsOf('reverse', o.secondary) : [] });
    }
    if (method === 'PUT' && action === 'config') {
      c.config = body as Record<string, string>;
      return json(200, {});
    }
    if (method === 'PUT' && (action === 'stop' || action === 'resume')) {
      if (action === 'resume' && mirror.forward === 'running')
        return json(500, { message: 'cycle: forward still running' });
      c.state = action === 'stop' ? 'STOPPED' : 'RUNNING';
      syncReverse();
      return json(202, undefined);
    }
    if (method === 'DELETE' && action === 'offsets') {
      if (c.state !== 'STOPPED') return json(400, { message: 'Connectors must be in the STOPPED state' });
      if (isSource) mirror.resetFlow('reverse');
      return json(200, { message: 'reset' });
    }
    if (method === 'DELETE' && action === undefined) {
      reverse.delete(name);
      syncReverse();
      return json(204, undefined);
    }
    return json(405, { message: 'unsupported' });
  };

  return {
    fetch,
    leaveReverseFlow(tag, positions) {
      for (const kind of ['source', 'checkpoint']) {
        reverse.set(`${o.prefix}-${o.secondary}-${o.primary}-${kind}`, {
          config: {
            'connector.class': `org.apache.kafka.connect.mirror.Mirror${kind}`,
            ...(tag ? { [RUN_TAG]: tag } : {}),
          },
          state: 'RUNNING',
        });
      }
      for (const p of positions) mirror.positions.reverse.set(tpKey(p.topic, p.partition), p.offset);
      syncReverse();
    },
    deleteReverseConnectors() {
      const names = [...reverse.keys()];
      reverse.clear();
      syncReverse();
      return names;
    },
  };
}
