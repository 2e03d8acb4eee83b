// `npm run bench:failover`: how fast the failover switches clients, what it costs in AWS calls, and whether ten
// concurrent invocations make one switch, on a harness of its own (real Kafka, MirrorMaker 2, moto).
//
// Per run: a fresh deployment (its own parameters, secrets, lock and journal) whose probe measured a healthy
// replication before the primary was killed; the failover is started by the composite alarm's event with the
// primary already down; switchMs is the function's own measure, from its start to the home region's active
// configuration written (secret, JSON parameter, plain parameter). Median of RUNS runs, for the default
// detection settings (three confirmation probes 1 s apart), for a baseline that confirms the primary down with
// one probe, and for three probes 300 ms apart: the confirmation pauses are configured waiting, not work.
// A reader polls every deployment's active configuration throughout and counts torn reads: a URI and
// credentials of different clusters handed out as consistent. Targets: switch under 2,000 ms, one switch for
// ten concurrent invocations, zero torn reads.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { GetParameterHistoryCommand } from '@aws-sdk/client-ssm';
import { logLevel } from 'kafkajs';
import { CountingAws, createDeployment, type Deployment } from '#harness/fixtures/failover-deployment.ts';
import { startHarness } from '#harness/harness.ts';
import { kafkaClient } from '#harness/kafka-clients.ts';
import { uniqueName } from '#harness/unique-name.ts';
import { waitFor } from '#harness/wait-for.ts';
import { LockHeldError } from '#shared/errors.ts';
import { type FailoverInvocation, runFailover } from '#shared/failover/failover.ts';
import { parseFailoverInput } from '#shared/failover/input.ts';
import { readActiveOnce, type Stores } from '#shared/store/active-config.ts';
import { storesOf } from '#shared/store/aws-stores.ts';

const RUNS = Number(process.env.BENCH_FAILOVER_RUNS ?? 5);
const CONCURRENT = 10;
const TARGET_SWITCH_MS = 2_000;
const resultFile = path.join(import.meta.dirname, 'results', 'failover.json');

interface Run {
  switchMs: number;
  wallMs: number;
  awsCalls: number;
  /** Milliseconds from the invocation to each milestone the failover logs (planned, each journaled step). */
  milestones: Record<string, number>;
}

function alarm(id: string): FailoverInvocation {
  return {
    ...parseFailoverInput({
      version: '0',
      id,
      'detail-type': 'CloudWatch Alarm State Change',
      source: 'aws.cloudwatch',
      account: '123456789012',
      time: new Date().toISOString(),
      region: 'eu-west-1',
      resources: [],
      detail: { alarmName: 'bench-failover', state: { value: 'ALARM', reason: 'bench', timestamp: 'now' } },
    }),
    invocationId: id,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

/** Polls every deployment's active configuration the way clients do; counts mismatched pairs handed out. */
function startReader(stores: Stores, deployments: Deployment[], primaryBootstrap: string) {
  const counts = { reads: 0, inFlight: 0, torn: 0 };
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      for (const d of deployments) {
        const read = await readActiveOnce(stores, d.paths);
        counts.reads += 1;
        if (read.kind === 'torn') counts.inFlight += 1;
        if (read.kind !== 'consistent') continue;
        const creds = read.credentials.reveal();
        const onPrimary = read.config.bootstrapServers.join(',') === primaryBootstrap;
        const credsOfPrimary = creds.cert === undefined;
        if (
          onPrimary !== credsOfPrimary ||
          read.config.cluster !== creds.cluster ||
          read.config.epoch !== creds.epoch
        ) {
          counts.torn += 1;
        }
      }
    }
  })();
  return {
    counts,
    stop: async () => {
      stop = true;
      await loop;
    },
  };
}

