import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_KAFKA_VERSION, ensureKafka, ensureMoto, kafkaCached, motoInstalled } from './artifacts.ts';
import { type AwsFaultProxy, startAwsFaultProxy } from './aws-fault-proxy.ts';
import { generateTlsFiles } from './certs.ts';
import { ConnectWorker } from './connect-worker.ts';
import { type ControlServer, startControlServer } from './control-server.ts';
import { DedicatedMirrorMaker } from './dedicated-mirror.ts';
import type { AwsFaultControl, HarnessControl } from './harness-control.ts';
import type {
  BrokerPorts,
  ClusterName,
  HarnessInfo,
  MirrorDirection,
  MirrorMode,
  MirrorTiming,
  ReplicationPolicyName,
} from './info.ts';
import { writeLoggingConfig } from './jvm.ts';
import { KafkaCluster } from './kafka-cluster.ts';
import { createMirror, mirrorConnectorNames, pauseMirror, resumeMirror } from './mirror-connectors.ts';
import { MotoServer } from './moto-server.ts';
import { cacheDir } from './paths.ts';
import { freePorts } from './ports.ts';
import { assertPrerequisites } from './prerequisites.ts';
import { ProcessGroups } from './process.ts';

export interface HarnessOptions {
  /** Kafka release from Maven Central; default `KAFKA_VERSION` or {@link DEFAULT_KAFKA_VERSION}. */
  kafkaVersion?: string;
  /** MM2 as connectors in a Connect worker (default) or dedicated `MirrorMaker`. */
  mirrorMode?: MirrorMode;
  /** `default` (`primary.orders`) or `identity` (`orders`). */
  policy?: ReplicationPolicyName;
  separator?: string;
  /** MM2 `offset.lag.max`; default 0, so that translated offsets are exact in tests. */
  offsetLagMax?: number;
  /**
   * MM2's intervals: `harness` (default) 1 s each and `offsetLagMax`; `production` MM2's own defaults (checkpoints
   * every 60 s, topics discovered every 10 minutes, offset.lag.max 100): create topics before the mirror starts.
   */
  mirrorTiming?: MirrorTiming;
  /** An mTLS listener on both clusters, with generated Aiven-style PEM files. Default true. */
  tls?: boolean;
  /** The moto AWS emulator, with the AWS fault proxy in front of it (in this process). Default true. */
  moto?: boolean;
  /**
   * Brokers per cluster: 1 (default), or 3 combined broker+controller nodes forming a three-voter quorum,
   * with replication factor 3 and min.insync.replicas 2 for internal topics, MM2's and new topics.
   */
  brokers?: 1 | 3;
  /** Start the forward mirror (primary -> secondary). Default true. */
  mirror?: boolean;
  /** The HTTP control server for test workers. Default true. */
  controlServer?: boolean;
  /** Progress lines; default silent. */
  log?: (line: string) => void;
}

/** A running harness, controlled in-process. */
export interface Harness extends HarnessControl {
  cluster(name: ClusterName): KafkaCluster;
  /** The AWS fault proxy itself (synchronous controls); throws when the harness runs without moto. */
  awsFaultProxy(): AwsFaultProxy;
  /** Stops every process (gracefully, then SIGKILL) and the control server. Safe to call twice. */
  stop(): Promise<void>;
}

/** Finished run folders kept for their logs; older ones are deleted at the next start. */
const KEEP_RUNS = 20;

