// `npm run bench:fleet`: what a fleet of watching processes costs in AWS calls, and whether a thousand of them fit
// the account's quotas.
//
// N watchers (`ActiveConfigWatcher`, the client library's own, each with its own SDK clients as a process would
// have) watch one deployment per polling mode against the real moto server: `pollVia: 'parameter'` (the default:
// one SSM GetParameter per poll) and `pollVia: 'secret'` (one Secrets Manager GetSecretValue per poll; the
// parameter only on a new epoch). Every request the SDK sends is counted by API with a middleware inside the
// retry loop, so a retried call counts as the quota counts it. After a steady window (no switch) the two
// deployments are switched and the calls and the time until every watcher followed are counted as well.
//
// From the measured rate per watcher it computes what a 1,000-process fleet sends per second, and compares it with
// the quotas (AWS pages cited in docs/client.md, "A large fleet"): SSM's standard throughput, 40 TPS for the
// account and region, shared by GetParameter, GetParameters and GetParametersByPath, and by the failover functions'
// own reads; Secrets Manager's 10,000 TPS for GetSecretValue and DescribeSecret together.
//
// Starts only moto (no Kafka: watching does not touch a cluster). Environment: BENCH_FLEET_WATCHERS (default 50 per
// mode), BENCH_FLEET_WINDOW_MS (default 120,000: about 24 polls per watcher at 5 s).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { ensureMoto } from '#harness/artifacts.ts';
import { MotoServer } from '#harness/moto-server.ts';
import { freePorts } from '#harness/ports.ts';
import { ProcessGroups } from '#harness/process.ts';
import {
  ActiveConfigWatcher,
  defaultJitter,
  defaultPollIntervalMs,
  type PollVia,
} from '#shared/client/active-config-watcher.ts';
import type { ActiveConfig } from '#shared/config/contract.ts';
import { deploymentPaths } from '#shared/config/paths.ts';
import { writeActive } from '#shared/store/active-config.ts';
import { storesOf } from '#shared/store/aws-stores.ts';
import { Redacted } from '#shared/store/redacted.ts';

const WATCHERS = Number(process.env.BENCH_FLEET_WATCHERS ?? 50);
const WINDOW_MS = Number(process.env.BENCH_FLEET_WINDOW_MS ?? 120_000);
const FLEET = 1_000;
const FOLLOW_DEADLINE_MS = 60_000;
const HOURS_PER_MONTH = 730;
/** USD per 10,000 calls: Secrets Manager's API price, and Parameter Store's once higher throughput is on. */
const USD_PER_10K_CALLS = 0.05;
const QUOTAS = {
  ssmStandardTps: 40,
  /** The lowest figure found for higher throughput (1,000; a 2022 copy of the quota page says 3,000). */
  ssmHigherThroughputTps: 1_000,
  secretsManagerGetSecretValueTps: 10_000,
} as const;
const MODES: readonly PollVia[] = ['parameter', 'secret'];
const resultsFile = path.join(import.meta.dirname, 'results', 'fleet.json');

const log = (line: string) => console.error(`[bench:fleet] ${line}`);

type Counts = Map<string, number>;

/** Where each request is counted: inside the retry loop, so each attempt counts once, as the quota counts it. */
const countStep = { step: 'finalizeRequest', priority: 'low', name: 'fleetCount' } as const;

function active(name: string, epoch: number, cluster: 'primary' | 'secondary'): ActiveConfig {
  return {
    epoch,
    cluster,
    alias: cluster,
    bootstrapServers: [`${cluster}.example:9096`],
    securityProtocol: 'SASL_SSL',
    sasl: { mechanism: 'scram-sha-512' },
    credentialsSecret: deploymentPaths(name).activeCredentialsSecret,
    topics: {
      orders: { produce: cluster === 'primary' ? 'orders' : 'primary.orders', subscribe: ['orders'] },
    },
    switchedAt: new Date().toISOString(),
    reason: `bench: to ${cluster}`,
  };
}

const credentials = new Redacted({ username: 'bench', password: 'bench-password' });

interface Fleet {
  mode: PollVia;
  deployment: string;
  counts: Counts;
  watchers: ActiveConfigWatcher[];
  followedAt: Map<number, number>;
  failures: number;
}

