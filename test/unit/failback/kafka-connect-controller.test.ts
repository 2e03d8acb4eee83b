import { describe, expect, it } from 'vitest';
import { MirrorControlError } from '#shared/errors.ts';
import { KafkaConnectController } from '#shared/failback/kafka-connect-controller.ts';

interface Connector {
  config: Record<string, string>;
  state: 'RUNNING' | 'PAUSED' | 'STOPPED';
  offsets: Array<{ partition: Record<string, unknown>; offset: Record<string, unknown> | null }>;
}

/** Kafka Connect's REST API as far as the controller uses it, with its rules (offsets only while STOPPED). */
function fakeConnect(initial: Record<string, Record<string, Connector>>) {
  const workers = initial;
  const calls: string[] = [];
  const bodies: Record<string, unknown> = {};
  const json = (status: number, body: unknown) =>
    new Response(body === undefined ? '' : JSON.stringify(body), {
      status,
      headers: { 'content-type': 'application/json' },
    });
  const fetch = async (url: string, init: RequestInit): Promise<Response> => {
    const u = new URL(url);
    const worker = workers[u.host] ?? {};
    workers[u.host] = worker;
    const method = init.method ?? 'GET';
    calls.push(`${method} ${u.host}${u.pathname}`);
    const body = typeof init.body === 'string' ? (JSON.parse(init.body) as unknown) : undefined;
    if (body !== undefined) bodies[`${method} ${u.pathname}`] = body;
    if (method === 'POST' && u.pathname === '/connectors') {
      const b = body as { name: string; config: Record<string, string>; initial_state?: string };
      if (worker[b.name]) return json(409, { message: 'exists' });
      worker[b.name] = {
        config: b.config,
        state: b.initial_state === 'STOPPED' ? 'STOPPED' : 'RUNNING',
        offsets: [
          { partition: { cluster: 'secondary', topic: 'orders', partition: 0 }, offset: { offset: 41 } },
        ],
      };
      return json(201, { name: b.name });
    }
    const m = /^\/connectors\/([^/]+)(?:\/(\w+))?$/.exec(u.pathname);
    const name = decodeURIComponent(m?.[1] ?? '');
    const c = worker[name];
    const action = m?.[2];
    if (!c) return json(404, { message: `Connector ${name} not found` });
    if (method === 'GET' && action === 'status') {
      return json(200, {
        name,
        connector: { state: c.state },
        tasks: c.state === 'STOPPED' ? [] : [{ id: 0, state: c.state }],
      });
    }
    if (method === 'GET' && action === 'config') return json(200, c.config);
    if (method === 'GET' && action === 'offsets') return json(200, { offsets: c.offsets });
    if (method === 'PUT' && (action === 'stop' || action === 'resume')) {
      c.state = action === 'stop' ? 'STOPPED' : 'RUNNING';
      return json(202, undefined);
    }
    if (method === 'PUT' && action === 'config') {
      c.config = body as Record<string, string>;
      return json(200, {});
    }
    if (method === 'DELETE' && action === 'offsets') {
      if (c.state !== 'STOPPED') return json(400, { message: 'Connectors must be in the STOPPED state' });
      c.offsets = [];
      return json(200, { message: 'reset' });
    }
    if (method === 'PATCH' && action === 'offsets') {
      if (c.state !== 'STOPPED') return json(400, { message: 'Connectors must be in the STOPPED state' });
      c.offsets = (body as { offsets: Connector['offsets'] }).offsets;
      return json(200, { message: 'altered' });
    }
    if (method === 'DELETE' && action === undefined) {
      delete worker[name];
      return json(204, undefined);
    }
    return json(405, { message: 'unsupported' });
  };
  return { fetch, calls, bodies, workers };
}

const forwardConfig = {
  'connector.class': 'org.apache.kafka.connect.mirror.MirrorSourceConnector',
  'source.cluster.alias': 'primary',
  'target.cluster.alias': 'secondary',
  'source.cluster.bootstrap.servers': 'p:9092',
  'target.cluster.bootstrap.servers': 's:9092',
  'source.cluster.security.protocol': 'SSL',
  'replication.policy.class': 'org.apache.kafka.connect.mirror.IdentityReplicationPolicy',
  topics: '.*',
  name: 'mm2-primary-secondary-source',
};