/**
 * Starts two KRaft clusters (`primary`, `secondary`) of one broker (or three), MirrorMaker 2 primary ->
 * secondary, moto with the AWS fault proxy, and the control server, all on free loopback ports, and waits
 * until each is ready. If any part fails to start, everything started so far is stopped and the error names
 * the failed process with its log tail.
 *
 * @example
 * const harness = await startHarness({ policy: 'identity', tls: false, moto: false });
 * try { ... } finally { await harness.stop(); }
 */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const log = options.log ?? (() => {});
  const started = Date.now();
  const kafkaVersion = options.kafkaVersion ?? process.env.KAFKA_VERSION ?? DEFAULT_KAFKA_VERSION;
  await assertPrerequisites({
    downloadKafka: !kafkaCached(kafkaVersion),
    installMoto: options.moto !== false && !motoInstalled(),
    tls: options.tls !== false,
  });
  const [dist, motoDist] = await Promise.all([
    ensureKafka(kafkaVersion, log),
    options.moto === false ? undefined : ensureMoto(log),
  ]);

  const runsDir = path.join(cacheDir, 'harness');
  pruneFinishedRuns(runsDir);
  const runId = `${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '')}-${process.pid}-${randomBytes(2).toString('hex')}`;
  const runDir = path.join(runsDir, runId);
  const logsDir = path.join(runDir, 'logs');
  mkdirSync(logsDir, { recursive: true });
  log(`run folder ${runDir}`);

  const tlsOn = options.tls !== false;
  const brokerCount = options.brokers ?? 1;
  if (brokerCount !== 1 && brokerCount !== 3) {
    throw new Error(`brokers: expected 1 or 3 per cluster, got ${String(brokerCount)}`);
  }
  // Three per broker (plaintext, controller, SSL, taken even without TLS), Connect, reverse Connect, moto,
  // the fault proxy.
  const ports = await freePorts(2 * brokerCount * 3 + 4);
  const port = (): number => {
    const p = ports.shift();
    if (p === undefined) throw new Error('freePorts returned too few ports');
    return p;
  };
  const brokerPorts = (): BrokerPorts[] =>
    Array.from({ length: brokerCount }, () => {
      const [plaintext, controller, ssl] = [port(), port(), port()];
      return { plaintext, controller, ...(tlsOn ? { ssl } : {}) };
    });
  const [primaryPorts, secondaryPorts] = [brokerPorts(), brokerPorts()];
  const [connectPort, reversePort, motoPort, faultProxyPort] = [port(), port(), port(), port()];
  const tls = tlsOn ? await generateTlsFiles(path.join(runDir, 'certs')) : undefined;
  const configDir = path.join(runDir, 'config');
  mkdirSync(configDir, { recursive: true });
  const loggingConfig = writeLoggingConfig(configDir, dist);
  // From here on every process is registered, and `harness.stop()` (or the reaper) cleans up.
  const groups = new ProcessGroups(path.join(runDir, 'pgids'));
  const cluster = (name: ClusterName, portsOfBrokers: BrokerPorts[]): KafkaCluster =>
    new KafkaCluster({
      name,
      runDir,
      brokerPorts: portsOfBrokers,
      dist,
      loggingConfig,
      groups,
      ...(tls === undefined ? {} : { tls }),
    });
  const clusters: Record<ClusterName, KafkaCluster> = {
    primary: cluster('primary', primaryPorts),
    secondary: cluster('secondary', secondaryPorts),
  };
  const replicationFactor = brokerCount === 3 ? 3 : 1;
  const direction: MirrorDirection = {
    source: { alias: 'primary', bootstrapServers: clusters.primary.bootstrapServers },
    target: { alias: 'secondary', bootstrapServers: clusters.secondary.bootstrapServers },
    policy: options.policy ?? 'default',
    separator: options.separator ?? '.',
    offsetLagMax: options.offsetLagMax ?? 0,
    ...(replicationFactor === 1 ? {} : { replicationFactor }),
    ...(options.mirrorTiming === 'production' ? { timing: 'production' as const } : {}),
  };
  const workerOptions = { runDir, dist, loggingConfig, groups, replicationFactor };
  const mode = options.mirrorMode ?? 'connect';
  const forward =
    mode === 'connect'
      ? new ConnectWorker({
          ...workerOptions,
          name: 'connect',
          restPort: connectPort,
          bootstrapServers: direction.target.bootstrapServers,
        })
      : new DedicatedMirrorMaker({ ...workerOptions, direction });
  const reverseWorker = new ConnectWorker({
    ...workerOptions,
    name: 'connect-reverse',
    restPort: reversePort,
    bootstrapServers: direction.source.bootstrapServers,
  });
  const moto =
    motoDist === undefined ? undefined : new MotoServer({ runDir, port: motoPort, dist: motoDist, groups });

  const info: HarnessInfo = {
    runId,
    runDir,
    logsDir,
    kafkaVersion: dist.version,
    clusters: { primary: clusters.primary.info, secondary: clusters.secondary.info },
    ...(tls === undefined
      ? {}
      : {
          tls: { caPath: tls.caPath, caKeyPath: tls.caKeyPath, certPath: tls.certPath, keyPath: tls.keyPath },
        }),
    mirror: {
      mode,
      direction,
      ...(forward instanceof ConnectWorker
        ? { connectUrl: forward.restUrl, connectors: mirrorConnectorNames(direction) }
        : {}),
      logFile: forward.process.spec.logFile,
    },
    reverseWorker: { connectUrl: reverseWorker.restUrl, logFile: reverseWorker.process.spec.logFile },
    ...(moto === undefined
      ? {}
      : {
          moto: {
            endpoint: moto.endpoint,
            region: 'us-east-1',
            faultProxyEndpoint: `http://127.0.0.1:${faultProxyPort}`,
          },
        }),
  };
  const harness = new LocalHarness({ info, clusters, forward, reverseWorker, moto, groups, log });
  try {
    await Promise.all(Object.values(clusters).map((c) => c.prepare()));
    await Promise.all([
      ...Object.values(clusters).map(async (c) => {
        await c.start();
        log(`kafka ${c.name} ready on ${c.bootstrapServers} (${elapsed(started)})`);
      }),
      moto?.start().then(() => log(`moto ready on ${moto.endpoint} (${elapsed(started)})`)),
    ]);
    if (moto !== undefined) await harness.startAwsFaultProxy(faultProxyPort);
    if (options.mirror !== false) {
      await harness.startMirror();
      log(`MirrorMaker 2 (${mode}, ${direction.policy} policy) running (${elapsed(started)})`);
    }
    if (options.controlServer !== false) await harness.startControlServer();
    writeFileSync(path.join(runDir, 'info.json'), `${JSON.stringify(harness.info, null, 2)}\n`);
  } catch (e: unknown) {
    await harness
      .stop()
      .catch((stopError: unknown) => log(`while stopping after a failed start: ${String(stopError)}`));
    throw e;
  }
  log(`harness ready in ${elapsed(started)}`);
  return harness;
}

