import { deploymentPaths } from '#shared/config/paths.ts';
import type { ClusterRole, DeploymentConfig, DeploymentConfigInput } from '#shared/config/schema.ts';
import { deploymentConfigSchema } from '#shared/config/schema.ts';
import { LockHeldError } from '#shared/errors.ts';
import type { FailoverDeps } from '#shared/failover/failover.ts';
import type { ProbeOutcome, ReplicationLag } from '#shared/failover/preflight.ts';
import { parseTpKey, tpKey } from '#shared/kafka/topic-partition.ts';
import type { Notification, Notifier } from '#shared/notify/notification.ts';
import type { Checkpoint, SecondaryGroupOffsets } from '#shared/offsets/offset-translation.ts';
import type { JournalEntry, RunJournal } from '#shared/store/dynamo-journal.ts';
import type { DeploymentLock, Lease } from '#shared/store/dynamo-lock.ts';
import { MemoryEpochAuthority } from '../../fakes/epoch-authority.ts';
import { FakeRegions, FakeStores } from '../../fakes/stores.ts';

/** Fakes of the failover's dependencies, with the semantics of the real ones where exactly-once depends on it. */

export const PRIMARY_CREDS = {
  ca: '-----BEGIN CERTIFICATE-----\nPRIMARY-CA\n-----END CERTIFICATE-----',
  cert: '-----BEGIN CERTIFICATE-----\nPRIMARY-CERT\n-----END CERTIFICATE-----',
  key: '-----BEGIN PRIVATE KEY-----\nPRIMARY-SECRET-KEY\n-----END PRIVATE KEY-----',
};
export const SECONDARY_CREDS = {
  ca: '-----BEGIN CERTIFICATE-----\nSECONDARY-CA\n-----END CERTIFICATE-----',
  cert: '-----BEGIN CERTIFICATE-----\nSECONDARY-CERT\n-----END CERTIFICATE-----',
  key: '-----BEGIN PRIVATE KEY-----\nSECONDARY-SECRET-KEY\n-----END PRIVATE KEY-----',
};
/** Substrings that must never appear in a log, a result, a plan or a notification. */
export const SECRET_MARKERS = [
  'PRIMARY-SECRET-KEY',
  'SECONDARY-SECRET-KEY',
  'SECONDARY-CERT',
  'PRIMARY-CERT',
];

export function testConfig(overrides: Partial<DeploymentConfigInput> = {}): DeploymentConfig {
  return deploymentConfigSchema.parse({
    name: 'orders-dr',
    mode: 'active-passive',
    replicationPolicy: 'default',
    clusters: {
      primary: { alias: 'primary', auth: 'mtls', expectedBrokers: 1 },
      secondary: { alias: 'secondary', auth: 'mtls', expectedBrokers: 1 },
    },
    topics: ['orders', 'payments'],
    consumerGroups: ['billing'],
    detection: { confirmProbes: 3, confirmIntervalMs: 1000 },
    mirror: { kind: 'manual' },
    ...overrides,
  });
}

/** Stores holding both clusters' operator-written parameter and secret. */
export function seededStores(config: DeploymentConfig): FakeStores {
  const stores = new FakeStores();
  const paths = deploymentPaths(config.name);
  const seed = (role: ClusterRole, port: number, creds: object) => {
    stores.params.set(paths.clusterParameter(role), {
      value: JSON.stringify({
        alias: config.clusters[role].alias,
        bootstrapServers: `127.0.0.1:${port}`,
        securityProtocol: 'SSL',
      }),
      version: 1,
    });
    stores.secretValues.set(paths.clusterSecret(role), JSON.stringify(creds));
  };
  seed('primary', 19092, PRIMARY_CREDS);
  seed('secondary', 29092, SECONDARY_CREDS);
  return stores;
}

export class FakeClock {
  t: number;
  readonly sleeps: number[] = [];
  constructor(start = Date.parse('2026-11-21T12:00:00.000Z')) {
    this.t = start;
  }
  now = (): number => this.t;
  sleep = async (ms: number): Promise<void> => {
    this.sleeps.push(ms);
    this.t += ms;
  };
}

