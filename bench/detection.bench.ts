// `npm run bench:detection`: how long detection takes from a fault to the failover invocation, by the probe's
// direct trigger (`probe`) and by the composite alarm alone (`alarm`, `detection.directTrigger` false), and the
// RTO (fault to the first record acknowledged on the secondary), in the same session on one harness. Writes
// bench/results/detection.json.
//
// A lean drill: one harness (two KRaft clusters, MM2 in Kafka Connect, moto); per run a fresh deployment (its
// own parameters, secret, lock, journal and epoch authority, so no cooldown or earlier switch is in the way),
// the real probe and failover handlers in-process (imported afresh per run: they read their configuration at
// cold start), the drill's detection (the deployed alarm rules evaluated every second on the probe's EMF lines)
// and its application (the client library's producer and consumer). No failback: the primary is restarted or
// resumed and the next run starts a new deployment. The fault lands at a different phase of the probe cycle in
// each run (0, 1/5, ... 4/5 of the interval after a cycle's datapoints appear).
//
// Goals: detection ≤ window + one probe interval in every probe-path run; RTO ≤ window + 5 s.
// Environment: BENCH_RUNS (default 5 per scenario and path).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Detection } from '#drill/detection.ts';
import { drillConfig, GROUP, TOPIC } from '#drill/drill-config.ts';
import type { DrillFunctions, FailoverAnswer } from '#drill/functions.ts';
import { startLambdaEndpoint } from '#drill/lambda-endpoint.ts';
import { type OutputRouting, routeOutput } from '#drill/output-routing.ts';
import { provisionDeployment } from '#drill/provision.ts';
import { DrillRecorder } from '#drill/recorder.ts';
import { Stopwatch } from '#drill/stopwatch.ts';
import { Workload } from '#drill/workload.ts';
import { type Harness, startHarness } from '#harness/harness.ts';
import { kafkaClient } from '#harness/kafka-clients.ts';
import { alarmEvent, lambdaContext, scheduledEvent } from '#harness/lambda.ts';
import { repoRoot } from '#harness/paths.ts';
import { alarmSpecs } from '#shared/alarms/specs.ts';
import { watchActiveConfig } from '#shared/client/active-config-watcher.ts';
import { parseDeploymentConfig } from '#shared/config/load.ts';
import { describeError } from '#shared/errors.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const resultFile = path.join(import.meta.dirname, 'results', 'detection.json');
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

type Scenario = 'kill' | 'hang';
type Path = 'probe' | 'alarm';
interface Run {
  scenario: Scenario;
  path: Path;
  /** Fault to the first failover invocation. */
  detectionSeconds: number | null;
  /** Fault to the first record acknowledged on the secondary. */
  rtoSeconds: number | null;
  /** Which trigger invoked failover first. */
  firstTrigger: Path | null;
  /** Where in the probe cycle the fault landed, in ms after a cycle's datapoints appeared. */
  phaseMs: number;
}

