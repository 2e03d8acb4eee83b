// `npm run bench:probe`: how long one probe cycle takes (both clusters, lag included) with the watched topics
// holding 10, 1,000 and 10,000 partitions, against a naive baseline in the same run; how fast a dead and a hung
// cluster are judged down; and the peak RSS. Writes bench/results/probe.json.
//
// It starts its own harness (two KRaft clusters, no MirrorMaker: the scaling part measures the probe's per-
// partition work, so the mirrored `primary.<topic>` copies are created directly on the secondary with the same
// partitions, and the probe reads offsets for every partition on both clusters just as with MM2 running).
//
// The naive baseline is kafkajs' public API, `admin.fetchTopicOffsets(topic)` in a loop. kafkajs admin clients
// keep metadataMaxAge at 0, so every call refreshes the metadata of every topic the admin has seen: the loop
// grows quadratically with the number of topics. The probe asks for metadata once per cycle and sends one
// ListOffsets per broker for all partitions.
//
// Environment: BENCH_PARTITIONS_PER_TOPIC (default 10: a cluster with many modest topics), BENCH_RUNS (default 5;
// the naive loop runs at most 3 times at 10,000 partitions, where one pass takes minutes).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type Admin, logLevel } from 'kafkajs';
import { startHarness } from '#harness/harness.ts';
import type { ClusterName } from '#harness/info.ts';
import { kafkaClient } from '#harness/kafka-clients.ts';
import { deploymentPaths } from '#shared/config/paths.ts';
import { type DeploymentConfig, deploymentConfigSchema } from '#shared/config/schema.ts';
import { ClusterConnections } from '#shared/health/cluster-connections.ts';
import { ProbeContext, runProbeCycle } from '#shared/health/probe-cycle.ts';
import type { ProbeResult } from '#shared/health/probe-result.ts';
import { type ClusterClient, createClusterClient } from '#shared/kafka/cluster-client.ts';
import { Redacted } from '#shared/store/redacted.ts';
import type { ParameterStore, SecretStore } from '#shared/store/stores.ts';
import { functionSpecs } from '../infra/function-catalog.ts';

const SCALES = [10, 1_000, 10_000] as const;
const PER_TOPIC = Number(process.env.BENCH_PARTITIONS_PER_TOPIC ?? 10);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const resultsFile = path.join(import.meta.dirname, 'results', 'probe.json');

const log = (line: string) => console.error(`[bench] ${line}`);
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};

/** In-memory stores: the probe reads its cluster definitions through the same interfaces as in Lambda. */
function memoryStores(): { parameters: ParameterStore; secrets: SecretStore } {
  const params = new Map<string, { value: string; version: number }>();
  const secrets = new Map<string, string>();
  return {
    parameters: {
      get: async (name) => params.get(name),
      put: async (name, value) => {
        const version = (params.get(name)?.version ?? 0) + 1;
        params.set(name, { value, version });
        return { version };
      },
    },
    secrets: {
      get: async (name) => (secrets.has(name) ? new Redacted(secrets.get(name) ?? '') : undefined),
      put: async (name, value) => {
        secrets.set(name, value.reveal());
      },
    },
  };
}

/** Topic names for a scale: `PER_TOPIC` partitions each (a single topic for the smallest scale). */
function topicsFor(partitions: number): { name: string; partitions: number }[] {
  if (partitions <= PER_TOPIC) return [{ name: `bench-small-${partitions}`, partitions }];
  return Array.from({ length: partitions / PER_TOPIC }, (_, i) => ({
    name: `bench-t${String(i).padStart(4, '0')}`,
    partitions: PER_TOPIC,
  }));
}

/**
 * Create the missing topics in batches, then wait until every partition has a leader that answers. (kafkajs' own
 * `waitForLeaders` can reject outside the awaited promise while a new topic's metadata settles.)
 */
