import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { awsClientConfig } from '#harness/aws-clients.ts';
import { type Harness, startHarness } from '#harness/harness.ts';
import { kafkaClient } from '#harness/kafka-clients.ts';
import { alarmEvent, lambdaContext, scheduledEvent } from '#harness/lambda.ts';
import { createMirror, reverseOf } from '#harness/mirror-connectors.ts';
import { repoRoot } from '#harness/paths.ts';
import { alarmSpecs } from '#shared/alarms/specs.ts';
import { loadActiveConfig } from '#shared/client/active-client-config.ts';
import { type ActiveConfigWatcher, watchActiveConfig } from '#shared/client/active-config-watcher.ts';
import { deploymentPaths } from '#shared/config/paths.ts';
import type { ClusterRole, DeploymentConfig } from '#shared/config/schema.ts';
import { localCanaryTopic, policyOf } from '#shared/health/detection-policy.ts';
import { fixRequestQueueTimer } from '#shared/kafka/request-queue-timer-fix.ts';
import { readActiveOnce } from '#shared/store/active-config.ts';
import { createAwsStores } from '#shared/store/aws-stores.ts';
import { inspectAtRest } from '#shared/switch/at-rest.ts';
import type { StatusView } from './checks.ts';
import { clientKafkaLog, clientLogFile } from './client-log.ts';
import { Detection } from './detection.ts';
import { type DrillPolicy, drillConfig, GROUP, TOPIC } from './drill-config.ts';
import type { DrillMode } from './drill-mode.ts';
import { runFailoverScenario } from './failover-scenario.ts';
import type { DrillFunctions, FailbackAnswer, FailoverAnswer, PlannedAnswer } from './functions.ts';
import { type LambdaEndpoint, startLambdaEndpoint } from './lambda-endpoint.ts';
import { LiveConsole } from './live-console.ts';
import type { DrillMirrorTiming } from './mirror-timing.ts';
import { runNoFailoverScenario } from './no-failover-scenario.ts';
import { type OutputRouting, routeOutput } from './output-routing.ts';
import { runPlannedScenario } from './planned-scenario.ts';
import { provisionDeployment } from './provision.ts';
import { DrillRecorder } from './recorder.ts';
import { type RunTimeline, runReportHtml } from './run-report.ts';
import { type Scenario, type StageSetup, scenarioRow } from './scenarios.ts';
import { SECONDARY_FIRST_NUMBER, secondaryHome } from './secondary-application.ts';
import type { DrillStage } from './stage.ts';
import { Stopwatch } from './stopwatch.ts';
import { type DrillSummary, initialSummary } from './summary.ts';
import { sleep, until } from './wait.ts';
import { progressLine, Workload } from './workload.ts';

export { drillConfig } from './drill-config.ts';
export type { DrillSummary } from './summary.ts';

export interface DrillOptions {
  scenario: Scenario;
  /** Also stream the run's logs (the functions', kafkajs', the client library's) to the console. */
  verbose?: boolean;
  /** MM2's replication policy on the harness and in the deployment (default: identity). */
  policy?: DrillPolicy;
  /** Default `active-passive`. */
  mode?: DrillMode;
  /** MirrorMaker 2's timing on the harness (default `best`). */
  mirrorTiming?: DrillMirrorTiming;
}

/** Where a run writes: `.out/drill/<time>-<scenario>/`. */
interface RunFiles {
  outDir: string;
  logFile: string;
  reportFile: string;
  clientLog: string;
}

/** What a run has started so far: the teardown stops exactly that, whichever step failed. */
interface Started {
  harness?: Harness;
  detection?: Detection;
  watcher?: ActiveConfigWatcher;
  workload?: Workload;
  lambdaEndpoint?: LambdaEndpoint;
  /** Active-active: the secondary's own application. */
  secondaryWorkload?: Workload;
}

/**
 * Run one drill scenario end to end on a harness of its own; always stops what it started. While it runs, the
 * console (stderr) shows only the drill's phases, live counters and verdicts: whatever else the process prints
 * goes to the run's `functions.log`, and the application's client logs to its `client.log`.
 */
