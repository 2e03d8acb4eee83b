import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_KAFKA_VERSION, ensureKafka, ensureMoto } from './artifacts.ts';
import { generateTlsFiles } from './certs.ts';
import { ConnectWorker } from './connect-worker.ts';
import { type ControlServer, startControlServer } from './control-server.ts';
import { DedicatedMirrorMaker } from './dedicated-mirror.ts';
import type { HarnessControl } from './harness-control.ts';
import type { ClusterName, HarnessInfo, MirrorDirection, MirrorMode, ReplicationPolicyName } from './info.ts';
import { writeLoggingConfig } from './jvm.ts';
import { KafkaCluster } from './kafka-cluster.ts';
import { createMirror, mirrorConnectorNames, pauseMirror, resumeMirror } from './mirror-connectors.ts';
import { MotoServer } from './moto-server.ts';
import { cacheDir } from './paths.ts';
import { freePorts } from './ports.ts';
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
  /** An mTLS listener on both clusters, with generated Aiven-style PEM files. Default true. */
  tls?: boolean;
  /** The moto AWS emulator. Default true. */
  moto?: boolean;
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
  /** Stops every process (gracefully, then SIGKILL) and the control server. Safe to call twice. */
  stop(): Promise<void>;
}

/** Finished run folders kept for their logs; older ones are deleted at the next start. */
const KEEP_RUNS = 20;

/**
 * Starts two single-node KRaft clusters (`primary`, `secondary`), MirrorMaker 2 primary -> secondary,
 * moto and the control server, all on free loopback ports, and waits until each is ready. If any part fails
 * to start, everything started so far is stopped and the error names the failed process with its log tail.
 *
 * @example
 * const harness = await startHarness({ policy: 'identity', tls: false, moto: false });
 * try { ... } finally { await harness.stop(); }
 */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const log = options.log ?? (() => {});
  const started = Date.now();
  const [dist, motoDist] = await Promise.all([
    ensureKafka(options.kafkaVersion ?? process.env.KAFKA_VERSION ?? DEFAULT_KAFKA_VERSION, log),
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
  const [pPlain, pController, pSsl, sPlain, sController, sSsl, connectPort, reversePort, motoPort] =
    await freePorts(9);
  const port = (p: number | undefined): number => {
    if (p === undefined) throw new Error('freePorts returned too few ports');
    return p;
  };
  const tls = tlsOn ? await generateTlsFiles(path.join(runDir, 'certs')) : undefined;
  const configDir = path.join(runDir, 'config');
  mkdirSync(configDir, { recursive: true });
  const loggingConfig = writeLoggingConfig(configDir, dist);
  // From here on every process is registered, and `harness.stop()` (or the reaper) cleans up.
  const groups = new ProcessGroups(path.join(runDir, 'pgids'));
  const cluster = (name: ClusterName, plaintext: number, controller: number, ssl: number): KafkaCluster =>
    new KafkaCluster({
      name,
      runDir,
      ports: { plaintext, controller, ...(tlsOn ? { ssl } : {}) },
      dist,
      loggingConfig,
      groups,
      ...(tls === undefined ? {} : { tls }),
    });
  const clusters: Record<ClusterName, KafkaCluster> = {
    primary: cluster('primary', port(pPlain), port(pController), port(pSsl)),
    secondary: cluster('secondary', port(sPlain), port(sController), port(sSsl)),
  };
  const direction: MirrorDirection = {
    source: { alias: 'primary', bootstrapServers: clusters.primary.bootstrapServers },
    target: { alias: 'secondary', bootstrapServers: clusters.secondary.bootstrapServers },
    policy: options.policy ?? 'default',
    separator: options.separator ?? '.',
    offsetLagMax: options.offsetLagMax ?? 0,
  };
  const workerOptions = { runDir, dist, loggingConfig, groups };
  const mode = options.mirrorMode ?? 'connect';
  const forward =
    mode === 'connect'
      ? new ConnectWorker({
          ...workerOptions,
          name: 'connect',
          restPort: port(connectPort),
          bootstrapServers: direction.target.bootstrapServers,
        })
      : new DedicatedMirrorMaker({ ...workerOptions, direction });
  const reverseWorker = new ConnectWorker({
    ...workerOptions,
    name: 'connect-reverse',
    restPort: port(reversePort),
    bootstrapServers: direction.source.bootstrapServers,
  });
  const moto =
    motoDist === undefined
      ? undefined
      : new MotoServer({ runDir, port: port(motoPort), dist: motoDist, groups });

  const info: HarnessInfo = {
    runId,
    runDir,
    logsDir,
    kafkaVersion: dist.version,
    clusters: { primary: clusters.primary.info, secondary: clusters.secondary.info },
    ...(tls === undefined
      ? {}
      : { tls: { caPath: tls.caPath, certPath: tls.certPath, keyPath: tls.keyPath } }),
    mirror: {
      mode,
      direction,
      ...(forward instanceof ConnectWorker
        ? { connectUrl: forward.restUrl, connectors: mirrorConnectorNames(direction) }
        : {}),
      logFile: forward.process.spec.logFile,
    },
    reverseWorker: { connectUrl: reverseWorker.restUrl, logFile: reverseWorker.process.spec.logFile },
    ...(moto === undefined ? {} : { moto: { endpoint: moto.endpoint, region: 'us-east-1' } }),
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
  #stopping: Promise<void> | undefined;

  constructor(parts: LocalHarnessParts) {
    this.#parts = parts;
    this.#info = parts.info;
  }

  get info(): HarnessInfo {
    return this.#info;
  }

  cluster(name: ClusterName): KafkaCluster {
    const found = this.#parts.clusters[name];
    if (found === undefined) throw new Error(`expected 'primary' or 'secondary', got '${String(name)}'`);
    return found;
  }

  async kill(name: ClusterName): Promise<void> {
    await this.cluster(name).kill();
  }

  async hang(name: ClusterName): Promise<void> {
    this.cluster(name).hang();
  }

  async resume(name: ClusterName): Promise<void> {
    this.cluster(name).resume();
  }

  async restart(name: ClusterName): Promise<void> {
    await this.cluster(name).restart();
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
