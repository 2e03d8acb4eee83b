import { DrillRecorder } from '#drill/recorder.ts';
import type { FaultContext } from '#drill/scenarios.ts';
import { Stopwatch } from '#drill/stopwatch.ts';
import type { HarnessInfo } from '#harness/info.ts';

/** A harness's description as the drill reads it; no process behind it. */
export function harnessInfo(): HarnessInfo {
  const cluster = (name: 'primary' | 'secondary', port: number) => ({
    name,
    alias: name,
    bootstrapServers: `127.0.0.1:${port}`,
    tlsBootstrapServers: `127.0.0.1:${port + 1}`,
    clusterId: `${name}-id`,
    dataDir: `/tmp/${name}`,
    logFile: `/tmp/${name}.log`,
    brokers: [
      {
        index: 0,
        nodeId: 1,
        ports: { plaintext: port, controller: port + 2, ssl: port + 1 },
        bootstrapServers: `127.0.0.1:${port}`,
        tlsBootstrapServers: `127.0.0.1:${port + 1}`,
        dataDir: `/tmp/${name}`,
        logFile: `/tmp/${name}.log`,
      },
    ],
  });
  const endpoint = (port: number) => ({ alias: 'x', bootstrapServers: `127.0.0.1:${port}` });
  return {
    runId: 'run',
    runDir: '/tmp/run',
    logsDir: '/tmp/run/logs',
    kafkaVersion: '4.3.1',
    clusters: { primary: cluster('primary', 9092), secondary: cluster('secondary', 9192) },
    mirror: {
      mode: 'connect',
      direction: {
        source: endpoint(9092),
        target: endpoint(9192),
        policy: 'identity',
        separator: '.',
        offsetLagMax: 0,
      },
      connectUrl: 'http://127.0.0.1:8083',
      logFile: '/tmp/run/logs/connect.log',
    },
    reverseWorker: { connectUrl: 'http://127.0.0.1:8084', logFile: '/tmp/run/logs/reverse.log' },
  };
}

/** A recorder whose lines are kept, on a stopwatch started at `startedAtMs`. */
export function recorder(startedAtMs = 0): { record: DrillRecorder; lines: string[] } {
  const lines: string[] = [];
  return { record: new DrillRecorder(new Stopwatch(startedAtMs), (line) => lines.push(line)), lines };
}

/** Fault controls that only log what they are asked to do, with the marks and sleeps in the same log. */
export function recordingFaults(): { context: FaultContext; log: string[] } {
  const log: string[] = [];
  const control = (name: string) => async (cluster?: string, broker?: number) => {
    log.push([name, cluster, broker].filter((part) => part !== undefined).join(' '));
  };
  return {
    log,
    context: {
      harness: {
        kill: control('kill'),
        hang: control('hang'),
        resume: control('resume'),
        restart: control('restart'),
        stopMirror: control('stopMirror'),
        startMirror: control('startMirror'),
        awsFaults: {
          set: async (faults) => {
            log.push(`awsFaults.set ${JSON.stringify(faults)}`);
          },
          clear: async () => {
            log.push('awsFaults.clear');
          },
          counts: async () => ({
            seen: { 'ssm:GetParameter': 40, 'dynamodb:PutItem': 10 },
            faulted: { 'ssm:GetParameter': 7 },
            hanging: 0,
          }),
          resetCounts: async () => {
            log.push('awsFaults.resetCounts');
          },
        },
      },
      mark: (label) => log.push(`mark: ${label}`),
      sleep: async (ms) => {
        log.push(`sleep ${ms}`);
      },
    },
  };
}