async function ensureTopics(
  admin: Admin,
  client: ClusterClient,
  topics: { name: string; partitions: number }[],
): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t.name));
  for (let i = 0; i < missing.length; i += 50) {
    const batch = missing.slice(i, i + 50);
    await admin.createTopics({
      topics: batch.map((t) => ({ topic: t.name, numPartitions: t.partitions, replicationFactor: 1 })),
      waitForLeaders: false,
      timeout: 120_000,
    });
  }
  const names = topics.map((t) => t.name);
  const deadline = Date.now() + 600_000;
  for (;;) {
    const md = await client.metadata(names);
    const ready = topics.every((t) => {
      const info = md.topics.get(t.name);
      return info?.partitions.length === t.partitions && info.partitions.every((p) => p.leader >= 0);
    });
    if (ready) {
      // Leaders in metadata are not enough: each partition must also answer ListOffsets on its leader.
      const parts = topics.flatMap((t) =>
        Array.from({ length: t.partitions }, (_, partition) => ({ topic: t.name, partition })),
      );
      const offsets = await client.listOffsets(parts, 'latest');
      if (offsets.every((o) => o.error === undefined)) return;
    }
    if (Date.now() > deadline)
      throw new Error(`topics without leaders after 10 minutes (${names.length} topics)`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

function config(name: string, topics: string[]): DeploymentConfig {
  return deploymentConfigSchema.parse({
    name,
    mode: 'active-passive',
    replicationPolicy: 'default',
    clusters: {
      primary: { alias: 'primary', auth: 'none', expectedBrokers: 1 },
      secondary: { alias: 'secondary', auth: 'none', expectedBrokers: 1 },
    },
    topics,
    mirror: { kind: 'manual' },
    detection: { canaryTopic: 'bench-canary' },
  });
}

// The probe function's configured memory, from the construct's own catalogue (the memory does not depend on the
// topics; a config needs one). Read before the minutes of set-up so that a mistake here fails at once.
const memoryMb = functionSpecs(config('memory', ['bench-memory'])).probe.memoryMb;

interface Rig {
  cycle(): Promise<ProbeResult>;
  close(): Promise<void>;
}

async function probeRig(cfg: DeploymentConfig, bootstrap: Record<ClusterName, string>): Promise<Rig> {
  const stores = memoryStores();
  const paths = deploymentPaths(cfg.name);
  for (const role of ['primary', 'secondary'] as const) {
    await stores.parameters.put(
      paths.clusterParameter(role),
      JSON.stringify({ alias: role, bootstrapServers: bootstrap[role], securityProtocol: 'PLAINTEXT' }),
    );
    await stores.secrets.put(paths.clusterSecret(role), new Redacted('{}'));
  }
  const connections = new ClusterConnections({ config: cfg, stores });
  const context = new ProbeContext(paths);
  const quiet = () => {};
  const deps = {
    clients: connections,
    metrics: { emit: quiet },
    parameters: stores.parameters,
    logger: { debug: quiet, info: quiet, warn: quiet, error: quiet },
    context,
  };
  return { cycle: () => runProbeCycle({ config: cfg }, deps), close: () => connections.closeAll() };
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

const h = await startHarness({ tls: false, moto: false, mirror: false, controlServer: false, log });
const admins: Record<ClusterName, Admin> = {
  primary: kafkaClient(h.info, 'primary').admin(),
  secondary: kafkaClient(h.info, 'secondary').admin(),
};
const bootstrap = {
  primary: h.info.clusters.primary.bootstrapServers,
  secondary: h.info.clusters.secondary.bootstrapServers,
};
const setupClients: Record<ClusterName, ClusterClient> = {
  primary: createClusterClient({
    clientId: 'bench-setup',
    brokers: [bootstrap.primary],
    requestTimeout: 30_000,
    logLevel: logLevel.NOTHING,
  }),
  secondary: createClusterClient({
    clientId: 'bench-setup',
    brokers: [bootstrap.secondary],
    requestTimeout: 30_000,
    logLevel: logLevel.NOTHING,
  }),
};
const rigs: Rig[] = [];
try {
  await Promise.all(Object.values(admins).map((a) => a.connect()));
  const scales: { partitions: number; probeMs: number; naiveMs: number; speedup: number }[] = [];
  const probeRssMbByScale = new Map<number, number>();
  for (const partitions of SCALES) {
    const topics = topicsFor(partitions);
    const created = await timed(() =>
      Promise.all([
        ensureTopics(admins.primary, setupClients.primary, topics),
        ensureTopics(
          admins.secondary,
          setupClients.secondary,
          topics.map((t) => ({ ...t, name: `primary.${t.name}` })),
        ),
      ]),
    );
    log(
      `${partitions} partitions in ${topics.length} topic(s) on each cluster (created in ${(created.ms / 1000).toFixed(1)} s)`,
    );

    const rig = await probeRig(
      config(
        `bench-${partitions}`,
        topics.map((t) => t.name),
      ),
      bootstrap,
    );
    rigs.push(rig);
    // Warm up: clients connect, the canary topics get created, metadata is cached as in a running container.
    for (let i = 0; i < 2; i++) await rig.cycle();
    const probeRuns: number[] = [];
    // The probe's own footprint, sampled while only the probe runs (the process high-water mark below also
    // covers the topic set-up and the naive baseline's kafkajs admins).
    let probeRssMax = 0;
    const sampler = setInterval(() => {
      probeRssMax = Math.max(probeRssMax, process.memoryUsage.rss());
    }, 20);
    for (let i = 0; i < RUNS; i++) {
      const { ms, value } = await timed(() => rig.cycle());
      const { primary, secondary } = value.clusters;
      if (
        primary.verdict === 'down' ||
        secondary.verdict === 'down' ||
        primary.partitions.watched !== partitions
      ) {
        throw new Error(`probe at ${partitions} partitions: ${JSON.stringify(value.clusters)}`);
      }
      probeRuns.push(ms);
    }
    clearInterval(sampler);
    probeRssMbByScale.set(partitions, Math.round(probeRssMax / 2 ** 20));

    // The naive baseline: kafkajs' admin.fetchTopicOffsets topic by topic, a loop per cluster (clusters in
    // parallel, which is generous to it). Warm: its metadata for every topic is cached after the first pass.
    const naive = () =>
      Promise.all(
        (['primary', 'secondary'] as const).map(async (role) => {
          for (const t of topics)
            await admins[role].fetchTopicOffsets(role === 'primary' ? t.name : `primary.${t.name}`);
        }),
      );
    await naive();
    // At 10,000 partitions one naive pass takes minutes (see the note at the top): fewer runs there.
    const naiveRunCount = partitions >= 10_000 ? Math.min(RUNS, 3) : RUNS;
    const naiveRuns: number[] = [];
    for (let i = 0; i < naiveRunCount; i++) naiveRuns.push((await timed(naive)).ms);

    const probeMs = Math.round(median(probeRuns));
    const naiveMs = Math.round(median(naiveRuns));
    scales.push({
      partitions,
      probeMs,
      naiveMs,
      speedup: Number((naiveMs / Math.max(1, probeMs)).toFixed(1)),
    });
    log(
      `${partitions}: probe ${probeMs} ms (runs ${probeRuns.map(Math.round).join(', ')}), naive ${naiveMs} ms (runs ${naiveRuns.map(Math.round).join(', ')})`,
    );
  }

  // Verdict times, on the smallest deployment: from the fault to the cycle's verdict, with warm clients.
  const small = rigs[0];
  if (!small) throw new Error('no rig');
  const verdictAfter = async (what: string, fault: () => Promise<void>): Promise<number> => {
    await small.cycle();
    await fault();
    const faultAt = performance.now();
    const value = await small.cycle();
    const ms = Math.round(performance.now() - faultAt);
    const p = value.clusters.primary;
    if (p.verdict !== 'down') throw new Error(`${what}: expected the primary down, got ${p.verdict}`);
    log(`${what}: down (${p.reasons.join(', ')}) ${ms} ms after the fault`);
    return ms;
  };
  // Hung first: SIGCONT brings the broker straight back. Killed last: restarting a broker that holds 10,000
  // partitions takes minutes on a busy two-core machine, and nothing needs the primary afterwards.
  let hungVerdictMs: number;
  try {
    hungVerdictMs = await verdictAfter('hung primary', () => h.hang('primary'));
  } finally {
    await h.resume('primary');
  }
  for (let attempt = 1; (await small.cycle()).clusters.primary.verdict === 'down'; attempt++) {
    if (attempt >= 60) throw new Error('the primary did not come back after SIGCONT');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  const deadVerdictMs = await verdictAfter('killed primary', () => h.kill('primary'));
  const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
  const largest = Math.max(...scales.map((s) => s.partitions));
  const probeRssMb = probeRssMbByScale.get(largest) ?? null;

  const report = {
    scales,
    deadVerdictMs,
    hungVerdictMs,
    peakRssMb,
    peakRssAt: `${largest} partitions; the bench process's high-water mark (set-up and naive baseline included)`,
    probeRssMb,
    probeRssWhat: `RSS sampled every 20 ms while only probe cycles ran at ${largest} partitions`,
    memoryMb,
    withinMemory: peakRssMb <= memoryMb,
  };
  mkdirSync(path.dirname(resultsFile), { recursive: true });
  writeFileSync(resultsFile, `${JSON.stringify(report, null, 2)}\n`);

  const rows = scales.map((s) => [
    String(s.partitions),
    String(s.probeMs),
    String(s.naiveMs),
    `${s.speedup}x`,
  ]);
  const header = ['partitions', 'probe ms', 'naive ms', 'speedup'];
  const widths = header.map((hd, i) => Math.max(hd.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i] ?? 0)).join('  ');
  console.log(
    `probe cycle (both clusters, lag included) vs kafkajs fetchTopicOffsets per topic; ${PER_TOPIC} partitions per topic; median of ${RUNS}`,
  );
  console.log(line(header));
  for (const r of rows) console.log(line(r));
  console.log(`dead cluster verdict: ${deadVerdictMs} ms (target < 5000)`);
  console.log(`hung cluster verdict: ${hungVerdictMs} ms (target < 8000)`);
  console.log(
    `peak RSS: ${peakRssMb} MB (process), ${probeRssMb} MB while probing ${largest} partitions; probe function memory ${memoryMb} MB: ${peakRssMb <= memoryMb ? 'within' : 'NOT within'}`,
  );
  console.log(`written to ${path.relative(process.cwd(), resultsFile)}`);
} finally {
  await Promise.all([...rigs, ...Object.values(setupClients)].map((r) => r.close()));
  await Promise.all(Object.values(admins).map((a) => a.disconnect()));
  await h.stop();
}
