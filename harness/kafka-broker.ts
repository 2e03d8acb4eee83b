import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { KafkaDistribution } from './artifacts.ts';
import type { TlsFiles } from './certs.ts';
import type { BrokerInfo, BrokerPorts } from './info.ts';
import { javaCommand, jvmArgs, runJavaTool, writeProperties } from './jvm.ts';
import { kafkaAt } from './kafka-clients.ts';
import { ManagedProcess, type ProcessGroups } from './process.ts';

export interface KafkaBrokerOptions {
  index: number;
  nodeId: number;
  /** Names the process, its log and its config: `primary` for a lone broker, `primary-2` for node 2 of three. */
  stem: string;
  dataDir: string;
  runDir: string;
  ports: BrokerPorts;
  /** The cluster's `controller.quorum.voters`: every node is a voter. */
  quorumVoters: string;
  /** Brokers in the cluster: one gets replication factor 1 everywhere, three get 3 with min ISR 2. */
  clusterSize: number;
  heapMb: number;
  dist: KafkaDistribution;
  loggingConfig: string;
  groups: ProcessGroups;
  tls?: TlsFiles;
}

/** Deadline for a broker to answer metadata after its JVM starts (a cold JVM on 2 busy cores). */
export const BROKER_READY_MS = 90_000;

/**
 * One KRaft node (combined broker + controller) of a harness cluster, on loopback. Its ports and data
 * folder are fixed for its lifetime, so a restart brings back the same node with its data.
 */
export class KafkaBroker {
  readonly index: number;
  readonly nodeId: number;
  readonly ports: BrokerPorts;
  readonly dataDir: string;
  readonly configFile: string;
  readonly process: ManagedProcess;
  readonly #options: KafkaBrokerOptions;

  constructor(options: KafkaBrokerOptions) {
    this.#options = options;
    this.index = options.index;
    this.nodeId = options.nodeId;
    this.ports = options.ports;
    this.dataDir = options.dataDir;
    this.configFile = path.join(options.runDir, 'config', `${options.stem}.properties`);
    this.process = new ManagedProcess(
      {
        name: `kafka ${options.stem}`,
        command: javaCommand(),
        args: jvmArgs({
          dist: options.dist,
          loggingConfig: options.loggingConfig,
          heapMb: options.heapMb,
          mainClass: 'kafka.Kafka',
          args: [this.configFile],
        }),
        logFile: path.join(options.runDir, 'logs', `kafka-${options.stem}.log`),
      },
      options.groups,
    );
  }

  get bootstrapServers(): string {
    return `127.0.0.1:${this.ports.plaintext}`;
  }

  get tlsBootstrapServers(): string | undefined {
    return this.ports.ssl === undefined ? undefined : `127.0.0.1:${this.ports.ssl}`;
  }

  get running(): boolean {
    return this.process.running;
  }

  get info(): BrokerInfo {
    const tls = this.tlsBootstrapServers;
    return {
      index: this.index,
      nodeId: this.nodeId,
      ports: { ...this.ports },
      bootstrapServers: this.bootstrapServers,
      ...(tls === undefined ? {} : { tlsBootstrapServers: tls }),
      dataDir: this.dataDir,
      logFile: this.process.spec.logFile,
    };
  }