interface LocalHarnessParts {
  info: HarnessInfo;
  clusters: Record<ClusterName, KafkaCluster>;
  forward: ConnectWorker | DedicatedMirrorMaker;
  reverseWorker: ConnectWorker;
  moto: MotoServer | undefined;
  groups: ProcessGroups;
  log: (line: string) => void;
}

class LocalHarness implements Harness {
  #info: HarnessInfo;
  readonly #parts: LocalHarnessParts;
  #control: ControlServer | undefined;
  #awsFaultProxy: AwsFaultProxy | undefined;
  #stopping: Promise<void> | undefined;
  readonly awsFaults: AwsFaultControl;

  constructor(parts: LocalHarnessParts) {
    this.#parts = parts;
    this.#info = parts.info;
    this.awsFaults = {
      set: async (faults) => this.awsFaultProxy().set(faults),
      clear: async () => this.awsFaultProxy().clear(),
      counts: async () => this.awsFaultProxy().counts(),
      resetCounts: async () => this.awsFaultProxy().resetCounts(),
    };
  }

  get info(): HarnessInfo {
    return this.#info;
  }

  cluster(name: ClusterName): KafkaCluster {
    const found = this.#parts.clusters[name];
    if (found === undefined) throw new Error(`expected 'primary' or 'secondary', got '${String(name)}'`);
    return found;
  }

  awsFaultProxy(): AwsFaultProxy {
    const proxy = this.#awsFaultProxy;
    if (proxy === undefined) {
      throw new Error(
        'the harness runs without moto, so without the AWS fault proxy: start it with { moto: true }',
      );
    }
    return proxy;
  }

  async kill(name: ClusterName, broker?: number): Promise<void> {
    const cluster = this.cluster(name);
    await (broker === undefined ? cluster.kill() : cluster.broker(broker).kill());
  }

  async hang(name: ClusterName, broker?: number): Promise<void> {
    const cluster = this.cluster(name);
    if (broker === undefined) cluster.hang();
    else cluster.broker(broker).hang();
  }