async function main(): Promise<void> {
  console.error('starting a harness of its own (Kafka, MirrorMaker 2, moto)...');
  const h = await startHarness({ log: (line) => console.error(`[harness] ${line}`) });
  const aws = new CountingAws(h.info);
  // The reader has clients of its own: its calls are a client's, not the failover's.
  const readerAws = new CountingAws(h.info);
  const readerStores: Stores = storesOf(readerAws);
  const deployments: Deployment[] = [];
  try {
    // One mirrored topic that every deployment watches.
    const topic = uniqueName('bench-orders');
    const admin = kafkaClient(h.info, 'primary', { logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    await admin.disconnect();

    const baseline: Deployment[] = [];
    const standard: Deployment[] = [];
    const quick: Deployment[] = [];
    for (let i = 0; i < RUNS; i++) {
      baseline.push(
        await createDeployment(h.info, aws, { topics: [topic], detection: { confirmProbes: 1 } }),
      );
      standard.push(await createDeployment(h.info, aws, { topics: [topic], detection: {} }));
      quick.push(
        await createDeployment(h.info, aws, { topics: [topic], detection: { confirmIntervalMs: 300 } }),
      );
    }
    const concurrent = await createDeployment(h.info, aws, { topics: [topic], detection: {} });
    deployments.push(...baseline, ...standard, ...quick, concurrent);

    console.error(`waiting for a complete replication measurement on ${deployments.length} deployments...`);
    for (const d of deployments) {
      await waitFor(
        async () => {
          const r = (await d.probe()).replication[0];
          return r?.backlogRecords !== undefined && r.lagSeconds !== undefined;
        },
        { timeoutMs: 120_000, what: `a complete replication measurement for ${d.config.name}` },
      );
    }
    await h.kill('primary');
    for (const d of deployments) await d.probe();

    const primaryBootstrap = h.info.clusters.primary.bootstrapServers;
    const totals = { reads: 0, inFlight: 0, torn: 0 };
    const watched = async <T>(d: Deployment, work: () => Promise<T>): Promise<T> => {
      // A reader on the deployment being switched, the whole time, as a client polling its configuration.
      const reader = startReader(readerStores, [d], primaryBootstrap);
      try {
        return await work();
      } finally {
        await reader.stop();
        totals.reads += reader.counts.reads;
        totals.inFlight += reader.counts.inFlight;
        totals.torn += reader.counts.torn;
      }
    };
    const measure = async (set: Deployment[], label: string): Promise<Run[]> => {
      const runs: Run[] = [];
      for (const [i, d] of set.entries()) {
        const milestones: Record<string, number> = {};
        let t0 = performance.now();
        const note = (message: string, ...extra: Array<Record<string, unknown>>) => {
          const step = extra[0]?.step;
          const key = typeof step === 'string' ? step : message;
          milestones[key] = Math.round(performance.now() - t0);
        };
        const deps = d.deps({ logger: { info: note, warn: note, error: note } });
        aws.reset();
        t0 = performance.now();
        const result = await watched(d, () => runFailover(alarm(`${label}-${i}`), deps));
        const wallMs = performance.now() - t0;
        if (result.status !== 'switched') throw new Error(`${label} run ${i}: ${JSON.stringify(result)}`);
        runs.push({
          switchMs: result.switchMs,
          wallMs: Math.round(wallMs),
          awsCalls: aws.calls.length,
          milestones,
        });
      }
      return runs;
    };
    const baselineRuns = await measure(baseline, 'confirm1');
    const standardRuns = await measure(standard, 'default');
    const quickRuns = await measure(quick, 'interval300');

    const concurrentDeps = Array.from({ length: CONCURRENT }, () => concurrent.deps());
    const settled = await watched(concurrent, () =>
      Promise.allSettled(concurrentDeps.map((deps, i) => runFailover(alarm(`concurrent-${i}`), deps))),
    );
    const outcomes = settled.map((s) =>
      s.status === 'fulfilled' ? s.value.status : s.reason instanceof LockHeldError ? 'lock-held' : 'error',
    );
    const history = await aws.ssm.send(
      new GetParameterHistoryCommand({ Name: concurrent.paths.activeParameter }),
    );
    const epochs = (history.Parameters ?? []).map(
      (p) => (JSON.parse(p.Value ?? '{}') as { epoch: number }).epoch,
    );
    const switches = epochs.length - 1;

    const switchMsMedian = median(standardRuns.map((r) => r.switchMs));
    const baselineMedian = median(baselineRuns.map((r) => r.switchMs));
    const results = {
      switchMsMedian,
      awsCalls: median(standardRuns.map((r) => r.awsCalls)),
      concurrentInvocations: CONCURRENT,
      switches,
      tornReads: totals.torn,
      // Context for the figures above.
      runs: RUNS,
      detection: {
        confirmProbes: standard[0]?.config.detection.confirmProbes,
        confirmIntervalMs: standard[0]?.config.detection.confirmIntervalMs,
      },
      baseline: {
        what: 'confirmProbes=1',
        switchMsMedian: baselineMedian,
        awsCalls: median(baselineRuns.map((r) => r.awsCalls)),
      },
      ratioDefaultToBaseline: Number((switchMsMedian / baselineMedian).toFixed(2)),
      shorterPauses: {
        what: 'confirmProbes=3, confirmIntervalMs=300',
        switchMsMedian: median(quickRuns.map((r) => r.switchMs)),
        ratioToDefault: Number((median(quickRuns.map((r) => r.switchMs)) / switchMsMedian).toFixed(2)),
      },
      switchMsAfterConfirmation: {
        what: 'switchMs minus the confirmation pauses (confirmProbes-1) x confirmIntervalMs',
        median:
          switchMsMedian -
          ((standard[0]?.config.detection.confirmProbes ?? 1) - 1) *
            (standard[0]?.config.detection.confirmIntervalMs ?? 0),
      },
      concurrentOutcomes: Object.fromEntries(
        [...new Set(outcomes)].map((o) => [o, outcomes.filter((x) => x === o).length]),
      ),
      reads: totals.reads,
      inFlightReadsDetected: totals.inFlight,
      runsDetail: { default: standardRuns, baseline: baselineRuns, shorterPauses: quickRuns },
      targets: {
        switchMs: TARGET_SWITCH_MS,
        met: {
          switch: switchMsMedian < TARGET_SWITCH_MS,
          oneSwitch: switches === 1,
          noTornReads: totals.torn === 0,
        },
      },
    };
    mkdirSync(path.dirname(resultFile), { recursive: true });
    writeFileSync(resultFile, `${JSON.stringify(results, null, 2)}\n`);

    const row = (name: string, value: string | number, note = '') =>
      `${name.padEnd(34)} ${String(value).padStart(10)}  ${note}`;
    console.log(
      [
        `failover benchmark (${RUNS} runs each, primary killed, alarm-triggered)`,
        row(
          'switch ms, median (default)',
          switchMsMedian,
          `target < ${TARGET_SWITCH_MS}: ${switchMsMedian < TARGET_SWITCH_MS ? 'met' : 'NOT met'}`,
        ),
        row('switch ms, median (confirmProbes=1)', baselineMedian, 'baseline'),
        row('ratio default / baseline', results.ratioDefaultToBaseline),
        row(
          'switch ms, median (interval 300 ms)',
          results.shorterPauses.switchMsMedian,
          `ratio to default ${results.shorterPauses.ratioToDefault}`,
        ),
        row('switch ms after confirmation', results.switchMsAfterConfirmation.median),
        row('AWS calls per failover (median)', results.awsCalls, `baseline ${results.baseline.awsCalls}`),
        row('concurrent invocations', CONCURRENT, JSON.stringify(results.concurrentOutcomes)),
        row('switches', switches, 'target 1'),
        row(
          'torn reads',
          totals.torn,
          `of ${totals.reads} reads; ${totals.inFlight} in-flight detected and re-read`,
        ),
        `written to ${path.relative(process.cwd(), resultFile)}`,
      ].join('\n'),
    );
  } finally {
    await Promise.all(deployments.map((d) => d.close()));
    aws.destroy();
    readerAws.destroy();
    await h.stop();
  }
}

await main();