const snapshot = (counts: Counts): Record<string, number> => Object.fromEntries([...counts].sort());
const minus = (a: Record<string, number>, b: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(a).map(([k, v]) => [k, v - (b[k] ?? 0)]));
const median = (xs: number[]): number => {
  const s = [...xs].sort((x, y) => x - y);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};
const round1 = (x: number) => Math.round(x * 10) / 10;

const runDir = mkdtempSync(path.join(tmpdir(), 'bench-fleet-'));
const groups = new ProcessGroups(path.join(runDir, 'pgids'));
const [port] = await freePorts(1);
if (port === undefined) throw new Error('freePorts returned no port');
const moto = new MotoServer({ runDir, port, dist: await ensureMoto(log), groups });
const fleets: Fleet[] = [];
try {
  await moto.start();
  log(`moto ready on ${moto.endpoint}`);
  const aws = {
    endpoint: moto.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  };
  const setupStores = storesOf({ ssm: new SSMClient(aws), secretsManager: new SecretsManagerClient(aws) });

  for (const mode of MODES) {
    const deployment = `fleet-${mode}`;
    await writeActive(
      setupStores,
      deploymentPaths(deployment),
      active(deployment, 1, 'primary'),
      credentials,
    );
    const fleet: Fleet = {
      mode,
      deployment,
      counts: new Map(),
      watchers: [],
      followedAt: new Map(),
      failures: 0,
    };
    for (let i = 0; i < WATCHERS; i++) {
      const record = (api = 'unknown') => fleet.counts.set(api, (fleet.counts.get(api) ?? 0) + 1);
      const ssm = new SSMClient(aws);
      const secretsManager = new SecretsManagerClient(aws);
      ssm.middlewareStack.add(
        (next, context) => (args) => {
          record(context.commandName);
          return next(args);
        },
        countStep,
      );
      secretsManager.middlewareStack.add(
        (next, context) => (args) => {
          record(context.commandName);
          return next(args);
        },
        countStep,
      );
      const watcher = new ActiveConfigWatcher({
        deployment,
        stores: storesOf({ ssm, secretsManager }),
        kafka: { clientId: `fleet-${i}` },
        pollVia: mode,
        onError: () => {
          fleet.failures += 1;
        },
      });
      watcher.subscribe(() => {
        fleet.followedAt.set(i, performance.now());
      });
      fleet.watchers.push(watcher);
    }
    fleets.push(fleet);
  }
  await Promise.all(fleets.flatMap((f) => f.watchers.map((w) => w.start())));
  log(`${WATCHERS} watchers per mode started; counting for ${WINDOW_MS / 1000} s`);

  const steadyFrom = fleets.map((f) => snapshot(f.counts));
  const t0 = performance.now();
  await new Promise((resolve) => setTimeout(resolve, WINDOW_MS));
  const windowMs = performance.now() - t0;
  const steady = fleets.map((f, i) => minus(snapshot(f.counts), steadyFrom[i] ?? {}));

  // The switch: both deployments move to the secondary; every watcher must follow.
  const switchFrom = fleets.map((f) => snapshot(f.counts));
  const switchedAt = performance.now();
  await Promise.all(
    fleets.map((f) =>
      writeActive(
        setupStores,
        deploymentPaths(f.deployment),
        active(f.deployment, 2, 'secondary'),
        credentials,
      ),
    ),
  );
  while (fleets.some((f) => f.followedAt.size < WATCHERS)) {
    if (performance.now() - switchedAt > FOLLOW_DEADLINE_MS) {
      throw new Error(
        `not every watcher followed the switch within ${FOLLOW_DEADLINE_MS} ms: ${fleets.map((f) => `${f.mode} ${f.followedAt.size}/${WATCHERS}`).join(', ')}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const switchMs = performance.now() - switchedAt;
  const switched = fleets.map((f, i) => minus(snapshot(f.counts), switchFrom[i] ?? {}));

  const perHour = (count: number) => (count / WATCHERS) * (3_600_000 / windowMs);
  const modes = fleets.map((f, i) => {
    const calls = steady[i] ?? {};
    const callsPerWatcherPerHour = Object.fromEntries(
      Object.entries(calls).map(([api, n]) => [api, Math.round(perHour(n))]),
    );
    const ssmPerHour = perHour(calls.GetParameterCommand ?? 0);
    const smPerHour = perHour(calls.GetSecretValueCommand ?? 0);
    const fleetTps = {
      ssm: round1((ssmPerHour * FLEET) / 3_600),
      secretsManager: round1((smPerHour * FLEET) / 3_600),
    };
    const follow = [...f.followedAt.values()].map((at) => at - switchedAt);
    const followMsMax = Math.round(Math.max(...follow));
    const switchCalls = switched[i] ?? {};
    const ssmPerWatcherInSwitch = (switchCalls.GetParameterCommand ?? 0) / WATCHERS;
    const ssmFits = fleetTps.ssm <= QUOTAS.ssmStandardTps;
    const smFits = fleetTps.secretsManager <= QUOTAS.secretsManagerGetSecretValueTps;
    // What the fleet's calls cost a month: Secrets Manager calls always; SSM calls only with higher throughput,
    // which the parameter mode needs once it no longer fits the standard 40 TPS.
    const chargedPerHour = smPerHour * FLEET + (ssmFits ? 0 : ssmPerHour * FLEET);
    return {
      pollVia: f.mode,
      callsPerWatcherPerHour,
      fleetTps,
      verdict:
        ssmFits && smFits
          ? `fits: ${fleetTps.ssm} of SSM's ${QUOTAS.ssmStandardTps} TPS, ${fleetTps.secretsManager} of Secrets Manager's ${QUOTAS.secretsManagerGetSecretValueTps}`
          : `throttles: ${fleetTps.ssm} SSM TPS against the standard ${QUOTAS.ssmStandardTps} (needs higher throughput, at least ${QUOTAS.ssmHigherThroughputTps} TPS, charged)`,
      withinQuota: ssmFits && smFits,
      usdPerMonthAt1000: Math.round((chargedPerHour * HOURS_PER_MONTH * USD_PER_10K_CALLS) / 10_000),
      switch: {
        followMsMedian: Math.round(median(follow)),
        followMsMax,
        callsPerWatcher: Object.fromEntries(
          Object.entries(switchCalls).map(([api, n]) => [api, round1(n / WATCHERS)]),
        ),
        // The SSM rate a thousand processes would send while following, spread as this fleet's follows were.
        fleetSsmTpsWhileFollowing: round1((ssmPerWatcherInSwitch * FLEET) / (followMsMax / 1000)),
      },
      failedPolls: f.failures,
    };
  });

  const report = {
    watchersPerMode: WATCHERS,
    windowMs: Math.round(windowMs),
    intervalMs: defaultPollIntervalMs,
    jitter: defaultJitter,
    fleet: FLEET,
    quotas: QUOTAS,
    usdPer10kCalls: USD_PER_10K_CALLS,
    counted: 'SDK middleware in the finalizeRequest step (each attempt), per API, against moto',
    before: 'parameter',
    after: 'secret',
    modes,
    switchMs: Math.round(switchMs),
  };
  mkdirSync(path.dirname(resultsFile), { recursive: true });
  writeFileSync(resultsFile, `${JSON.stringify(report, null, 2)}\n`);

  const header = [
    'pollVia',
    'GetParameter/h',
    'GetSecretValue/h',
    'SSM TPS @1000',
    'SM TPS @1000',
    'USD/month @1000',
    'follow median/max ms',
    'SSM TPS following @1000',
  ];
  const rows = modes.map((m) => [
    m.pollVia,
    String(m.callsPerWatcherPerHour.GetParameterCommand ?? 0),
    String(m.callsPerWatcherPerHour.GetSecretValueCommand ?? 0),
    String(m.fleetTps.ssm),
    String(m.fleetTps.secretsManager),
    String(m.usdPerMonthAt1000),
    `${m.switch.followMsMedian}/${m.switch.followMsMax}`,
    String(m.switch.fleetSsmTpsWhileFollowing),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i] ?? 0)).join('  ');
  console.log(
    `${WATCHERS} watchers per mode, interval ${defaultPollIntervalMs} ms ±${defaultJitter * 100} %, counted over ${Math.round(windowMs / 1000)} s and extrapolated to an hour; fleet of ${FLEET}`,
  );
  console.log(line(header));
  for (const r of rows) console.log(line(r));
  for (const m of modes) console.log(`${m.pollVia}: ${m.verdict}; failed polls ${m.failedPolls}`);
  console.log(`written to ${path.relative(process.cwd(), resultsFile)}`);
} finally {
  await Promise.all(fleets.flatMap((f) => f.watchers.map((w) => w.stop())));
  await moto.stop();
  rmSync(runDir, { recursive: true, force: true });
}
