import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { KafkaDistribution } from './artifacts.ts';
import { javaCommand, jvmArgs, writeProperties } from './jvm.ts';
import { ManagedProcess, type ProcessGroups } from './process.ts';

export interface ConnectWorkerOptions {
  /** `connect` (forward, bootstrap: the secondary) or `connect-reverse` (bootstrap: the primary). */
  name: string;
  runDir: string;
  restPort: number;
  /** The worker's own cluster, where it keeps its configs/offsets/status: MM2's *target*. */
  bootstrapServers: string;
  /** Replication factor of the worker's config, offset and status topics; default 1 (one broker). */
  replicationFactor?: number;
  dist: KafkaDistribution;
  loggingConfig: string;
  groups: ProcessGroups;
}

/** Deadline for the worker's REST API to answer after the JVM starts. */
const WORKER_READY_MS = 90_000;
const BYTE_ARRAY_CONVERTER = 'org.apache.kafka.connect.converters.ByteArrayConverter';

/** A Kafka Connect distributed worker on loopback, for MM2 connectors. */
export class ConnectWorker {
  readonly name: string;
  readonly restUrl: string;
  readonly configFile: string;
  readonly process: ManagedProcess;
  readonly #options: ConnectWorkerOptions;

  constructor(options: ConnectWorkerOptions) {
    this.#options = options;
    this.name = options.name;
    this.restUrl = `http://127.0.0.1:${options.restPort}`;
    this.configFile = path.join(options.runDir, 'config', `${options.name}.properties`);
    this.process = new ManagedProcess(
      {
        name: options.name,
        command: javaCommand(),
        args: jvmArgs({
          dist: options.dist,
          loggingConfig: options.loggingConfig,
          heapMb: 512,
          mainClass: 'org.apache.kafka.connect.cli.ConnectDistributed',
          args: [this.configFile],
        }),
        logFile: path.join(options.runDir, 'logs', `${options.name}.log`),
      },
      options.groups,
    );
  }

  get running(): boolean {
    return this.process.running;
  }

  /** Starts the worker and waits until its REST API answers `GET /`. */
  async start(timeoutMs = WORKER_READY_MS): Promise<void> {
    mkdirSync(path.dirname(this.configFile), { recursive: true });
    writeProperties(this.configFile, this.#workerProperties());
    this.process.start();
    await this.process.awaitReady(
      `answer GET ${this.restUrl}/`,
      async () => (await fetch(`${this.restUrl}/`, { signal: AbortSignal.timeout(2_000) })).ok,
      timeoutMs,
      500,
    );
  }

  stop(): Promise<void> {
    return this.process.stop();
  }

  #workerProperties(): Record<string, string | number | boolean> {
    const { name, bootstrapServers, restPort } = this.#options;
    const replicationFactor = this.#options.replicationFactor ?? 1;
    // Names ending in `.internal` are excluded by MM2's default topic filter, so a mirror never copies
    // one worker's state into the other cluster.
    const topic = (kind: string): string => `mm2-harness-${name}-${kind}.internal`;
    return {
      'bootstrap.servers': bootstrapServers,
      'group.id': `mm2-harness-${name}`,
      'key.converter': BYTE_ARRAY_CONVERTER,
      'value.converter': BYTE_ARRAY_CONVERTER,
      'header.converter': BYTE_ARRAY_CONVERTER,
      'config.storage.topic': topic('configs'),
      'offset.storage.topic': topic('offsets'),
      'status.storage.topic': topic('status'),
      'config.storage.replication.factor': replicationFactor,
      'offset.storage.replication.factor': replicationFactor,
      'status.storage.replication.factor': replicationFactor,
      'offset.storage.partitions': 1,
      'status.storage.partitions': 1,
      listeners: `http://127.0.0.1:${restPort}`,
      'rest.advertised.host.name': '127.0.0.1',
      'rest.advertised.port': restPort,
      // A lone worker: no reason to wait before reassigning a departed member's work.
      'scheduled.rebalance.max.delay.ms': 0,
      'offset.flush.interval.ms': 1_000,
      'task.shutdown.graceful.timeout.ms': 3_000,
      // ServiceLoader manifests only: scanning ~100 jars by reflection costs seconds of CPU at each start.
      'plugin.discovery': 'service_load',
    };
  }
}