/** The DynamoDB lock's semantics: one holder, a lease, the same holder may take it again. */
export class FakeLock implements DeploymentLock {
  holder: string | undefined;
  leaseUntil = 0;
  acquisitions = 0;
  readonly leaseMs: number;
  readonly #clock: { now(): number };
  constructor(clock: { now(): number }, leaseMs = 120_000) {
    this.#clock = clock;
    this.leaseMs = leaseMs;
  }
  async acquire(holder: string): Promise<Lease> {
    await Promise.resolve();
    const now = this.#clock.now();
    if (this.holder !== undefined && this.holder !== holder && this.leaseUntil >= now) {
      throw new LockHeldError('lock#orders-dr', this.holder);
    }
    const previous = this.holder;
    this.holder = holder;
    this.leaseUntil = now + this.leaseMs;
    this.acquisitions++;
    return previous !== undefined && previous !== holder
      ? { holder, leaseUntil: this.leaseUntil, tookOverFrom: previous }
      : { holder, leaseUntil: this.leaseUntil };
  }
  async release(holder: string): Promise<void> {
    if (this.holder === holder) this.holder = undefined;
  }
  /** What the journal's transactions check. */
  renew(holder: string): void {
    if (this.holder !== holder) throw new LockHeldError('lock#orders-dr', `someone other than ${holder}`);
    this.leaseUntil = this.#clock.now() + this.leaseMs;
  }
}

/** The DynamoDB journal's semantics: begin once per run id, writes fenced by the lock, JSON round trips. */
export class FakeJournal implements RunJournal {
  readonly entries = new Map<string, JournalEntry>();
  readonly #lock: FakeLock;
  readonly #clock: { now(): number };
  constructor(lock: FakeLock, clock: { now(): number }) {
    this.#lock = lock;
    this.#clock = clock;
  }
  async latest(): Promise<JournalEntry | undefined> {
    const ids = [...this.entries.keys()].sort();
    const last = ids.at(-1);
    return last === undefined ? undefined : structuredClone(this.entries.get(last));
  }
  async begin(runId: string, plan: unknown, holder: string): Promise<void> {
    this.#lock.renew(holder);
    if (this.entries.has(runId)) throw new Error(`run ${runId} was already started`);
    const at = new Date(this.#clock.now()).toISOString();
    this.entries.set(runId, {
      kind: 'failover',
      runId,
      status: 'in-progress',
      plan: JSON.parse(JSON.stringify(plan)),
      steps: [],
      startedAt: at,
      startedBy: holder,
      updatedAt: at,
    });
  }
  async recordStep(runId: string, step: string, result: unknown, holder: string): Promise<void> {
    this.#lock.renew(holder);
    const e = this.#inProgress(runId);
    e.steps.push({ name: step, result: JSON.parse(JSON.stringify(result ?? null)) });
  }
  async finish(runId: string, status: 'completed' | 'abandoned', outcome: unknown, holder: string) {
    this.#lock.renew(holder);
    const e = this.#inProgress(runId);
    e.status = status;
    e.outcome = JSON.parse(JSON.stringify(outcome ?? null));
  }
  #inProgress(runId: string): JournalEntry {
    const e = this.entries.get(runId);
    if (e?.status !== 'in-progress') throw new Error(`run ${runId} is not in progress`);
    return e;
  }
}

class FakeNotifier implements Notifier {
  readonly sent: Notification[] = [];
  fail = false;
  async publish(n: Notification) {
    if (this.fail) throw new Error('SNS is down');
    this.sent.push(n);
    return { messageId: `m-${this.sent.length}` };
  }
}

/** A secondary cluster's consumer groups: checkpoints, states and committed offsets. */
export class FakeSecondaryGroups implements SecondaryGroupOffsets {
  checkpoints: Checkpoint[] = [];
  readonly states = new Map<string, { state: string; members: number }>();
  /** group -> tpKey(topic, partition) -> offset */
  readonly committed = new Map<string, Map<string, number>>();
  readonly commits: Array<{
    group: string;
    topic: string;
    partitions: Array<{ partition: number; offset: number }>;
  }> = [];
  failCheckpoints = false;

