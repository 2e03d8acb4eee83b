import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import { consumeUntil } from '#harness/consume.ts';
import { type Harness, startHarness } from '#harness/harness.ts';
import type { HarnessInfo } from '#harness/info.ts';
import { kafkaClient } from '#harness/kafka-clients.ts';
import { alarmEvent, captureStdout, lambdaContext, scheduledEvent } from '#harness/lambda.ts';
import { repoRoot } from '#harness/paths.ts';
import {
  type AlarmState,
  type Datapoint,
  datapointsFromEmf,
  evaluateAlarm,
  evaluateComposite,
} from '#shared/alarms/evaluate.ts';
import { type AlarmSpec, alarmSpecs } from '#shared/alarms/specs.ts';
import { watchActiveConfig } from '#shared/client/active-config-watcher.ts';
import { parseDeploymentConfig } from '#shared/config/load.ts';
import { deploymentPaths } from '#shared/config/paths.ts';
import type { DeploymentConfig } from '#shared/config/schema.ts';
import { describeError } from '#shared/errors.ts';
import { readActiveOnce } from '#shared/store/active-config.ts';
import { provisionDeployment } from './provision.ts';
import { type Moment, reportHtml, type Sample } from './report.ts';
import type { Scenario } from './scenario-names.ts';
import { Workload } from './workload.ts';

export { type Scenario, scenarios } from './scenario-names.ts';

export interface DrillOptions {
  scenario: Scenario;
  /** Progress lines (to the terminal's stderr by default). */
  progress?: (line: string) => void;
}

export interface DrillSummary {
  ok: boolean;
  scenario: Scenario;
  detectionWindowSeconds: number;
  detectionSeconds: number | null;
  switchSeconds: number | null;
  clientFollowSeconds: number | null;
  rtoSeconds: number | null;
  ackedOnPrimary: number;
  missingAfterFailover: number;
  duplicatesConsumed: number;
  /** The duplicates by the epoch under which the consumer read them (0 before failover, 1 after, 2-3 failback). */
  duplicatesByEpoch: Record<string, number>;
  failback: { ok: boolean; salvaged: number; lost: number; duplicates: number } | null;
  /** Scenario-specific findings: which alarms fired, how many failovers, why the run failed. */
  checks: Array<{ name: string; ok: boolean; detail: string }>;
  /**
   * Speed targets, reported but not part of `ok`: a drill on a loaded machine is slower, not wrong. Whether a
   * fault lands early or late in a 10 s alarm period alone moves detection by 10 s.
   */
  targets: Array<{ name: string; met: boolean; detail: string }>;
  epochs: number[];
  alarmsFired: string[];
  reportFile: string;
  logFile: string;
}

const TOPIC = 'orders';
const GROUP = 'drill-app';
const QUARANTINE = 'mm2-failover.quarantine';

/**
 * The drill's deployment: the harness's clusters over mTLS, the identity policy (the failback main path), and
 * detection compressed to CloudWatch's finest: 10 s alarm periods, 2 of 2, probes every 2 s.
 */
export function drillConfig(info: HarnessInfo): DeploymentConfig {
  if (!info.mirror.connectUrl) throw new Error('the drill needs MM2 in Connect mode');
  return parseDeploymentConfig({
    name: 'drill',
    mode: 'active-passive',
    replicationPolicy: 'identity',
    clusters: {
      primary: { alias: info.clusters.primary.alias, auth: 'mtls', expectedBrokers: 1 },
      secondary: { alias: info.clusters.secondary.alias, auth: 'mtls', expectedBrokers: 1 },
    },
    topics: [TOPIC],
    consumerGroups: [GROUP],
    detection: {
      probeIntervalSeconds: 2,
      alarmPeriodSeconds: 10,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      lagAlarmPeriodSeconds: 10,
      cycleDeadlineMs: 1_900,
      connectTimeoutMs: 1_000,
      requestTimeoutMs: 1_500,
      confirmProbes: 2,
      confirmIntervalMs: 500,
    },
    safety: { maxLagRecords: 10_000, maxLagSeconds: 10, cooldownMinutes: 10, requireHealthySecondary: true },
    mirror: {
      kind: 'kafka-connect',
      forwardUrl: info.mirror.connectUrl,
      reverseUrl: info.reverseWorker.connectUrl,
      connectorPrefix: 'mm2',
    },
    failback: {
      quarantineTopic: QUARANTINE,
      stableSeconds: 5,
      // Producers keep writing to the secondary during catch-up: wait for a small backlog, not for silence.
      catchUpMaxLagRecords: 100,
      switchOrder: 'consumers-first',
    },
  });
}