export async function runDrill(options: DrillOptions): Promise<DrillSummary> {
  // Before the first kafkajs connection (the drill's own admin): otherwise Node warns TimeoutNegativeWarning.
  fixRequestQueueTimer();
  const files = runFiles(options.scenario);
  const mode = options.mode ?? 'active-passive';
  const started: Started = {};
  const { screen, routing } = routeRunOutput(files, started, options.verbose === true);
  const record = new DrillRecorder(new Stopwatch(), (line) => screen.line(line));
  // Active-active needs the default policy: the identity policy cannot tell a mirrored record from a local one.
  const policy = mode === 'active-active' ? 'default' : (options.policy ?? 'identity');
  const summary = initialSummary(
    { scenario: options.scenario, mode, policy, mirrorTiming: options.mirrorTiming ?? 'best' },
    record,
    files,
  );
  const row = scenarioRow(options.scenario);
  try {
    const stage = await setStage(record, summary, files, started, row.stage ?? {}, mode);
    const stopTicker = startTicker(stage, screen);
    try {
      await reachSteadyState(stage);
      if (row.expect.outcome === 'failover') await runFailoverScenario(stage, row, row.expect);
      else if (row.expect.outcome === 'planned') await runPlannedScenario(stage);
      else await runNoFailoverScenario(stage, row, row.expect);
    } finally {
      stopTicker();
    }
    summary.ok = record.ok;
  } catch (e: unknown) {
    record.stoppedBy(e);
    summary.ok = false;
  } finally {
    await stopApplication(started);
    summary.alarmsFired = [...(started.detection?.fired ?? [])];
    writeReport(record, summary, files);
    try {
      await started.harness?.stop();
    } finally {
      routing.restore();
    }
  }
  return summary;
}

/**
 * The console shows the drill's own lines; everything else the process prints goes to the run's
 * `functions.log` (and, with `verbose`, to the console too). The functions' stdout also feeds the alarms: EMF.
 */
function routeRunOutput(
  files: RunFiles,
  started: Started,
  verbose: boolean,
): { screen: LiveConsole; routing: OutputRouting } {
  const routing = routeOutput((line, stream) => {
    appendFileSync(files.logFile, `${line}\n`);
    if (stream === 'stdout') started.detection?.ingest(line);
    if (verbose) screen.line(line);
  });
  const screen = new LiveConsole({ write: routing.terminal, isTTY: process.stderr.isTTY });
  return { screen, routing };
}

function runFiles(scenario: Scenario): RunFiles {
  const outDir = path.join(
    repoRoot,
    '.out',
    'drill',
    `${new Date().toISOString().replace(/[:.]/g, '-')}-${scenario}`,
  );
  mkdirSync(outDir, { recursive: true });
  return {
    outDir,
    logFile: path.join(outDir, 'functions.log'),
    reportFile: path.join(outDir, 'report.html'),
    clientLog: path.join(outDir, 'client.log'),
  };
}

/**
 * The harness, the deployment provisioned into moto, the functions loaded with their output captured,
 * the application running, detection started; as the row's {@link StageSetup} says.
 */
