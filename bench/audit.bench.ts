// `npm run bench:audit`: how long the standby readiness audit takes for 1,000 watched topics on the harness
// (target: 2 s), against a naive per-topic loop measured in the same run. Writes bench/results/audit.json.
//
// It starts its own harness (identity policy, MM2 in Connect mode, no TLS, no moto) and creates the topics on both
// clusters itself (BENCH_AUDIT_PARTITIONS partitions each, default 3), so that MM2 only finds them there; the
// audit then reads both clusters, MM2's connectors over Connect's REST API, and the flow's heartbeats.
//
// The naive loop is the same audit (same judges, same findings) over clusters that answer every batched read
// with one request per topic: a Metadata and a DescribeConfigs request per topic and cluster, which is what
// auditing topic by topic costs. Median of BENCH_RUNS audits (default 5) after one warm-up; the naive loop runs
// BENCH_NAIVE_RUNS times (default 1: one pass takes
// over a minute).
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Admin } from 'kafkajs';
import { startHarness } from '#harness/harness.ts';
import type { ClusterName } from '#harness/info.ts';
import { kafkaClient } from '#harness/kafka-clients.ts';
import { waitFor } from '#harness/wait-for.ts';
import { type DeploymentConfig, deploymentConfigSchema } from '#shared/config/schema.ts';
import { createClusterClient } from '#shared/kafka/cluster-client.ts';
import { auditReadiness, type ReadinessReport } from '#shared/readiness/audit.ts';
import { readinessDependencies } from '#shared/readiness/dependencies.ts';
import { readKafkaConnectMirror } from '#shared/readiness/kafka-connect-mirror.ts';
import { KafkajsReadinessCluster } from '#shared/readiness/kafkajs-readiness-cluster.ts';
import type { ReadinessCluster, TopicConfigs, TopicLayouts } from '#shared/readiness/readiness-cluster.ts';

const TOPICS = 1_000;
const PARTITIONS = Number(process.env.BENCH_AUDIT_PARTITIONS ?? 3);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const NAIVE_RUNS = Number(process.env.BENCH_NAIVE_RUNS ?? 1);
const TARGET_MS = 2_000;
const resultsFile = path.join(import.meta.dirname, 'results', 'audit.json');

const log = (line: string) => console.error(`[bench] ${line}`);
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};
const topicNames = Array.from({ length: TOPICS }, (_, i) => `audit-t${String(i).padStart(4, '0')}`);

/** Every batched read split into one request per topic, one after another. */
function perTopic(inner: ReadinessCluster): ReadinessCluster {
  return {
    describeTopics: async (topics) => {
      const out: TopicLayouts = { brokers: 0, topics: new Map() };
      for (const t of topics) {
        const one = await inner.describeTopics([t]);
        out.brokers = one.brokers;
        for (const [k, v] of one.topics) out.topics.set(k, v);
      }
      return out;
    },
    describeTopicConfigs: async (topics, names) => {
      const out = new Map<string, TopicConfigs>();
      for (const t of topics)
        for (const [k, v] of await inner.describeTopicConfigs([t], names)) out.set(k, v);
      return out;
    },
    describeAcls: () => inner.describeAcls(),
    newestRecords: (topic, count) => inner.newestRecords(topic, count),
  };
}

async function createTopics(admin: Admin): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = topicNames.filter((t) => !existing.has(t));
  for (let i = 0; i < missing.length; i += 100) {
    await admin.createTopics({
      topics: missing
        .slice(i, i + 100)
        .map((topic) => ({ topic, numPartitions: PARTITIONS, replicationFactor: 1 })),
      waitForLeaders: false,
      timeout: 120_000,
    });
  }
}

function summarise(r: ReadinessReport): string {
  const counts = new Map<string, number>();
  for (const f of r.findings) counts.set(f.code, (counts.get(f.code) ?? 0) + 1);
  return [...counts].map(([c, n]) => `${c} ×${n}`).join(', ') || 'none';
}

