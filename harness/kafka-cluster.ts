import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { KafkaDistribution } from './artifacts.ts';
import type { TlsFiles } from './certs.ts';
import type { ClusterInfo, ClusterName } from './info.ts';
import { javaCommand, jvmArgs, runJavaTool, writeProperties } from './jvm.ts';
import { kafkaAt } from './kafka-clients.ts';
import { ManagedProcess, type ProcessGroups } from './process.ts';

export interface KafkaClusterPorts {
  plaintext: number;
  controller: number;
  /** The mTLS listener, when TLS is on. */
  ssl?: number;
}

export interface KafkaClusterOptions {
  name: ClusterName;
  runDir: string;
  ports: KafkaClusterPorts;
  dist: KafkaDistribution;
  loggingConfig: string;
  groups: ProcessGroups;
  tls?: TlsFiles;
}

/** Deadline for a broker to answer metadata after its JVM starts (a cold JVM on 2 busy cores). */
const BROKER_READY_MS = 90_000;

/**
 * One single-node KRaft cluster (combined broker + controller) on loopback. Its ports and data folder are
 * fixed for its lifetime, so {@link KafkaCluster.restart} brings back the same cluster with its data.
 */
export class KafkaCluster {
  readonly name: ClusterName;
  readonly ports: KafkaClusterPorts;
  /** A KRaft cluster id: 16 random bytes, base64url, as `kafka-storage random-uuid` prints. */
  readonly clusterId: string;
  readonly dataDir: string;
  readonly configFile: string;
  readonly process: ManagedProcess;
  readonly #options: KafkaClusterOptions;

  constructor(options: KafkaClusterOptions) {
    this.#options = options;
    this.name = options.name;
    this.ports = options.ports;
    this.clusterId = randomClusterId();
    this.dataDir = path.join(options.runDir, 'data', options.name);
    this.configFile = path.join(options.runDir, 'config', `${options.name}.properties`);
    this.process = new ManagedProcess(
      {
        name: `kafka ${options.name}`,
        command: javaCommand(),
        args: jvmArgs({
          dist: options.dist,
          loggingConfig: options.loggingConfig,
          heapMb: 512,
          mainClass: 'kafka.Kafka',
          args: [this.configFile],
        }),
        logFile: path.join(options.runDir, 'logs', `kafka-${options.name}.log`),
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

  get info(): ClusterInfo {
    const tls = this.tlsBootstrapServers;
    return {
      name: this.name,
      alias: this.name,
      bootstrapServers: this.bootstrapServers,
      ...(tls === undefined ? {} : { tlsBootstrapServers: tls }),
      clusterId: this.clusterId,
      dataDir: this.dataDir,
      logFile: this.process.spec.logFile,
    };
  }

  /** Writes server.properties and formats the data folder (once; a restart keeps it). */
  async prepare(): Promise<void> {
    mkdirSync(this.dataDir, { recursive: true });
    mkdirSync(path.dirname(this.configFile), { recursive: true });
    writeProperties(this.configFile, this.#serverProperties());
    await runJavaTool({
      dist: this.#options.dist,
      loggingConfig: this.#options.loggingConfig,
      heapMb: 256,
      mainClass: 'kafka.tools.StorageTool',
      args: ['format', '-t', this.clusterId, '-c', this.configFile, '--ignore-formatted'],
    });
  }

  /** Starts the JVM and waits until the broker answers a metadata request. */
  async start(timeoutMs = BROKER_READY_MS): Promise<void> {
    this.process.start();
    await this.awaitReady(timeoutMs);
  }

  awaitReady(timeoutMs = BROKER_READY_MS): Promise<void> {
    return this.process.awaitReady(
      `answer metadata on ${this.bootstrapServers}`,
      () => brokerAnswers(this.bootstrapServers),
      timeoutMs,
    );
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
    const { ports, tls } = this.#options;
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
      'node.id': 1,
      'controller.quorum.voters': `1@127.0.0.1:${ports.controller}`,
      'controller.listener.names': 'CONTROLLER',
      'inter.broker.listener.name': 'PLAINTEXT',
      listeners: listeners.join(','),
      'advertised.listeners': advertised.join(','),
      'listener.security.protocol.map': protocols.join(','),
      ...ssl,
      'log.dirs': this.dataDir,
      'num.partitions': 1,
      'default.replication.factor': 1,
      'min.insync.replicas': 1,
      'auto.create.topics.enable': true,
      // One broker: every internal topic at replication factor 1 (the defaults of 3 cannot be met), and one
      // partition each so that coordinators load fast.
      'offsets.topic.replication.factor': 1,
      'offsets.topic.num.partitions': 1,
      'transaction.state.log.replication.factor': 1,
      'transaction.state.log.min.isr': 1,
      'transaction.state.log.num.partitions': 1,
      // Kafka 4.x share groups; 3.x logs these as unknown and carries on.
      'share.coordinator.state.topic.replication.factor': 1,
      'share.coordinator.state.topic.min.isr': 1,
      'share.coordinator.state.topic.num.partitions': 1,
      'group.initial.rebalance.delay.ms': 0,
      'num.network.threads': 2,
      'num.io.threads': 2,
      'num.recovery.threads.per.data.dir': 1,
      'log.cleaner.threads': 1,
      'log.cleaner.dedupe.buffer.size': 8 * 1024 * 1024,
    };
  }
}

function randomClusterId(): string {
  // Kafka's Uuid.randomUuid() never hands out ids starting with '-' (they confuse command lines).
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** One metadata round trip with short timeouts and no retries: true when a broker is listed. */
async function brokerAnswers(bootstrapServers: string): Promise<boolean> {
  const admin = kafkaAt(bootstrapServers, { clientId: 'mm2-harness-readiness', failFast: true }).admin();
  try {
    await admin.connect();
    const { brokers } = await admin.describeCluster();
    return brokers.length > 0;
  } finally {
    await admin.disconnect();
  }
}