async function setStage(
  record: DrillRecorder,
  summary: DrillSummary,
  files: RunFiles,
  started: Started,
  setup: StageSetup,
  mode: DrillMode,
): Promise<DrillStage> {
  const brokers = setup.brokers ?? 1;
  const production = summary.mirrorTiming === 'production';
  record.mark(
    `starting the harness (two KRaft clusters of ${brokers === 1 ? 'one broker' : `${brokers} brokers`}, MM2 in Kafka Connect${production ? " with MM2's production defaults" : ''}, moto)`,
  );
  const harness = await startHarness({
    policy: summary.policy,
    tls: true,
    moto: true,
    controlServer: false,
    brokers,
    ...(production ? { mirrorTiming: 'production' as const, mirror: false } : {}),
    log: (line) => record.say(`  harness: ${line}`),
  });
  started.harness = harness;
  const config = drillConfig(harness.info, mode, summary.policy);
  summary.detectionWindowSeconds = config.detection.alarmPeriodSeconds * config.detection.evaluationPeriods;
  const homes: ClusterRole[] = mode === 'active-active' ? ['primary', 'secondary'] : ['primary'];
  await createApplicationTopic(harness, brokers, homes);
  if (production) await createApplicationGroup(harness, homes);
  else if (mode === 'active-active') await startReverseMirror(harness, record);

  const viaProxy = setup.awsThroughFaultProxy === true;
  record.mark(
    `provisioning the deployment into moto as an operator would after cdk deploy${viaProxy ? '; the functions and the application reach AWS through the fault proxy' : ''}`,
  );
  const provisioned = await provisionDeployment(config, harness.info, {
    functionsThroughFaultProxy: viaProxy,
  });
  Object.assign(process.env, provisioned.functionEnv);
  const detection = new Detection(alarmSpecs(config), record);
  started.detection = detection;
  // From here what the functions print to stdout (EMF lines) also feeds the alarms: see runDrill's routing.
  // The probe invokes the failover function (its direct trigger) through its own Lambda client, answered here.
  const lambdaEndpoint = await startLambdaEndpoint((_name, payload) => detection.probeInvoked(payload));
  started.lambdaEndpoint = lambdaEndpoint;
  Object.assign(process.env, {
    MM2_FAILOVER_FUNCTION: 'mm2-failover-drill-failover',
    AWS_ENDPOINT_URL_LAMBDA: lambdaEndpoint.url,
  });
  const functions = await loadFunctions();

  const logger = clientLogFile(files.clientLog);
  // The application's reads go where the functions' go; the drill's own reads (its checks) straight to moto.
  const applicationStores = viaProxy
    ? createAwsStores({ ...awsClientConfig(harness.info, { faultProxy: true }), ...config.aws })
    : provisioned.stores;
  const watcher = await watchActiveConfig({
    deployment: config.name,
    stores: applicationStores,
    kafka: { clientId: 'drill-app', logCreator: clientKafkaLog(files.clientLog) },
    intervalMs: 1_000,
    logger,
  });
  started.watcher = watcher;
  const workload = new Workload(watcher, { topic: TOPIC, groupId: GROUP, intervalMs: 50, logger });
  started.workload = workload;
  await workload.start();
  record.mark(
    'application producer and consumer started (client library, following the active configuration)',
  );
  if (mode === 'active-active') {
    // The secondary's own application: never in the primary's deployment, so no failover of it moves this one.
    const home = await loadActiveConfig({
      deployment: config.name,
      stores: provisioned.stores,
      kafka: { clientId: 'drill-app-secondary' },
    });
    const own = secondaryHome(home, harness.info);
    started.secondaryWorkload = new Workload(own, {
      topic: TOPIC,
      groupId: GROUP,
      intervalMs: 50,
      logger,
      ledger: workload.ledger,
      firstNumber: SECONDARY_FIRST_NUMBER,
    });
    await started.secondaryWorkload.start();
    record.mark("the secondary's own application started (same consumer group, its local topic only)");
  }
  detection.start(functions);
  if (production) await startProductionMirror(harness, config, homes, record);

  const paths = deploymentPaths(config.name);
  const readActive = () => readActiveOnce(provisioned.stores, paths);
  const atRest = () => inspectAtRest(provisioned.stores, paths);
  return {
    harness,
    record,
    summary,
    functions,
    detection,
    workload,
    ...(started.secondaryWorkload ? { secondaryWorkload: started.secondaryWorkload } : {}),
    readActive,
    atRest,
    activeEpochHistory: provisioned.activeEpochHistory,
  };
}

const TOPIC_PARTITIONS = 3;
/** How far into MM2's 60 s checkpoint interval (production timing) the drill lets the fault land. */
const CHECKPOINT_AGE_AT_FAULT_MS = 45_000;