async function main(): Promise<void> {
  log(
    `starting a harness (identity policy, MM2 in Connect mode); ${TOPICS} topics × ${PARTITIONS} partitions`,
  );
  const h = await startHarness({ policy: 'identity', tls: false, moto: false, controlServer: false, log });
  try {
    const bootstrap: Record<ClusterName, string> = {
      primary: h.info.clusters.primary.bootstrapServers,
      secondary: h.info.clusters.secondary.bootstrapServers,
    };
    const connectUrl = h.info.mirror.connectUrl;
    if (!connectUrl) throw new Error('expected MM2 in Connect mode');
    // The copies first, so that MM2 finds them in place instead of creating 1,000 topics itself.
    for (const role of ['secondary', 'primary'] as const) {
      const admin = kafkaClient(h.info, role).admin();
      await admin.connect();
      await createTopics(admin);
      await admin.disconnect();
    }
    const config: DeploymentConfig = deploymentConfigSchema.parse({
      name: 'bench-audit',
      mode: 'active-passive',
      replicationPolicy: 'identity',
      clusters: {
        primary: { alias: 'primary', auth: 'none', expectedBrokers: 1 },
        secondary: { alias: 'secondary', auth: 'none', expectedBrokers: 1 },
      },
      topics: topicNames,
      mirror: { kind: 'kafka-connect', forwardUrl: connectUrl, reverseUrl: h.info.reverseWorker.connectUrl },
    });
    const kafkaConfig = async (role: ClusterName) => ({
      brokers: bootstrap[role].split(','),
      clientId: 'bench-audit',
      connectionTimeout: 5_000,
      requestTimeout: 30_000,
      retry: { retries: 0 },
      logLevel: 0,
    });

    const wiring = readinessDependencies({ config, kafkaConfig, secrets: { get: async () => undefined } });
    // Every partition led and answering before anything is timed.
    const ready = await waitFor(
      async () => {
        const r = await wiring.audit();
        const settled = r.findings.every(
          (f) => f.code !== 'topic-missing' && f.code !== 'source-topic-missing',
        );
        return r.complete && settled && r;
      },
      { timeoutMs: 600_000, intervalMs: 2_000, what: `${TOPICS} topics on both clusters` },
    );
    log(`warm-up audit: ready ${ready.ready}, findings: ${summarise(ready)}`);
    const auditTimes: number[] = [];
    let last = ready;
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      last = await wiring.audit();
      auditTimes.push(performance.now() - t0);
    }
    await wiring.close();

    const clients = (['primary', 'secondary'] as const).map(async (role) => {
      const cfg = await kafkaConfig(role);
      const client = createClusterClient(cfg);
      const admin = kafkaClient(h.info, role).admin();
      await admin.connect();
      return { role, client, admin };
    });
    const [p, s] = await Promise.all(clients);
    if (!p || !s) throw new Error('clients not built');
    const naiveCluster = (c: typeof p) =>
      perTopic(
        new KafkajsReadinessCluster({
          role: c.role,
          admin: async () => c.admin,
          client: async () => c.client,
        }),
      );
    const naiveDeps = {
      clusters: { primary: naiveCluster(p), secondary: naiveCluster(s) },
      mirror: () =>
        readKafkaConnectMirror({
          url: connectUrl,
          connectorPrefix: 'mm2',
          sourceAlias: 'primary',
          targetAlias: 'secondary',
        }),
    };
    const naiveTimes: number[] = [];
    let naiveLast: ReadinessReport | undefined;
    for (let i = 0; i < NAIVE_RUNS; i++) {
      const t0 = performance.now();
      naiveLast = await auditReadiness(config, naiveDeps);
      naiveTimes.push(performance.now() - t0);
      log(`naive run ${i + 1}: ${Math.round(naiveTimes[i] ?? 0)} ms`);
    }
    await Promise.all([p.client.close(), s.client.close(), p.admin.disconnect(), s.admin.disconnect()]);
    if (naiveLast && summarise(naiveLast) !== summarise(last)) {
      throw new Error(
        `the naive loop found ${summarise(naiveLast)}, the audit ${summarise(last)}: not the same work`,
      );
    }

    const auditMs = Math.round(median(auditTimes));
    const naiveMs = Math.round(median(naiveTimes));
    const result = { topics: TOPICS, auditMs, naiveMs, speedup: Math.round((naiveMs / auditMs) * 10) / 10 };
    mkdirSync(path.dirname(resultsFile), { recursive: true });
    writeFileSync(resultsFile, `${JSON.stringify(result, null, 2)}\n`);

    console.log(
      `readiness audit, ${TOPICS} topics × ${PARTITIONS} partitions, Kafka ${h.info.kafkaVersion}, load ${os.loadavg()[0]?.toFixed(1)}`,
    );
    console.log(
      `  audit (batched):   median ${auditMs} ms of ${RUNS} [${auditTimes.map(Math.round).join(', ')}]`,
    );
    console.log(
      `  naive (per topic): median ${naiveMs} ms of ${NAIVE_RUNS} [${naiveTimes.map(Math.round).join(', ')}]`,
    );
    console.log(
      `  speedup ${result.speedup}×; target ${TARGET_MS} ms ${auditMs <= TARGET_MS ? 'met' : 'MISSED'}`,
    );
    console.log(`  findings: ${summarise(last)}`);
    console.log(`written to ${path.relative(process.cwd(), resultsFile)}`);
  } finally {
    await h.stop();
  }
}

await main();
