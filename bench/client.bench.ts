// `npm run bench:client`: how fast a following producer follows a switch, and what watching costs in AWS calls.
//
// 1. Follow time: a FollowingProducer is handed a record every 10 ms (an application under steady load) while
//    the active configuration is switched back and forth with `writeActive` (the failover's own writer). For
//    each switch: time from the start of the write to the first record acknowledged on the new cluster.
//    The watcher polls at the library's default interval (5 s ± 20 %); a random pause before each switch
//    spreads the switches over the poll cycle. Target: median under the poll interval + 5,000 ms.
// 2. AWS calls per hour: during the same run, a second deployment that never switches is watched by the
//    library's watcher and by a naive reader that fetches the parameter and the secret on every poll (both at
//    the default interval), each through a counting wrapper around the real SSM/Secrets Manager adapters.
//    The counts over the measured window are extrapolated to one hour: an extrapolation, said so in the output.
//
// Runs its own harness (two KRaft clusters with the mTLS listener, and moto; no MirrorMaker: following does not
// depend on it, so the mirrored topic is created by hand).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { logLevel } from 'kafkajs';
import { awsClientConfig } from '#harness/aws-clients.ts';
import { type Harness, startHarness } from '#harness/harness.ts';
import { kafkaClient } from '#harness/kafka-clients.ts';
import { uniqueName } from '#harness/unique-name.ts';
import { waitFor } from '#harness/wait-for.ts';
import {
  ActiveConfigWatcher,
  createAwsStores,
  defaultJitter,
  defaultPollIntervalMs,
  FollowingProducer,
  type Stores,
} from '#shared/client/index.ts';
import type { ActiveConfig } from '#shared/config/contract.ts';
import { parseDeploymentConfig } from '#shared/config/load.ts';
import { deploymentPaths } from '#shared/config/paths.ts';
import type { ClusterRole } from '#shared/config/schema.ts';
import { topicMapping } from '#shared/config/topic-mapping.ts';
import { readActiveOnce, writeActive } from '#shared/store/active-config.ts';
import { Redacted } from '#shared/store/redacted.ts';

const SWITCHES = Number(process.env.BENCH_CLIENT_SWITCHES ?? 7);
const SEND_EVERY_MS = 10;
const FOLLOW_DEADLINE_MS = 60_000;
const TARGET_MS = defaultPollIntervalMs + 5_000;
/** The API calls are counted over at least this long (about 24 polls at 5 s) before extrapolating. */
const MIN_COUNT_WINDOW_MS = Number(process.env.BENCH_CLIENT_WINDOW_MS ?? 120_000);

interface Counts {
  parameter: number;
  secret: number;
}

/** The stores, counting every read (the only calls a watcher makes). */
function counting(stores: Stores): { stores: Stores; counts: Counts } {
  const counts: Counts = { parameter: 0, secret: 0 };
  return {
    counts,
    stores: {
      parameters: {
        get: (name) => {
          counts.parameter += 1;
          return stores.parameters.get(name);
        },
        put: (name, value, options) => stores.parameters.put(name, value, options),
      },
      secrets: {
        get: (name) => {
          counts.secret += 1;
          return stores.secrets.get(name);
        },
        put: (name, value) => stores.secrets.put(name, value),
      },
    },
  };
}

/** The baseline: a reader that fetches the parameter and the secret on every poll (no epoch check). */
function startNaiveReader(stores: Stores, name: string, signal: AbortSignal): Promise<void> {
  const paths = deploymentPaths(name);
  return (async () => {
    while (!signal.aborted) {
      const spread = defaultPollIntervalMs * defaultJitter;
      const wait = defaultPollIntervalMs - spread + 2 * spread * Math.random();
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, wait);
        signal.addEventListener(
          'abort',
          () => {
            clearTimeout(t);
            resolve();
          },
          { once: true },
        );
      });
      if (signal.aborted) return;
      await readActiveOnce(stores, paths);
    }
  })();
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

