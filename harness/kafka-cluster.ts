import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { KafkaDistribution } from './artifacts.ts';
import type { TlsFiles } from './certs.ts';
import type { BrokerPorts, ClusterInfo, ClusterName } from './info.ts';
import { BROKER_READY_MS, KafkaBroker } from './kafka-broker.ts';
import type { ProcessGroups } from './process.ts';

export interface KafkaClusterOptions {
  name: ClusterName;
  runDir: string;
  /** One entry per broker: one broker, or three for a three-voter quorum. */
  brokerPorts: readonly BrokerPorts[];
  dist: KafkaDistribution;
  loggingConfig: string;
  groups: ProcessGroups;
  tls?: TlsFiles;
}

/** Heap per broker JVM: a lone broker keeps what it always had; three of them share the machine. */
const HEAP_MB = { single: 512, replicated: 256 };

/**
 * A KRaft cluster on loopback: one combined broker + controller, or three forming a three-voter quorum.
 * Ports and data folders are fixed for its lifetime, so {@link restart} brings back the same cluster.
 * The whole-cluster faults act on every broker; {@link broker} reaches one.
 */
export class KafkaCluster {
  readonly name: ClusterName;
  /** A KRaft cluster id: 16 random bytes, base64url, as `kafka-storage random-uuid` prints. */
  readonly clusterId: string;
  /** The broker's log dir, or the folder of the brokers' log dirs. */
  readonly dataDir: string;
  readonly brokers: readonly KafkaBroker[];

  constructor(options: KafkaClusterOptions) {
    const { name, runDir, brokerPorts } = options;
    if (brokerPorts.length !== 1 && brokerPorts.length !== 3) {
      throw new Error(`cluster ${name}: expected 1 or 3 brokers, got ${brokerPorts.length}`);
    }
    this.name = name;
    this.clusterId = randomClusterId();
    this.dataDir = path.join(runDir, 'data', name);
    const single = brokerPorts.length === 1;
    // node.id 1 for a lone broker, as it always was; 1, 2, 3 for three.
    const quorumVoters = brokerPorts.map((p, i) => `${i + 1}@127.0.0.1:${p.controller}`).join(',');
    this.brokers = brokerPorts.map(
      (ports, index) =>
        new KafkaBroker({
          index,
          nodeId: index + 1,
          stem: single ? name : `${name}-${index + 1}`,
          dataDir: single ? this.dataDir : path.join(this.dataDir, String(index + 1)),
          runDir,
          ports,
          quorumVoters,
          clusterSize: brokerPorts.length,
          heapMb: single ? HEAP_MB.single : HEAP_MB.replicated,
          dist: options.dist,
          loggingConfig: options.loggingConfig,
          groups: options.groups,
          ...(options.tls === undefined ? {} : { tls: options.tls }),
        }),
    );
  }

  /** One broker by its index in {@link brokers} (and in `info.brokers`). */
  broker(index: number): KafkaBroker {
    const found = Number.isInteger(index) ? this.brokers[index] : undefined;
    if (found === undefined) {
      throw new Error(
        `cluster ${this.name}: expected a broker index from 0 to ${this.brokers.length - 1}, got ${index}`,
      );
    }
    return found;
  }

  get bootstrapServers(): string {
    return this.brokers.map((b) => b.bootstrapServers).join(',');
  }

  get tlsBootstrapServers(): string | undefined {
    const addresses = this.brokers.map((b) => b.tlsBootstrapServers);
    return addresses.every((a) => a !== undefined) ? addresses.join(',') : undefined;
  }

  get info(): ClusterInfo {
    const tls = this.tlsBootstrapServers;
    const brokers = this.brokers.map((b) => b.info);
    return {
      name: this.name,
      alias: this.name,
      bootstrapServers: this.bootstrapServers,
      ...(tls === undefined ? {} : { tlsBootstrapServers: tls }),
      clusterId: this.clusterId,
      dataDir: this.dataDir,
      logFile: brokers[0]?.logFile ?? '',
      brokers,
    };
  }

  /** Writes each broker's server.properties and formats its data folder (once; a restart keeps it). */
  async prepare(): Promise<void> {
    await Promise.all(this.brokers.map((b) => b.prepare(this.clusterId)));
  }

  /** Starts every broker together and waits until each answers metadata listing them all. */
  async start(timeoutMs = BROKER_READY_MS): Promise<void> {
    for (const broker of this.brokers) broker.launch();
    const nodeIds = this.brokers.map((b) => b.nodeId);
    await Promise.all(this.brokers.map((b) => b.awaitReady(nodeIds, timeoutMs)));
  }

  /** SIGKILL every broker: the cluster crashes. The data stays; {@link restart} recovers it. */
  async kill(): Promise<void> {
    await Promise.all(this.brokers.map((b) => b.kill()));
  }

  /** SIGSTOP every running broker: sockets open, nothing answered. Fails if none runs. */
  hang(): void {
    const running = this.brokers.filter((b) => b.running);
    // None running: the first broker refuses, naming itself, as a lone broker always did.
    for (const broker of running.length === 0 ? [this.broker(0)] : running) broker.hang();
  }

  resume(): void {
    for (const broker of this.brokers) broker.resume();
  }

  /** Stops every broker (gracefully, even if hung), then starts them all on the same ports and data. */
  async restart(timeoutMs = BROKER_READY_MS): Promise<void> {
    await this.stop();
    await this.start(timeoutMs);
  }

  async stop(): Promise<void> {
    const results = await Promise.allSettled(this.brokers.map((b) => b.stop()));
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
    if (failed.length === 1) throw failed[0];
    if (failed.length > 1) throw new AggregateError(failed, `stopping cluster ${this.name}`);
  }
}

function randomClusterId(): string {
  // Kafka's Uuid.randomUuid() never hands out ids starting with '-' (they confuse command lines).
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}