type Handler = (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;

class Clock {
  readonly t0 = Date.now();
  s(atMs = Date.now()): number {
    return Math.round((atMs - this.t0) / 100) / 10;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(
  what: string,
  deadlineMs: number,
  check: () => T | undefined | Promise<T | undefined>,
): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end)
      throw new Error(`timed out after ${Math.round(deadlineMs / 1000)} s waiting for ${what}`);
    await sleep(250);
  }
}

/** Every record of `topic` (from its log start), read with a throwaway group. */
async function readAll(kafka: Kafka, topic: string): Promise<number[]> {
  const admin = kafka.admin();
  await admin.connect();
  let total = 0;
  try {
    const topics = await admin.listTopics();
    if (!topics.includes(topic)) return [];
    const offsets = await admin.fetchTopicOffsets(topic);
    total = offsets.reduce((sum, o) => sum + (Number(o.high) - Number(o.low)), 0);
  } finally {
    await admin.disconnect();
  }
  if (total === 0) return [];
  const records = await consumeUntil(kafka, topic, (r) => r.length >= total, {
    timeoutMs: 60_000,
    what: `all ${total} records of ${topic}`,
  });
  return records.map((r) => Number(r.value?.toString('utf8'))).filter((n) => Number.isInteger(n));
}

/** Run one drill scenario end to end on a harness of its own; always stops what it started. */
export async function runDrill(options: DrillOptions): Promise<DrillSummary> {
  const clock = new Clock();
  const say = options.progress ?? ((line: string) => process.stderr.write(`${line}\n`));
  const outDir = path.join(
    repoRoot,
    '.out',
    'drill',
    `${new Date().toISOString().replace(/[:.]/g, '-')}-${options.scenario}`,
  );
  mkdirSync(outDir, { recursive: true });
  const logFile = path.join(outDir, 'functions.log');
  const reportFile = path.join(outDir, 'report.html');
  const moments: Moment[] = [];
  const samples: Sample[] = [];
  const checks: DrillSummary['checks'] = [];
  const mark = (label: string, atMs = Date.now()) => {
    moments.push({ t: clock.s(atMs), label });
    say(`[${clock.s(atMs).toFixed(1).padStart(6)}s] ${label}`);
  };
  const check = (name: string, ok: boolean, detail: string) => {
    checks.push({ name, ok, detail });
    say(`  ${ok ? 'ok  ' : 'FAIL'} ${name}: ${detail}`);
  };

  let harness: Harness | undefined;
  let restoreStdout: (() => void) | undefined;
  let workload: Workload | undefined;
  let watcher: Awaited<ReturnType<typeof watchActiveConfig>> | undefined;
  let stopProbing = false;
  let probeLoop: Promise<void> | undefined;
  let alarmLoop: Promise<void> | undefined;
  const points: Datapoint[] = [];
  const fired = new Set<string>();
  const epochs: number[] = [];
  const summary: DrillSummary = {
    ok: false,
    scenario: options.scenario,
    detectionWindowSeconds: 0,
    detectionSeconds: null,
    switchSeconds: null,
    clientFollowSeconds: null,
    rtoSeconds: null,
    ackedOnPrimary: 0,
    missingAfterFailover: 0,
    duplicatesConsumed: 0,
    duplicatesByEpoch: {},
    failback: null,
    checks,
    targets: [],
    epochs,
    alarmsFired: [],
    reportFile,
    logFile,
  };

  try {
    mark('starting the harness (two KRaft clusters, MM2 in Kafka Connect, moto)');
    harness = await startHarness({ policy: 'identity', tls: true, moto: true, controlServer: false });
    const info = harness.info;
    const config = drillConfig(info);
    const d = config.detection;
    summary.detectionWindowSeconds = d.alarmPeriodSeconds * d.evaluationPeriods;
    const specs = alarmSpecs(config);

    // The application's topic exists before anyone uses it, on the primary; MM2 creates its mirror.
    const primaryKafka = kafkaClient(info, 'primary');
    const admin = primaryKafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic: TOPIC, numPartitions: 3, replicationFactor: 1 }],
      waitForLeaders: true,
    });
    await admin.disconnect();

    mark('provisioning the deployment into moto as an operator would after cdk deploy');
    const provisioned = await provisionDeployment(config, info);
    Object.assign(process.env, provisioned.functionEnv);
    const paths = deploymentPaths(config.name);

    // Everything the functions print goes to the log file; EMF lines also feed the alarm evaluator.
    restoreStdout = captureStdout((line) => {
      appendFileSync(logFile, `${line}\n`);
      points.push(...datapointsFromEmf(line));
    });
    const probe = (await import('#functions/probe/handler.ts')).handler as unknown as Handler;
    const failover = (await import('#functions/failover/handler.ts')).handler as unknown as Handler;
    const failback = (await import('#functions/failback/handler.ts')).handler as unknown as Handler;
    const status = (await import('#functions/status/handler.ts')).handler as unknown as Handler;

    // The application's client library logs (switches, drains, rewinds) go to their own file, to read beside the
    // functions' log when a figure (a duplicate count, a follow time) needs explaining.
    const clientLog = path.join(outDir, 'client.log');
    const appendClientLog =
      (level: string) =>
      (message: string, ...attributes: Array<Record<string, unknown>>) =>
        appendFileSync(
          clientLog,
          `${JSON.stringify({ at: new Date().toISOString(), level, message, ...Object.assign({}, ...attributes) })}\n`,
        );
    const clientLogger = {
      info: appendClientLog('INFO'),
      warn: appendClientLog('WARN'),
      error: appendClientLog('ERROR'),
    };
    watcher = await watchActiveConfig({
      deployment: config.name,
      stores: provisioned.stores,
      kafka: { clientId: 'drill-app' },
      intervalMs: 1_000,
      logger: clientLogger,
    });
    workload = new Workload(watcher, { topic: TOPIC, groupId: GROUP, intervalMs: 50, logger: clientLogger });
    await workload.start();
    mark('application producer and consumer started (client library, following the active configuration)');

    // The one-minute schedule, compressed: each invocation probes every 2 s for its 60 s, then the next starts.
    probeLoop = (async () => {
      while (!stopProbing) {
        try {
          await probe(
            scheduledEvent('mm2-failover-drill-probe'),
            lambdaContext('mm2-failover-drill-probe', 20_000),
          );
        } catch (e: unknown) {
          say(`  probe invocation failed: ${describeError(e)}`);
          await sleep(1_000);
        }
      }
    })();

    // CloudWatch, evaluated every second on what the probe emitted; EventBridge delivers the composite's ALARM.
    const states: Partial<Record<AlarmSpec['id'], AlarmState>> = {};
    let composite: AlarmState = 'OK';
    let failoverInFlight: Promise<void> | undefined;
    let detectedAt: number | undefined;
    let switchedAt: number | undefined;
    let failoverInvocations = 0;
    alarmLoop = (async () => {
      while (!stopProbing) {
        const now = Date.now();
        for (const spec of specs) {
          const state = evaluateAlarm(spec, points, now);
          if (state === 'ALARM' && states[spec.id] !== 'ALARM') {
            fired.add(spec.id);
            mark(`alarm ${spec.id} -> ALARM`);
          } else if (state !== 'ALARM' && states[spec.id] === 'ALARM') {
            mark(`alarm ${spec.id} -> OK`);
          }
          states[spec.id] = state;
        }
        const next = evaluateComposite(states);
        if (next === 'ALARM' && composite !== 'ALARM') {
          detectedAt ??= now;
          fired.add('FailoverComposite');
          mark('composite alarm -> ALARM: EventBridge invokes the failover function');
          failoverInvocations++;
          failoverInFlight = (async () => {
            const result = (await failover(
              alarmEvent('mm2-failover-drill-failover', 'primary down, secondary up, prober alive'),
              lambdaContext('mm2-failover-drill-failover', 300_000),
            )) as { status: string; epoch?: number };
            if (result.status === 'switched') {
              switchedAt ??= Date.now();
              mark(`failover switched clients to the secondary (epoch ${result.epoch})`);
            } else {
              mark(`failover answered ${result.status}`);
            }
          })().catch((e: unknown) => mark(`failover failed: ${describeError(e)}`));
        }
        composite = next;
        const latest = (metric: string, cluster?: string) =>
          [...points]
            .reverse()
            .find((p) => p.metricName === metric && (cluster === undefined || p.cluster === cluster));
        const up = (c: string) => {
          const p = latest('ClusterUp', c);
          return p && now - p.timestampMs < 5_000 ? p.value === 1 : undefined;
        };
        samples.push({
          t: clock.s(now),
          primaryUp: up('primary'),
          secondaryUp: up('secondary'),
          replicationLagSeconds: latest('ReplicationLagSeconds')?.value,
        });
        await sleep(1_000);
      }
    })();

    const w = workload;
    const progress = setInterval(() => {
      const lastAck = [...w.acks.values()].at(-1);
      say(
        `  ... produced ${w.produced}, consumed ${w.consumed.size} (+${w.duplicates} dup), writing to ${lastAck?.cluster ?? '-'}${w.failedSends.length ? `, ${w.failedSends.length} sends failed (last: ${w.lastError})` : ''}`,
      );
    }, 5_000);
    try {
      // Steady state: both clusters up, records flowing and replicated, a few probe cycles behind us.
      await until(
        'steady state (records consumed, both clusters probed up, lag measured, every alarm OK)',
        180_000,
        () =>
          w.consumed.size >= 40 &&
          points.some((p) => p.metricName === 'ClusterUp' && p.cluster === 'secondary' && p.value === 1) &&
          points.some((p) => p.metricName === 'ReplicationLagSeconds') &&
          specs.every((spec) => states[spec.id] === 'OK')
            ? true
            : undefined,
      );
      mark('steady state: both clusters up, records replicated and consumed, every alarm OK');
      const readEpoch = async () => {
        const r = await readActiveOnce(provisioned.stores, paths);
        return r.kind === 'consistent' ? r.config.epoch : undefined;
      };

      if (options.scenario === 'kill' || options.scenario === 'hang') {
        const faultAt = Date.now();
        if (options.scenario === 'kill') {
          await harness.kill('primary');
          mark('primary killed (SIGKILL)', faultAt);
        } else {
          await harness.hang('primary');
          mark('primary hung (SIGSTOP: TCP accepted, nothing answered)', faultAt);
        }
        await until('the failover switch', (summary.detectionWindowSeconds + 90) * 1000, () => switchedAt);
        const followed = await until('the first record acknowledged by the secondary', 60_000, () =>
          w.firstAckOn('secondary', faultAt),
        );
        mark('first record acknowledged by the secondary: clients followed', followed.atMs);
        summary.detectionSeconds = detectedAt === undefined ? null : (detectedAt - faultAt) / 1000;
        summary.switchSeconds =
          switchedAt === undefined || detectedAt === undefined
            ? null
            : ((switchedAt as number) - detectedAt) / 1000;
        summary.clientFollowSeconds =
          switchedAt === undefined ? null : Math.max(0, (followed.atMs - (switchedAt as number)) / 1000);
        summary.rtoSeconds = (followed.atMs - faultAt) / 1000;
        await sleep(8_000);
        await failoverInFlight;
        const epochAfterFailover = await readEpoch();
        summary.ackedOnPrimary = [...w.acks.values()].filter((a) => a.cluster === 'primary').length;
        // RPO in records: acknowledged by the primary, never seen by the consumer before failback.
        summary.missingAfterFailover = w.unseen((a) => a.cluster === 'primary').length;
        mark(
          `before failback: ${summary.missingAfterFailover} records acknowledged by the primary not yet consumed`,
        );

        if (options.scenario === 'kill') await harness.restart('primary');
        else await harness.resume('primary');
        mark(options.scenario === 'kill' ? 'primary restarted with its data' : 'primary resumed (SIGCONT)');
        // The operator's Kafka Connect cluster that writes into the primary: it needs the primary to run.
        await harness.startReverseWorker();
        mark('reverse Connect worker (bootstrap: the primary) running, no connectors yet');

        // The operator: a dry run first, then advance phase by phase (purge confirmed) until done.
        const planned = (await failback(
          {
            action: 'failback',
            phase: 'plan',
            requestedBy: 'drill',
            reason: 'primary is back: what would failback do?',
          },
          lambdaContext('mm2-failover-drill-failback', 900_000),
        )) as { status: string };
        mark(`failback plan: ${planned.status}`);
        const fbStarted = Date.now();
        let last: { status: string; currentPhase?: string; nextStep?: string; completedPhases?: string[] } = {
          status: 'waiting',
        };
        let lastPhase = '';
        while (last.status !== 'completed') {
          if (Date.now() - fbStarted > 300_000)
            throw new Error(`failback did not finish in 300 s; last answer: ${JSON.stringify(last)}`);
          // Purge deletes the primary's stale records: the operator confirms it only when it is the phase due.
          const confirmPurge = last.currentPhase === 'purge';
          last = (await failback(
            {
              action: 'failback',
              ...(confirmPurge ? { phase: 'purge', confirm: true } : {}),
              requestedBy: 'drill',
              reason: 'primary restored after the drill fault',
            },
            lambdaContext('mm2-failover-drill-failback', 900_000),
          )) as typeof last;
          if (last.status === 'refused') throw new Error(`failback refused: ${JSON.stringify(last)}`);
          const phase = `${last.status}${last.currentPhase ? ` at ${last.currentPhase}` : ''}`;
          if (phase !== lastPhase)
            mark(`failback: ${phase} (done: ${(last.completedPhases ?? []).join(', ') || 'none'})`);
          lastPhase = phase;
          if (last.status !== 'completed') await sleep(1_000);
        }
        const backAt = Date.now();
        const back = await until('the first record acknowledged by the primary after failback', 60_000, () =>
          w.firstAckOn('primary', backAt - 30_000),
        );
        mark('failback complete: clients write to the primary again', back.atMs);
        await sleep(5_000);
        await w.stopProducing();
        mark(
          `producer stopped after ${w.produced} acknowledged records (${w.failedSends.length} sends reported failed)`,
        );
        await until('the consumer to read every acknowledged record', 90_000, () =>
          w.unseen().length === 0 ? true : undefined,
        ).catch((e: unknown) => say(`  ${describeError(e)}`));

        // The books: every acknowledged record is on the primary or in quarantine on the secondary.
        const onPrimary = new Set(await readAll(primaryKafka, TOPIC));
        const quarantined = await readAll(kafkaClient(info, 'secondary'), QUARANTINE);
        const quarantineSet = new Set(quarantined);
        const lost = [...w.acks.keys()].filter((n) => !onPrimary.has(n) && !quarantineSet.has(n));
        summary.duplicatesConsumed = w.duplicates;
        summary.duplicatesByEpoch = Object.fromEntries(w.duplicatesByEpoch);
        summary.failback = {
          ok: lost.length === 0,
          salvaged: quarantined.length,
          lost: lost.length,
          duplicates: w.duplicates,
        };
        const final = await readActiveOnce(provisioned.stores, paths);
        const finalCluster = final.kind === 'consistent' ? final.config.cluster : final.kind;
        if (final.kind === 'consistent') epochs.push(final.config.epoch);
        // Failover is one switch (epoch 1); failback's switch moves consumers and producers in two fenced stages.
        check(
          'exactly one failover switch',
          failoverInvocations === 1 && epochAfterFailover === 1,
          `${failoverInvocations} failover invocation(s), epoch ${epochAfterFailover} after it`,
        );
        check(
          'failback returned clients to the primary',
          finalCluster === 'primary',
          `active: ${finalCluster}`,
        );
        // What an operator would ask next: the status function's view of the same end state.
        const reported = (await status({}, lambdaContext('mm2-failover-drill-status', 30_000))) as {
          active: { cluster?: string; epoch?: number };
          failover: { status?: string } | null;
          failback: { status?: string } | null;
        };
        check(
          'status function reports the end state',
          reported.active.cluster === 'primary' &&
            reported.failover?.status === 'completed' &&
            reported.failback?.status === 'completed',
          `active ${reported.active.cluster} epoch ${reported.active.epoch}, failover ${reported.failover?.status}, failback ${reported.failback?.status}`,
        );
        check(
          'no acknowledged record lost',
          lost.length === 0,
          `${lost.length} lost of ${w.acks.size}${lost.length ? `: ${lost.slice(0, 10).join(', ')}` : ''}`,
        );
        check(
          'consumer read every acknowledged record',
          w.unseen().length === 0,
          `${w.unseen().length} unseen`,
        );
        const met = summary.rtoSeconds !== null && summary.rtoSeconds <= summary.detectionWindowSeconds + 15;
        const detail = `${summary.rtoSeconds} s against ${summary.detectionWindowSeconds + 15} s`;
        summary.targets.push({ name: 'RTO within the detection window + 15 s', met, detail });
        say(`  ${met ? 'met ' : 'MISS'} RTO within the detection window + 15 s: ${detail}`);
      } else {
        const faultAt = Date.now();
        const observeMs = (summary.detectionWindowSeconds + 25) * 1000;
        if (options.scenario === 'mm2-down') {
          await harness.stopMirror();
          mark('MirrorMaker 2 stopped');
          await until('a replication lag alarm', 120_000, () =>
            fired.has('ReplicationLagWarning') || fired.has('ReplicationLagCritical') ? true : undefined,
          ).catch((e: unknown) => say(`  ${describeError(e)}`));
          await sleep(Math.max(0, observeMs - (Date.now() - faultAt)));
          check(
            'lag alarm fired',
            fired.has('ReplicationLagWarning') || fired.has('ReplicationLagCritical'),
            [...fired].join(', ') || 'none',
          );
          await harness.startMirror();
          mark('MirrorMaker 2 started again');
        } else if (options.scenario === 'secondary-down') {
          await harness.kill('secondary');
          mark('secondary killed (SIGKILL)');
          await until('the SecondaryDown alarm', observeMs, () =>
            fired.has('SecondaryDown') ? true : undefined,
          ).catch((e: unknown) => say(`  ${describeError(e)}`));
          await sleep(Math.max(0, observeMs - (Date.now() - faultAt)));
          check(
            'SecondaryDown alarm fired (the alert)',
            fired.has('SecondaryDown'),
            [...fired].join(', ') || 'none',
          );
          await harness.restart('secondary');
          mark('secondary restarted');
        } else {
          // Flapping: the primary stops answering for 5 s and answers for 7 s, four times: never down for a whole
          // 2-of-2 window of 10 s periods.
          for (let i = 0; i < 4; i++) {
            await harness.hang('primary');
            mark(`primary hung (flap ${i + 1}/4)`);
            await sleep(5_000);
            await harness.resume('primary');
            mark(`primary resumed (flap ${i + 1}/4)`);
            await sleep(7_000);
          }
          await sleep(summary.detectionWindowSeconds * 1000);
        }
        await failoverInFlight;
        const finalEpoch = await readEpoch();
        if (finalEpoch !== undefined) epochs.push(finalEpoch);
        check(
          'no failover',
          failoverInvocations === 0 && finalEpoch === 0,
          `${failoverInvocations} failover invocations, epoch ${finalEpoch}`,
        );
        await sleep(3_000);
        await w.stopProducing();
        await until('the consumer to read every acknowledged record', 90_000, () =>
          w.unseen().length === 0 ? true : undefined,
        ).catch((e: unknown) => say(`  ${describeError(e)}`));
        summary.ackedOnPrimary = [...w.acks.values()].filter((a) => a.cluster === 'primary').length;
        summary.duplicatesConsumed = w.duplicates;
        summary.duplicatesByEpoch = Object.fromEntries(w.duplicatesByEpoch);
        summary.missingAfterFailover = w.unseen().length;
        check(
          'consumer read every acknowledged record',
          w.unseen().length === 0,
          `${w.unseen().length} unseen`,
        );
      }
    } finally {
      clearInterval(progress);
    }
    summary.ok = checks.every((c) => c.ok);
  } catch (e: unknown) {
    checks.push({ name: 'drill ran to the end', ok: false, detail: describeError(e) });
    say(`  FAIL ${describeError(e)}`);
    summary.ok = false;
  } finally {
    stopProbing = true;
    await Promise.allSettled([probeLoop, alarmLoop]);
    await workload?.stop().catch(() => {});
    await watcher?.stop().catch(() => {});
    restoreStdout?.();
    summary.alarmsFired = [...fired];
    writeFileSync(
      reportFile,
      reportHtml({
        title: `mm2-failover drill: ${options.scenario}`,
        samples,
        moments,
        summary: Object.fromEntries(Object.entries(summary).filter(([k]) => k !== 'checks')),
      }),
    );
    writeFileSync(path.join(outDir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
    say(`report: ${path.relative(process.cwd(), reportFile)}`);
    await harness?.stop();
  }
  return summary;
}