async function main(): Promise<void> {
  const log = (line: string) => console.error(`[bench:client] ${line}`);
  const harness: Harness = await startHarness({ mirror: false, controlServer: false, log });
  const stop = () => void harness.stop().finally(() => process.exit(130));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const { info } = harness;
    const aws = createAwsStores(awsClientConfig(info));
    const { tls } = info;
    if (!tls) throw new Error('expected the harness mTLS listener');
    const creds = new Redacted({
      ca: readFileSync(tls.caPath, 'utf8'),
      cert: readFileSync(tls.certPath, 'utf8'),
      key: readFileSync(tls.keyPath, 'utf8'),
    });

    const name = uniqueName('bench');
    const topic = uniqueName('orders');
    const config = parseDeploymentConfig({
      name,
      mode: 'active-passive',
      replicationPolicy: 'default',
      clusters: {
        primary: { alias: info.clusters.primary.alias, auth: 'mtls', expectedBrokers: 1 },
        secondary: { alias: info.clusters.secondary.alias, auth: 'mtls', expectedBrokers: 1 },
      },
      topics: [topic],
      mirror: { kind: 'manual' },
    });
    const active = (epoch: number, cluster: ClusterRole): ActiveConfig => ({
      epoch,
      cluster,
      alias: info.clusters[cluster].alias,
      bootstrapServers: (info.clusters[cluster].tlsBootstrapServers ?? '').split(','),
      securityProtocol: 'SSL',
      credentialsSecret: deploymentPaths(name).activeCredentialsSecret,
      topics: topicMapping(config, cluster),
      switchedAt: new Date().toISOString(),
      reason: 'bench',
    });
    for (const cluster of ['primary', 'secondary'] as const) {
      const admin = kafkaClient(info, cluster).admin();
      await admin.connect();
      const t = topicMapping(config, cluster)[topic]?.produce ?? topic;
      await admin.createTopics({ topics: [{ topic: t, numPartitions: 1 }], waitForLeaders: true });
      await admin.disconnect();
    }
    await writeActive(aws, deploymentPaths(name), active(1, 'primary'), creds);

    // The quiet deployment for the API-call count, watched by the library and by the naive reader.
    const quietName = uniqueName('bench-quiet');
    await writeActive(aws, deploymentPaths(quietName), { ...active(1, 'primary'), reason: 'quiet' }, creds);
    const watched = counting(aws);
    const naive = counting(aws);
    const quietWatcher = new ActiveConfigWatcher({
      deployment: quietName,
      stores: watched.stores,
      kafka: { clientId: 'bench-quiet' },
    });
    await quietWatcher.start();
    const baseline = { parameter: watched.counts.parameter, secret: watched.counts.secret };
    const naiveStop = new AbortController();
    const naiveDone = startNaiveReader(naive.stores, quietName, naiveStop.signal);
    const windowStarted = performance.now();

    // Follow time.
    const watcher = new ActiveConfigWatcher({
      deployment: name,
      stores: aws,
      kafka: { clientId: 'bench-follow', logLevel: logLevel.NOTHING },
    });
    await watcher.start();
    const producer = new FollowingProducer({ source: watcher });
    await producer.connect();
    const firstAck = new Map<number, number>();
    let failed = 0;
    const ticker = setInterval(() => {
      producer.send({ topic, messages: [{ value: 'x' }] }).then(
        (r) => {
          if (!firstAck.has(r.epoch)) firstAck.set(r.epoch, performance.now());
        },
        () => {
          failed += 1;
        },
      );
    }, SEND_EVERY_MS);

    const samples: number[] = [];
    try {
      for (let i = 0; i < SWITCHES; i += 1) {
        const epoch = i + 2;
        const cluster: ClusterRole = epoch % 2 === 0 ? 'secondary' : 'primary';
        // Spread switches over the poll cycle (a deliberate random phase, not a wait for a condition).
        await new Promise((resolve) => setTimeout(resolve, Math.random() * defaultPollIntervalMs));
        const started = performance.now();
        await writeActive(aws, deploymentPaths(name), active(epoch, cluster), creds);
        const acked = await waitFor(() => firstAck.get(epoch), {
          timeoutMs: FOLLOW_DEADLINE_MS,
          intervalMs: 20,
          what: `first record acknowledged on ${cluster} (epoch ${epoch})`,
        });
        samples.push(Math.round(acked - started));
        log(`switch ${i + 1}/${SWITCHES} to ${cluster}: first ack after ${samples.at(-1)} ms`);
      }
    } finally {
      clearInterval(ticker);
      await producer.disconnect();
      await watcher.stop();
    }

    // Keep counting to the minimum window: a short one makes the extrapolation coarse.
    const left = MIN_COUNT_WINDOW_MS - (performance.now() - windowStarted);
    if (left > 0) {
      log(`counting AWS calls for ${Math.round(left / 1000)} s more`);
      await new Promise((resolve) => setTimeout(resolve, left));
    }
    const windowMs = performance.now() - windowStarted;
    naiveStop.abort();
    await naiveDone;
    await quietWatcher.stop();
    const perHour = (n: number) => Math.round((n * 3_600_000) / windowMs);
    const libraryCalls =
      watched.counts.parameter - baseline.parameter + (watched.counts.secret - baseline.secret);
    const naiveCalls = naive.counts.parameter + naive.counts.secret;
    const apiCallsPerHour = perHour(libraryCalls);
    const naivePerHour = perHour(naiveCalls);
    const followMsMedian = median(samples);

    const rows = [
      {
        measure: 'follow time, median (ms)',
        value: followMsMedian,
        baseline: `target < ${TARGET_MS}`,
        ratio: (followMsMedian / TARGET_MS).toFixed(2),
      },
      {
        measure: 'follow time, min / max (ms)',
        value: `${Math.min(...samples)} / ${Math.max(...samples)}`,
        baseline: '',
        ratio: '',
      },
      {
        measure: 'AWS calls per hour watching (extrapolated)',
        value: apiCallsPerHour,
        baseline: `naive ${naivePerHour}`,
        ratio: (apiCallsPerHour / naivePerHour).toFixed(2),
      },
    ];
    console.table(rows);
    console.log(
      `poll interval ${defaultPollIntervalMs} ms ± ${defaultJitter * 100} %, ${samples.length} switches, ` +
        `calls counted over ${Math.round(windowMs / 1000)} s and extrapolated to one hour ` +
        `(library: ${libraryCalls} calls, naive: ${naiveCalls}; in theory ${3_600_000 / defaultPollIntervalMs} and ` +
        `${(2 * 3_600_000) / defaultPollIntervalMs}); sends that failed: ${failed}`,
    );

    const result = {
      followMsMedian,
      pollIntervalMs: defaultPollIntervalMs,
      apiCallsPerHour,
      followMsSamples: samples,
      followTargetMs: TARGET_MS,
      followTargetMet: followMsMedian < TARGET_MS,
      naiveApiCallsPerHour: naivePerHour,
      apiCallsRatioToNaive: Number((apiCallsPerHour / naivePerHour).toFixed(3)),
      apiCallsMeasuredOverMs: Math.round(windowMs),
      apiCallsExtrapolated: true,
      sendsFailed: failed,
      kafkaVersion: info.kafkaVersion,
    };
    const out = path.join(import.meta.dirname, 'results', 'client.json');
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
    log(`wrote ${out}`);
    if (!result.followTargetMet) process.exitCode = 1;
  } finally {
    await harness.stop();
  }
}

await main();