function setup() {
  const running = (config: Record<string, string>): Connector => ({
    config,
    state: 'RUNNING',
    offsets: [
      { partition: { cluster: 'primary', topic: 'orders', partition: 0 }, offset: { offset: 99 } },
      { partition: { cluster: 'primary', topic: 'orders', partition: 1 }, offset: { offset: 57 } },
    ],
  });
  const connect = fakeConnect({
    'fwd:8083': {
      'mm2-primary-secondary-source': running(forwardConfig),
      'mm2-primary-secondary-checkpoint': running({
        ...forwardConfig,
        'connector.class': 'x.MirrorCheckpointConnector',
      }),
      'mm2-primary-secondary-heartbeat': running({
        ...forwardConfig,
        'connector.class': 'x.MirrorHeartbeatConnector',
      }),
    },
    'rev:8083': {},
  });
  const controller = new KafkaConnectController({
    forwardUrl: 'http://fwd:8083/',
    reverseUrl: 'http://rev:8083',
    connectorPrefix: 'mm2',
    primaryAlias: 'primary',
    secondaryAlias: 'secondary',
    fetch: connect.fetch,
    pollIntervalMs: 1,
    settleTimeoutMs: 1_000,
  });
  return { connect, controller };
}

describe('KafkaConnectController', () => {
  it('stops the three forward connectors (KIP-875 stop) and reads their exact source offsets', async () => {
    // Arrange
    const { connect, controller } = setup();

    // Act
    await controller.stopForward();
    const offsets = await controller.lastReplicated('forward');

    // Assert
    expect(connect.calls.filter((c) => c.startsWith('PUT'))).toEqual([
      'PUT fwd:8083/connectors/mm2-primary-secondary-source/stop',
      'PUT fwd:8083/connectors/mm2-primary-secondary-checkpoint/stop',
      'PUT fwd:8083/connectors/mm2-primary-secondary-heartbeat/stop',
    ]);
    expect(offsets).toEqual([
      { topic: 'orders', partition: 0, offset: 99 },
      { topic: 'orders', partition: 1, offset: 57 },
    ]);
  });

  it('creates the reverse connectors STOPPED, resets their offsets, then resumes them, with source and target swapped', async () => {
    // Arrange
    const { connect, controller } = setup();
    await controller.stopForward();

    // Act
    await controller.startReverse({
      topics: ['orders'],
      excludeTopics: ['mm2-failover.quarantine'],
      groups: ['billing'],
      runId: 'run-A',
      requestedBefore: false,
    });

    // Assert
    const rev = connect.calls.filter((c) => c.includes('rev:8083') && !c.startsWith('GET'));
    expect(rev).toEqual([
      'POST rev:8083/connectors',
      'DELETE rev:8083/connectors/mm2-secondary-primary-source/offsets',
      'PUT rev:8083/connectors/mm2-secondary-primary-source/resume',
      'POST rev:8083/connectors',
      'DELETE rev:8083/connectors/mm2-secondary-primary-checkpoint/offsets',
      'PUT rev:8083/connectors/mm2-secondary-primary-checkpoint/resume',
    ]);
    const source = connect.workers['rev:8083']?.['mm2-secondary-primary-source'];
    expect(source?.state).toBe('RUNNING');
    expect(source?.offsets).toEqual([]);
    expect(source?.config).toMatchObject({
      'source.cluster.alias': 'secondary',
      'target.cluster.alias': 'primary',
      'source.cluster.bootstrap.servers': 's:9092',
      'target.cluster.bootstrap.servers': 'p:9092',
      'target.cluster.security.protocol': 'SSL',
      'replication.policy.class': 'org.apache.kafka.connect.mirror.IdentityReplicationPolicy',
      topics: 'orders',
      'topics.exclude': '.*[\\-\\.]internal,.*\\.replica,__.*,mm2-failover\\.quarantine',
      groups: 'billing',
    });
    expect(source?.config.name).toBeUndefined();
  });

  it('leaves a reverse connector that is already running alone when called again', async () => {
    // Arrange
    const { connect, controller } = setup();
    const spec = {
      topics: ['orders'],
      excludeTopics: ['q'],
      groups: [],
      runId: 'run-A',
      requestedBefore: true,
    };
    await controller.startReverse(spec);
    connect.calls.length = 0;

    // Act
    await controller.startReverse(spec);

    // Assert
    expect(connect.calls.filter((c) => !c.startsWith('GET'))).toEqual([]);
  });

  it('refuses a running reverse connector this failback run did not create, leaving its offsets alone', async () => {
    // Arrange: a reverse source connector left behind by someone else, with offsets of its own.
    const { connect, controller } = setup();
    await controller.stopForward();
    const reverseWorker = connect.workers['rev:8083'] ?? {};
    connect.workers['rev:8083'] = reverseWorker;
    reverseWorker['mm2-secondary-primary-source'] = {
      config: { ...forwardConfig, 'source.cluster.alias': 'secondary', 'target.cluster.alias': 'primary' },
      state: 'RUNNING',
      offsets: [
        { partition: { cluster: 'secondary', topic: 'orders', partition: 0 }, offset: { offset: 41 } },
      ],
    };

    // Act
    const e = await controller
      .startReverse({
        topics: ['orders'],
        excludeTopics: [],
        groups: [],
        runId: 'run-A',
        requestedBefore: false,
      })
      .catch((x: unknown) => x);

    // Assert
    expect(e).toBeInstanceOf(MirrorControlError);
    expect((e as Error).message).toContain(
      'mm2-secondary-primary-source exists on http://rev:8083 (RUNNING) but was not created by failback run run-A',
    );
    expect((e as Error).message).toContain('DELETE http://rev:8083/connectors/mm2-secondary-primary-source');
    const left = connect.workers['rev:8083']?.['mm2-secondary-primary-source'];
    expect(left?.offsets).toEqual([
      { partition: { cluster: 'secondary', topic: 'orders', partition: 0 }, offset: { offset: 41 } },
    ]);
    expect(connect.calls.filter((c) => c.includes('rev:8083') && !c.startsWith('GET'))).toEqual([]);
  });

  it('tags the reverse connectors with the failback run and adopts them only for that run', async () => {
    // Arrange
    const { connect, controller } = setup();
    await controller.stopForward();
    const spec = {
      topics: ['orders'],
      excludeTopics: [],
      groups: [],
      runId: 'run-A',
      requestedBefore: false,
    };
    await controller.startReverse(spec);

    // Act
    const again = await controller.startReverse({ ...spec, requestedBefore: true });
    const other = await controller.startReverse({ ...spec, runId: 'run-B' }).catch((x: unknown) => x);

    // Assert
    expect(
      connect.workers['rev:8083']?.['mm2-secondary-primary-source']?.config['mm2-failover.failback-run'],
    ).toBe('run-A');
    expect(again).toEqual({ done: true, detail: 'reverse mirror already running' });
    expect(other).toBeInstanceOf(MirrorControlError);
  });

  it('moves the forward source offsets to the cut (stored as the last copied offset) before resuming', async () => {
    // Arrange
    const { connect, controller } = setup();
    await controller.stopForward();

    // Act
    await controller.startForward([
      { topic: 'orders', partition: 0, offset: 130 },
      { topic: 'orders', partition: 1, offset: 0 },
    ]);

    // Assert
    expect(connect.bodies['PATCH /connectors/mm2-primary-secondary-source/offsets']).toEqual({
      offsets: [
        { partition: { cluster: 'primary', topic: 'orders', partition: 0 }, offset: { offset: 129 } },
        { partition: { cluster: 'primary', topic: 'orders', partition: 1 }, offset: null },
      ],
    });
    const patch = connect.calls.indexOf('PATCH fwd:8083/connectors/mm2-primary-secondary-source/offsets');
    const resume = connect.calls.indexOf('PUT fwd:8083/connectors/mm2-primary-secondary-source/resume');
    expect(patch).toBeGreaterThan(-1);
    expect(resume).toBeGreaterThan(patch);
  });

  it('refuses to derive a reverse mirror when the forward connector is not where the config says', async () => {
    // Arrange
    const wrongPrefix = new KafkaConnectController({
      forwardUrl: 'http://fwd:8083',
      reverseUrl: 'http://rev:8083',
      connectorPrefix: 'mirror',
      primaryAlias: 'primary',
      secondaryAlias: 'secondary',
      fetch: setup().connect.fetch,
    });

    // Act
    const e = await wrongPrefix
      .startReverse({
        topics: ['orders'],
        excludeTopics: [],
        groups: [],
        runId: 'run-A',
        requestedBefore: false,
      })
      .catch((x: unknown) => x);

    // Assert
    expect(e).toBeInstanceOf(MirrorControlError);
    expect((e as Error).message).toContain(
      'connector mirror-primary-secondary-source not found on http://fwd:8083',
    );
  });

  it('removes the reverse connectors, treating absent ones as removed', async () => {
    // Arrange
    const { controller } = setup();

    // Act
    const outcome = await controller.removeReverse();

    // Assert
    expect(outcome).toEqual({ done: true, detail: 'reverse mirror absent' });
  });
});