async function until<T>(what: string, timeoutMs: number, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** Bounded cleanup: a client of a dead or hung cluster may take long to close; the run does not wait for it. */
const bounded = (p: Promise<unknown>, ms = 10_000) => Promise.race([p.catch(() => {}), sleep(ms)]);

type Handler = (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;

async function oneRun(
  harness: Harness,
  n: number,
  scenario: Scenario,
  via: Path,
  phaseMs: number,
): Promise<Run> {
  const base = drillConfig(harness.info);
  const config = parseDeploymentConfig({
    ...base,
    name: `detect-${n}`,
    detection: { ...base.detection, directTrigger: via === 'probe' },
  });
  const provisioned = await provisionDeployment(config, harness.info);
  const record = new DrillRecorder(new Stopwatch(), () => {});
  const detection = new Detection(alarmSpecs(config), record);
  const endpoint = await startLambdaEndpoint((_name, payload) => detection.probeInvoked(payload));
  Object.assign(process.env, provisioned.functionEnv, {
    MM2_FAILOVER_FUNCTION: `detect-${n}-failover`,
    AWS_ENDPOINT_URL_LAMBDA: endpoint.url,
  });
  // The handlers' stdout (EMF lines) feeds the alarms; anything on stderr still reaches the terminal.
  const routing: OutputRouting = routeOutput((line, stream) =>
    stream === 'stdout' ? detection.ingest(line) : routing.terminal(`${line}\n`),
  );
  const restoreStdout = () => routing.restore();
  // Imported afresh: each handler module reads the run's configuration at its cold start.
  const load = async (fn: string) =>
    import(`${pathToFileURL(path.join(repoRoot, 'functions', fn, 'handler.ts')).href}?run=${n}`);
  const probeModule = await load('probe');
  const probe = probeModule.handler as Handler;
  const failover = (await load('failover')).handler as Handler;
  const functions: Pick<DrillFunctions, 'probe' | 'failover'> = {
    probe: () => probe(scheduledEvent('probe'), lambdaContext('probe', 20_000)),
    failover: async (event) =>
      (await failover(
        event ?? alarmEvent('failover', 'bench'),
        lambdaContext('failover', 300_000),
      )) as FailoverAnswer,
  };
  const watcher = await watchActiveConfig({
    deployment: config.name,
    stores: provisioned.stores,
    kafka: { clientId: `detect-${n}` },
    intervalMs: 1_000,
  });
  const workload = new Workload(watcher, { topic: TOPIC, groupId: `${GROUP}-${n}`, intervalMs: 50 });
  let faultAtMs = 0;
  try {
    await workload.start();
    detection.start(functions);
    await until('steady state', 240_000, () =>
      detection.steady && workload.acks.size >= 20 ? true : undefined,
    );
    // The fault's phase: counted from the moment a new cycle's datapoints appear.
    const seen = detection.points.length;
    await until('the next probe cycle', 10_000, () =>
      detection.points.slice(seen).some((p) => p.metricName === 'ClusterUp') ? true : undefined,
    );
    await sleep(phaseMs);
    faultAtMs = Date.now();
    if (scenario === 'kill') await harness.kill('primary');
    else await harness.hang('primary');
    const window = config.detection.evaluationPeriods * config.detection.alarmPeriodSeconds;
    await until('the failover switch', (window + 90) * 1000, () => detection.switchedAtMs);
    const ack = await until('the first record acknowledged on the secondary', 60_000, () =>
      workload.firstAckOn('secondary', faultAtMs),
    );
    const first =
      detection.probeTriggeredAtMs !== undefined &&
      (detection.alarmAtMs === undefined || detection.probeTriggeredAtMs <= detection.alarmAtMs)
        ? 'probe'
        : detection.alarmAtMs !== undefined
          ? 'alarm'
          : null;
    return {
      scenario,
      path: via,
      detectionSeconds:
        detection.detectedAtMs === undefined ? null : (detection.detectedAtMs - faultAtMs) / 1000,
      rtoSeconds: (ack.atMs - faultAtMs) / 1000,
      firstTrigger: first,
      phaseMs,
    };
  } finally {
    await bounded(detection.failoverInFlight ?? Promise.resolve());
    await bounded(detection.stop());
    await bounded(workload.stop());
    await bounded(watcher.stop());
    await bounded((probeModule.closeProbeClients as () => Promise<void>)());
    restoreStdout();
    await endpoint.close();
    if (faultAtMs > 0) {
      if (scenario === 'kill') await harness.restart('primary');
      else await harness.resume('primary');
    }
  }
}

function stats(xs: number[]): { min: number; median: number; max: number } | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
  return { min: s[0] ?? 0, median, max: s.at(-1) ?? 0 };
}

async function main(): Promise<void> {
  log('starting the harness (two KRaft clusters, MM2 in Kafka Connect, moto)');
  const harness = await startHarness({
    policy: 'identity',
    tls: true,
    moto: true,
    controlServer: false,
    brokers: 1,
  });
  const runs: Run[] = [];
  let n = 0;
  try {
    const admin = kafkaClient(harness.info, 'primary').admin();
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic: TOPIC, numPartitions: 3, replicationFactor: 1 }],
      waitForLeaders: true,
    });
    await admin.disconnect();
    const detection = drillConfig(harness.info).detection;
    const intervalMs = detection.probeIntervalSeconds * 1000;
    const windowSeconds = detection.evaluationPeriods * detection.alarmPeriodSeconds;
    // Written after every run, so that a session cut short still leaves what it measured.
    const write = () => {
      mkdirSync(path.dirname(resultFile), { recursive: true });
      const result = { windowSeconds, probeIntervalSeconds: detection.probeIntervalSeconds, runs };
      writeFileSync(resultFile, `${JSON.stringify(result, null, 2)}\n`);
    };
    // Alternate the paths so both see the same machine load over the session.
    for (let i = 0; i < RUNS; i++) {
      for (const scenario of ['kill', 'hang'] as const) {
        for (const via of ['probe', 'alarm'] as const) {
          const phaseMs = Math.round((i / RUNS) * intervalMs);
          n++;
          try {
            const run = await oneRun(harness, n, scenario, via, phaseMs);
            runs.push(run);
            log(
              `${scenario} ${via} phase ${phaseMs} ms: detection ${run.detectionSeconds} s, RTO ${run.rtoSeconds} s (first: ${run.firstTrigger})`,
            );
          } catch (e: unknown) {
            log(`${scenario} ${via} phase ${phaseMs} ms failed: ${describeError(e)}`);
            runs.push({
              scenario,
              path: via,
              detectionSeconds: null,
              rtoSeconds: null,
              firstTrigger: null,
              phaseMs,
            });
          }
          write();
        }
      }
    }
    write();
    const rows: string[] = [];
    for (const scenario of ['kill', 'hang'] as const) {
      for (const via of ['probe', 'alarm'] as const) {
        const mine = runs.filter((r) => r.scenario === scenario && r.path === via);
        const d = stats(mine.flatMap((r) => (r.detectionSeconds === null ? [] : [r.detectionSeconds])));
        const rto = stats(mine.flatMap((r) => (r.rtoSeconds === null ? [] : [r.rtoSeconds])));
        const f = (s: ReturnType<typeof stats>) =>
          s ? `${s.min.toFixed(1)} / ${s.median.toFixed(1)} / ${s.max.toFixed(1)}` : '-';
        rows.push(`| ${scenario} | ${via} | ${mine.length} | ${f(d)} | ${f(rto)} |`);
      }
    }
    const limit = windowSeconds + detection.probeIntervalSeconds;
    const probeRuns = runs.filter((r) => r.path === 'probe');
    console.log(`window ${windowSeconds} s, probe interval ${detection.probeIntervalSeconds} s`);
    console.log('| scenario | path | runs | detection s (min / median / max) | RTO s (min / median / max) |');
    console.log('| --- | --- | --- | --- | --- |');
    for (const r of rows) console.log(r);
    console.log(
      `goal detection ≤ ${limit} s in every probe-path run: ${probeRuns.every((r) => r.detectionSeconds !== null && r.detectionSeconds <= limit) ? 'met' : 'MISSED'}`,
    );
    console.log(
      `goal RTO ≤ ${windowSeconds + 5} s in every probe-path run: ${probeRuns.every((r) => r.rtoSeconds !== null && r.rtoSeconds <= windowSeconds + 5) ? 'met' : 'MISSED'}`,
    );
    log(`wrote ${path.relative(repoRoot, resultFile)}`);
  } finally {
    await harness.stop();
  }
}

await main();
process.exit(0);