/**
 * The application's topic exists before anyone uses it, on the primary (and in active-active on the secondary, whose
 * own application writes there), with a replica on every broker (so that
 * one of three can die and every acknowledged record survives); MM2 creates its mirror.
 */
async function createApplicationTopic(
  harness: Harness,
  brokers: number,
  clusters: readonly ClusterRole[],
): Promise<void> {
  for (const cluster of clusters) {
    const admin = kafkaClient(harness.info, cluster).admin();
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic: TOPIC, numPartitions: TOPIC_PARTITIONS, replicationFactor: brokers }],
      waitForLeaders: true,
    });
    await admin.disconnect();
  }
}

async function startReverseMirror(harness: Harness, record: DrillRecorder): Promise<void> {
  const { connectUrl } = await harness.startReverseWorker();
  await createMirror(connectUrl, reverseOf(harness.info.mirror.direction));
  record.mark('active-active: the reverse mirror (secondary -> primary) runs beside the forward one');
}

/**
 * MM2 at its defaults finds topics and groups when it starts, then every 10 minutes: it starts once the
 * application's topic and group and the probe's canary exist on every cluster it mirrors from, as where MM2 is set
 * up beside a deployment that already runs. Until then the probe sees the canary not replicated.
 */
async function startProductionMirror(
  harness: Harness,
  config: DeploymentConfig,
  sources: readonly ClusterRole[],
  record: DrillRecorder,
): Promise<void> {
  for (const cluster of sources) {
    const canary = localCanaryTopic(config, cluster);
    const admin = kafkaClient(harness.info, cluster).admin();
    await admin.connect();
    try {
      await until(`the probe's canary topic ${canary} on the ${cluster}`, 120_000, async () =>
        (await admin.listTopics()).includes(canary) ? true : undefined,
      );
    } finally {
      await admin.disconnect();
    }
  }
  await harness.startMirror();
  if (sources.includes('secondary')) await startReverseMirror(harness, record);
  record.mark(
    "MM2 started with its production defaults once the application's topic and group and the probe's canary existed (offset.lag.max 100, checkpoints and group-offset syncs every 60 s)",
  );
  // A deployment's MM2 has checkpointed its groups long before a fault; before its first checkpoint a failover has
  // nothing to translate and consumers would re-read the whole copy. MM2 emits it one interval after it starts.
  for (const source of sources) {
    const target: ClusterRole = source === 'primary' ? 'secondary' : 'primary';
    const checkpoints = policyOf(config).checkpointsTopic(config.clusters[source].alias);
    const admin = kafkaClient(harness.info, target).admin();
    await admin.connect();
    try {
      await until(
        `MM2's first checkpoints of ${GROUP} in ${checkpoints} on the ${target}`,
        180_000,
        async () => {
          if (!(await admin.listTopics()).includes(checkpoints)) return undefined;
          const emitted = (await admin.fetchTopicOffsets(checkpoints)).reduce(
            (n, o) => n + Number(o.high),
            0,
          );
          return emitted >= TOPIC_PARTITIONS ? true : undefined;
        },
      );
    } finally {
      await admin.disconnect();
    }
    record.mark(`MM2 checkpointed ${GROUP} (${checkpoints} on the ${target})`);
  }
  // Right after a checkpoint the translation is nearly exact; a fault lands anywhere in the interval. This one lands
  // late in it, short of the next (60 s), so that consumers resume from a checkpoint as old as it gets.
  await sleep(CHECKPOINT_AGE_AT_FAULT_MS);
  record.mark(
    `${CHECKPOINT_AGE_AT_FAULT_MS / 1000} s later: the fault will find the last checkpoint about that old`,
  );
}

/**
 * The application's consumer group with offset 0 committed on every partition of its topic (where a new group starts
 * anyway: the client library reads from the beginning), so that MM2's checkpoint connector finds it when it starts.
 */