  /** Writes server.properties and formats the data folder with the cluster's id (once; a restart keeps it). */
  async prepare(clusterId: string): Promise<void> {
    mkdirSync(this.dataDir, { recursive: true });
    mkdirSync(path.dirname(this.configFile), { recursive: true });
    writeProperties(this.configFile, this.#serverProperties());
    await runJavaTool({
      dist: this.#options.dist,
      loggingConfig: this.#options.loggingConfig,
      heapMb: 256,
      mainClass: 'kafka.tools.StorageTool',
      args: ['format', '-t', clusterId, '-c', this.configFile, '--ignore-formatted'],
    });
  }

  /** Starts the JVM without waiting: the nodes of a quorum must start together to elect a controller. */
  launch(): void {
    this.process.start();
  }

  /**
   * Waits until this broker answers a metadata request that lists every node in `nodeIds`: the cluster it
   * is part of has registered them all (at start), or it has itself rejoined (after a restart).
   */
  awaitReady(nodeIds: readonly number[], timeoutMs = BROKER_READY_MS): Promise<void> {
    const listed = nodeIds.length === 1 ? `broker ${nodeIds[0]}` : `brokers ${nodeIds.join(', ')}`;
    return this.process.awaitReady(
      `answer metadata listing ${listed} on ${this.bootstrapServers}`,
      () => brokerLists(this.bootstrapServers, nodeIds),
      timeoutMs,
    );
  }

  /** Starts the JVM and waits until it answers metadata listing itself. */
  async start(timeoutMs = BROKER_READY_MS): Promise<void> {
    this.launch();
    await this.awaitReady([this.nodeId], timeoutMs);
  }

  /** SIGKILL: a crash. The data folder stays; {@link restart} recovers it. */
  kill(): Promise<void> {
    return this.process.kill();
  }

  /** SIGSTOP: the broker keeps its sockets but answers nothing. */
  hang(): void {
    this.process.hang();
  }

  resume(): void {
    this.process.resume();
  }

  /** Stops the broker if it runs (gracefully, even if hung), then starts it on the same ports and data. */
  async restart(timeoutMs = BROKER_READY_MS): Promise<void> {
    await this.process.stop();
    await this.start(timeoutMs);
  }

  stop(): Promise<void> {
    return this.process.stop();
  }

  #serverProperties(): Record<string, string | number | boolean> {
    const { ports, tls, nodeId, quorumVoters, clusterSize } = this.#options;
    const listeners = [
      `PLAINTEXT://127.0.0.1:${ports.plaintext}`,
      `CONTROLLER://127.0.0.1:${ports.controller}`,
    ];
    const advertised = [`PLAINTEXT://127.0.0.1:${ports.plaintext}`];
    const protocols = ['PLAINTEXT:PLAINTEXT', 'CONTROLLER:PLAINTEXT'];
    if (ports.ssl !== undefined) {
      listeners.push(`SSL://127.0.0.1:${ports.ssl}`);
      advertised.push(`SSL://127.0.0.1:${ports.ssl}`);
      protocols.push('SSL:SSL');
    }
    const ssl: Record<string, string> =
      tls === undefined || ports.ssl === undefined
        ? {}
        : {
            // PEM straight from the files (KIP-651): the key is unencrypted PKCS#8, so no passwords.
            'ssl.keystore.type': 'PEM',
            'ssl.keystore.location': tls.brokerKeystorePath,
            'ssl.truststore.type': 'PEM',
            'ssl.truststore.location': tls.caPath,
            'ssl.client.auth': 'required',
          };
    return {
      'process.roles': 'broker,controller',
      'node.id': nodeId,
      'controller.quorum.voters': quorumVoters,
      'controller.listener.names': 'CONTROLLER',
      'inter.broker.listener.name': 'PLAINTEXT',
      listeners: listeners.join(','),
      'advertised.listeners': advertised.join(','),
      'listener.security.protocol.map': protocols.join(','),
      ...ssl,
      'log.dirs': this.dataDir,
      'num.partitions': 1,
      'auto.create.topics.enable': true,
      ...(clusterSize === 1 ? singleBrokerReplication : replicatedCluster),
      'group.initial.rebalance.delay.ms': 0,
      'num.network.threads': 2,
      'num.io.threads': 2,
      'num.recovery.threads.per.data.dir': 1,
      'log.cleaner.threads': 1,
      'log.cleaner.dedupe.buffer.size': 8 * 1024 * 1024,
    };
  }
}

// One broker: every internal topic at replication factor 1 (the defaults of 3 cannot be met), and one
// partition each so that coordinators load fast.
const singleBrokerReplication = {
  'default.replication.factor': 1,
  'min.insync.replicas': 1,
  'offsets.topic.replication.factor': 1,
  'offsets.topic.num.partitions': 1,
  'transaction.state.log.replication.factor': 1,
  'transaction.state.log.min.isr': 1,
  'transaction.state.log.num.partitions': 1,
  // Kafka 4.x share groups; 3.x logs these as unknown and carries on.
  'share.coordinator.state.topic.replication.factor': 1,
  'share.coordinator.state.topic.min.isr': 1,
  'share.coordinator.state.topic.num.partitions': 1,
};

// Three brokers, as a production cluster is run: every topic, internal or new, on all three with two in
// sync required, so that acks=all survives one broker down and refuses to go on with a single copy.
const replicatedCluster = {
  'default.replication.factor': 3,
  'min.insync.replicas': 2,
  'offsets.topic.replication.factor': 3,
  'offsets.topic.num.partitions': 1,
  'transaction.state.log.replication.factor': 3,
  'transaction.state.log.min.isr': 2,
  'transaction.state.log.num.partitions': 1,
  'share.coordinator.state.topic.replication.factor': 3,
  'share.coordinator.state.topic.min.isr': 2,
  'share.coordinator.state.topic.num.partitions': 1,
  // A dead broker is fenced (and its partitions' leadership moves) after 6 s without a heartbeat rather
  // than 9 s; not less, so that a JVM paused by a busy 2-core machine is not fenced by mistake.
  'broker.heartbeat.interval.ms': 1_000,
  'broker.session.timeout.ms': 6_000,
};

/** One metadata round trip with short timeouts and no retries: true when every node in `nodeIds` is listed. */
async function brokerLists(bootstrapServers: string, nodeIds: readonly number[]): Promise<boolean> {
  const admin = kafkaAt(bootstrapServers, { clientId: 'mm2-harness-readiness', failFast: true }).admin();
  try {
    await admin.connect();
    const { brokers } = await admin.describeCluster();
    const listed = new Set(brokers.map((b) => b.nodeId));
    return brokers.length > 0 && nodeIds.every((id) => listed.has(id));
  } finally {
    await admin.disconnect();
  }
}