  async readCheckpoints(groups: readonly string[]) {
    if (this.failCheckpoints) throw new Error('checkpoints topic unreadable');
    return this.checkpoints.filter((c) => groups.includes(c.group));
  }
  async describeGroup(group: string) {
    return this.states.get(group) ?? { state: 'Dead', members: 0 };
  }
  async committedOffsets(group: string, topics: readonly string[]) {
    const m = this.committed.get(group) ?? new Map<string, number>();
    return [...m.entries()]
      .map(([k, offset]) => ({ ...parseTpKey(k), offset }))
      .filter((c) => topics.includes(c.topic));
  }
  async commitOffsets(
    group: string,
    topic: string,
    partitions: Array<{ partition: number; offset: number }>,
  ) {
    const state = this.states.get(group);
    if (state && state.members > 0) throw new Error(`group ${group} has active members`);
    this.commits.push({ group, topic, partitions });
    const m = this.committed.get(group) ?? new Map<string, number>();
    for (const p of partitions) m.set(tpKey(topic, p.partition), p.offset);
    this.committed.set(group, m);
  }
}

export interface Harness {
  config: DeploymentConfig;
  stores: FakeStores;
  clock: FakeClock;
  lock: FakeLock;
  journal: FakeJournal;
  authority: MemoryEpochAuthority;
  notifier: FakeNotifier;
  groups: FakeSecondaryGroups;
  probes: { primary: ProbeOutcome[]; secondary: ProbeOutcome };
  probeCalls: ClusterRole[];
  lag: ReplicationLag | undefined;
  logs: string[];
  deps: FailoverDeps;
  regionStores: Map<string, FakeStores>;
}

const down: ProbeOutcome = { verdict: 'down', reasons: ['connection refused'] };

/** Everything a failover needs, healthy for a switch: primary down, secondary up, lag small. */
export function failoverHarness(config = testConfig()): Harness {
  const clock = new FakeClock();
  const lock = new FakeLock(clock);
  const regions = new FakeRegions();
  const h: Omit<Harness, 'deps'> = {
    config,
    stores: seededStores(config),
    clock,
    lock,
    journal: new FakeJournal(lock, clock),
    authority: new MemoryEpochAuthority(lock, clock),
    notifier: new FakeNotifier(),
    groups: new FakeSecondaryGroups(),
    probes: { primary: [down, down, down], secondary: { verdict: 'up', reasons: [] } },
    probeCalls: [],
    lag: {
      measuredAt: new Date(clock.now() - 20_000).toISOString(),
      backlogRecords: 12,
      lagSeconds: 3,
      topics: [
        { topic: 'orders', backlogRecords: 10, lagSeconds: 3 },
        { topic: 'payments', backlogRecords: 2, lagSeconds: 1 },
      ],
    },
    logs: [],
    regionStores: regions.byRegion,
  };
  let primaryProbe = 0;
  const logger = (level: string) => (message: string, extra?: Record<string, unknown>) => {
    h.logs.push(`${level} ${message} ${JSON.stringify(extra ?? {})}`);
  };
  const harness = h as Harness;
  harness.deps = {
    config,
    paths: deploymentPaths(config.name),
    stores: h.stores,
    regionStores: regions.regionStores,
    homeRegion: 'eu-west-1',
    lock,
    journal: h.journal,
    authority: h.authority,
    versions: h.stores.versions,
    reprobe: async (role) => {
      h.probeCalls.push(role);
      if (role === 'secondary') return harness.probes.secondary;
      const p = harness.probes.primary[Math.min(primaryProbe++, harness.probes.primary.length - 1)];
      return p ?? down;
    },
    readLag: async () => harness.lag,
    secondaryGroups: h.groups,
    notifier: h.notifier,
    clock: { now: clock.now, sleep: clock.sleep },
    logger: { info: logger('info'), warn: logger('warn'), error: logger('error') },
  };
  return harness;
}