async function createApplicationGroup(harness: Harness, clusters: readonly ClusterRole[]): Promise<void> {
  for (const cluster of clusters) {
    const admin = kafkaClient(harness.info, cluster).admin();
    await admin.connect();
    try {
      // Not from the topic's offsets: a broker that just created the topic may not lead its partitions in every
      // client's metadata yet (NOT_LEADER_FOR_PARTITION); the group commit goes through its coordinator instead.
      const partitions = Array.from({ length: TOPIC_PARTITIONS }, (_, partition) => ({
        partition,
        offset: '0',
      }));
      await admin.setOffsets({ groupId: GROUP, topic: TOPIC, partitions });
    } finally {
      await admin.disconnect();
    }
  }
}

type Handler = (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;

/**
 * The real handlers, imported once the environment the stack would give them is set (they read it at cold
 * start), each invoked with its trigger's event and a context with its function's timeout.
 */
async function loadFunctions(): Promise<DrillFunctions> {
  const probe = (await import('#functions/probe/handler.ts')).handler as unknown as Handler;
  const failover = (await import('#functions/failover/handler.ts')).handler as unknown as Handler;
  const failback = (await import('#functions/failback/handler.ts')).handler as unknown as Handler;
  const status = (await import('#functions/status/handler.ts')).handler as unknown as Handler;
  const fn = (name: string) => `mm2-failover-drill-${name}`;
  return {
    probe: () => probe(scheduledEvent(fn('probe')), lambdaContext(fn('probe'), 20_000)),
    failover: async (event) =>
      (await failover(
        event ?? alarmEvent(fn('failover'), 'primary down, secondary up, prober alive'),
        lambdaContext(fn('failover'), 300_000),
      )) as FailoverAnswer,
    plannedSwitchover: async () =>
      (await failover(
        {
          action: 'failover',
          reason: 'drill: planned maintenance of the primary',
          requestedBy: 'drill',
          planned: true,
        },
        lambdaContext(fn('failover'), 300_000),
      )) as PlannedAnswer,
    failback: async (request) =>
      (await failback(request, lambdaContext(fn('failback'), 900_000))) as FailbackAnswer,
    status: async () => (await status({}, lambdaContext(fn('status'), 30_000))) as StatusView,
  };
}

/**
 * The application's live counters every second on a terminal (redrawn in place), every 5 s when piped; returns
 * what stops them.
 */
function startTicker({ workload }: DrillStage, screen: LiveConsole): () => void {
  const ticker = setInterval(
    () => screen.status(progressLine(workload)),
    process.stderr.isTTY ? 1_000 : 5_000,
  );
  return () => {
    clearInterval(ticker);
    screen.endStatus();
  };
}

/** Steady state: both clusters up, records flowing and replicated, a few probe cycles behind us. */
async function reachSteadyState({ workload, detection, record }: DrillStage): Promise<void> {
  await until(
    'steady state (records consumed, both clusters probed up, lag measured, every alarm OK)',
    180_000,
    () => (workload.consumed.size >= 40 && detection.steady ? true : undefined),
  );
  record.mark('steady state: both clusters up, records replicated and consumed, every alarm OK');
}

/** Stop detection and the application. */
async function stopApplication(started: Started): Promise<void> {
  await started.detection?.stop();
  await started.lambdaEndpoint?.close();
  await started.workload?.stop().catch(() => {});
  await started.secondaryWorkload?.stop().catch(() => {});
  await started.watcher?.stop().catch(() => {});
}

function writeReport(record: DrillRecorder, summary: DrillSummary, files: RunFiles): void {
  const timeline: RunTimeline = { samples: record.samples, moments: record.moments };
  writeFileSync(files.reportFile, runReportHtml(summary, timeline));
  writeFileSync(path.join(files.outDir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  // What the report's timeline is drawn from, so that a report can be drawn again (or tested) without a run.
  writeFileSync(path.join(files.outDir, 'timeline.json'), `${JSON.stringify(timeline, null, 2)}\n`);
  record.say(`report: ${path.relative(process.cwd(), files.reportFile)}`);
}
