// `npm run harness`: the test harness in the foreground, for manual runs and the drill. Ctrl-C stops it.
//   npm run harness -- [--dedicated] [--identity] [--no-tls] [--no-moto] [--offset-lag-max N] [--brokers 1|3]
// Kafka version: KAFKA_VERSION=3.9.2 npm run harness
import path from 'node:path';
import { parseArgs } from 'node:util';
import { type Harness, startHarness } from './harness.ts';

const { values } = parseArgs({
  options: {
    dedicated: { type: 'boolean', default: false },
    identity: { type: 'boolean', default: false },
    'no-tls': { type: 'boolean', default: false },
    'no-moto': { type: 'boolean', default: false },
    'offset-lag-max': { type: 'string', default: '0' },
    brokers: { type: 'string', default: '1' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  console.log(
    'usage: npm run harness -- [--dedicated] [--identity] [--no-tls] [--no-moto] [--offset-lag-max N] [--brokers 1|3]',
  );
  process.exit(0);
}
const offsetLagMax = Number(values['offset-lag-max']);
if (!Number.isInteger(offsetLagMax) || offsetLagMax < 0) {
  console.error(`--offset-lag-max: expected a whole number >= 0, got '${values['offset-lag-max']}'`);
  process.exit(2);
}

const brokers = values.brokers === '1' ? 1 : values.brokers === '3' ? 3 : undefined;
if (brokers === undefined) {
  console.error(`--brokers: expected 1 or 3 brokers per cluster, got '${values.brokers}'`);
  process.exit(2);
}

const log = (line: string): void => console.error(`[harness] ${line}`);
let harness: Harness | undefined;
let stopping = false;
const shutdown = async (signal: string): Promise<void> => {
  if (stopping) return;
  stopping = true;
  if (harness === undefined) {
    // Mid-start: exiting runs the 'exit' hook that SIGKILLs every process group started so far.
    log(`${signal} during start: killing whatever has started`);
    process.exit(130);
  }
  log(`${signal}: stopping everything`);
  try {
    await harness.stop();
    log('stopped');
    process.exit(0);
  } catch (e: unknown) {
    log(`stopping failed: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  }
};
// The JVMs lead their own process groups, so Ctrl-C reaches only us: we stop them. A start in progress is
// cleaned up by startHarness itself when it fails; the reaper covers anything harsher.
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));

try {
  harness = await startHarness({
    mirrorMode: values.dedicated ? 'dedicated' : 'connect',
    policy: values.identity ? 'identity' : 'default',
    tls: !values['no-tls'],
    moto: !values['no-moto'],
    offsetLagMax,
    brokers,
    log,
  });
} catch (e: unknown) {
  log(`failed to start: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}

const { info } = harness;
const lines = [
  `Kafka ${info.kafkaVersion}, run ${info.runId}`,
  `primary    bootstrap ${info.clusters.primary.bootstrapServers}   mTLS ${info.clusters.primary.tlsBootstrapServers ?? '-'}`,
  `secondary  bootstrap ${info.clusters.secondary.bootstrapServers}   mTLS ${info.clusters.secondary.tlsBootstrapServers ?? '-'}`,
  info.tls === undefined
    ? 'TLS        off'
    : `TLS        ca ${info.tls.caPath}\n           cert ${info.tls.certPath}\n           key ${info.tls.keyPath}`,
  `MM2        ${info.mirror.mode} mode, ${info.mirror.direction.policy} policy, primary -> secondary` +
    (info.mirror.connectUrl === undefined ? '' : `, Connect REST ${info.mirror.connectUrl}`),
  `reverse    Connect REST ${info.reverseWorker.connectUrl} (after POST ${info.controlUrl}/reverse-worker/start)`,
  `moto       ${info.moto?.endpoint ?? 'off'}`,
  `AWS faults ${info.moto?.faultProxyEndpoint ?? 'off'}  (fault proxy in front of moto: POST ${info.controlUrl}/aws-faults)`,
  `control    ${info.controlUrl ?? 'off'}  (POST /clusters/primary/kill|hang|resume|restart, /clusters/primary/brokers/<i>/kill|..., /mm2/stop|start|pause|resume)`,
  `logs       ${info.logsDir}`,
  `info       ${path.join(info.runDir, 'info.json')}`,
  'Ctrl-C stops everything.',
];
console.log(lines.join('\n'));