  async resume(name: ClusterName, broker?: number): Promise<void> {
    const cluster = this.cluster(name);
    if (broker === undefined) cluster.resume();
    else cluster.broker(broker).resume();
  }

  async restart(name: ClusterName, broker?: number): Promise<void> {
    const cluster = this.cluster(name);
    await (broker === undefined ? cluster.restart() : cluster.broker(broker).restart());
  }

  async stopMirror(): Promise<void> {
    await this.#parts.forward.stop();
  }

  async startMirror(): Promise<void> {
    const { forward } = this.#parts;
    if (forward instanceof DedicatedMirrorMaker) {
      if (!forward.running) await forward.start();
      return;
    }
    if (!forward.running) await forward.start();
    await createMirror(forward.restUrl, this.#info.mirror.direction);
  }

  async pauseMirror(): Promise<void> {
    await pauseMirror(this.#connectUrl('pause'), this.#info.mirror.direction);
  }

  async resumeMirror(): Promise<void> {
    await resumeMirror(this.#connectUrl('resume'), this.#info.mirror.direction);
  }

  async startReverseWorker(): Promise<{ connectUrl: string }> {
    const { reverseWorker } = this.#parts;
    if (!reverseWorker.running) await reverseWorker.start();
    return { connectUrl: reverseWorker.restUrl };
  }

  async stopReverseWorker(): Promise<void> {
    await this.#parts.reverseWorker.stop();
  }

  async resetMoto(): Promise<void> {
    const { moto } = this.#parts;
    if (moto === undefined) throw new Error('the harness runs without moto: start it with { moto: true }');
    await moto.reset();
  }

  async startAwsFaultProxy(port: number): Promise<void> {
    const { moto } = this.#parts;
    if (moto === undefined) throw new Error('the AWS fault proxy needs moto behind it');
    this.#awsFaultProxy = await startAwsFaultProxy({ upstream: moto.endpoint, port });
  }

  async startControlServer(): Promise<void> {
    this.#control = await startControlServer(this);
    this.#info = { ...this.#info, controlUrl: this.#control.url };
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    const { clusters, forward, reverseWorker, moto, groups } = this.#parts;
    const errors: unknown[] = [];
    const attempt = async (work: () => Promise<void>): Promise<void> => {
      try {
        await work();
      } catch (e: unknown) {
        errors.push(e);
      }
    };
    await attempt(async () => this.#control?.close());
    await attempt(async () => this.#awsFaultProxy?.close());
    // Mirrors first, so that they do not log a page of errors about brokers going away.
    await Promise.all([attempt(() => forward.stop()), attempt(() => reverseWorker.stop())]);
    await Promise.all([
      ...Object.values(clusters).map((c) => attempt(() => c.stop())),
      ...(moto === undefined ? [] : [attempt(() => moto.stop())]),
    ]);
    if (errors.length === 0) groups.close();
    else {
      groups.killAllNow();
      groups.close();
      throw new AggregateError(errors, `stopping the harness: ${errors.length} error(s)`);
    }
  }

  #connectUrl(action: string): string {
    const url = this.#info.mirror.connectUrl;
    if (url === undefined) {
      throw new Error(
        `${action} needs MM2 in Connect mode; in dedicated mode use stopMirror()/startMirror()`,
      );
    }
    return url;
  }
}

function elapsed(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}

/**
 * Deletes all but the newest finished run folders. A run is live while its pgids file exists and its owner
 * (the pid in its id) is alive; a pgids file left by a dead owner was the reaper's business, not ours.
 */
function pruneFinishedRuns(runsDir: string): void {
  if (!existsSync(runsDir)) return;
  const live = (name: string): boolean => {
    const owner = Number(name.split('-')[1]);
    if (!existsSync(path.join(runsDir, name, 'pgids')) || !Number.isInteger(owner)) return false;
    try {
      process.kill(owner, 0);
      return true;
    } catch (e: unknown) {
      return (e as NodeJS.ErrnoException).code === 'EPERM';
    }
  };
  const finished = readdirSync(runsDir)
    .filter((name) => !live(name))
    .sort();
  for (const name of finished.slice(0, Math.max(0, finished.length - KEEP_RUNS))) {
    rmSync(path.join(runsDir, name), { recursive: true, force: true });
  }
}
