import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { KafkaDistribution } from './artifacts.ts';
import type { MirrorDirection } from './info.ts';
import { javaCommand, jvmArgs, writeProperties } from './jvm.ts';
import { kafkaAt } from './kafka-clients.ts';
import { mirrorSettings } from './mirror-connectors.ts';
import { ManagedProcess, type ProcessGroups } from './process.ts';

export interface DedicatedMirrorOptions {
  runDir: string;
  direction: MirrorDirection;
  dist: KafkaDistribution;
  loggingConfig: string;
  groups: ProcessGroups;
}

/** Deadline for a dedicated MM2 to start and emit its first heartbeat into the target. */
const DEDICATED_READY_MS = 120_000;

/**
 * MirrorMaker 2 in dedicated mode (`org.apache.kafka.connect.mirror.MirrorMaker`, `--clusters <target>`):
 * its own embedded workers, no REST API, so readiness is judged by heartbeats arriving in the target.
 */
export class DedicatedMirrorMaker {
  readonly configFile: string;
  readonly process: ManagedProcess;
  readonly #direction: MirrorDirection;

  constructor(options: DedicatedMirrorOptions) {
    this.#direction = options.direction;
    this.configFile = path.join(options.runDir, 'config', 'mm2.properties');
    this.process = new ManagedProcess(
      {
        name: 'mm2 dedicated',
        command: javaCommand(),
        args: jvmArgs({
          dist: options.dist,
          loggingConfig: options.loggingConfig,
          heapMb: 512,
          mainClass: 'org.apache.kafka.connect.mirror.MirrorMaker',
          args: [this.configFile, '--clusters', options.direction.target.alias],
        }),
        logFile: path.join(options.runDir, 'logs', 'mm2-dedicated.log'),
      },
      options.groups,
    );
  }

  get running(): boolean {
    return this.process.running;
  }

  async start(timeoutMs = DEDICATED_READY_MS): Promise<void> {
    mkdirSync(path.dirname(this.configFile), { recursive: true });
    writeProperties(this.configFile, this.#properties());
    const before = await heartbeatsEnd(this.#direction.target.bootstrapServers);
    this.process.start();
    const { target } = this.#direction;
    await this.process.awaitReady(
      `emit heartbeats into ${target.alias}`,
      async () => (await heartbeatsEnd(target.bootstrapServers)) > before,
      timeoutMs,
      500,
    );
  }

  stop(): Promise<void> {
    return this.process.stop();
  }

  #properties(): Record<string, string> {
    const { source, target } = this.#direction;
    const replicationFactor = String(this.#direction.replicationFactor ?? 1);
    return {
      clusters: `${source.alias},${target.alias}`,
      [`${source.alias}.bootstrap.servers`]: source.bootstrapServers,
      [`${target.alias}.bootstrap.servers`]: target.bootstrapServers,
      [`${source.alias}->${target.alias}.enabled`]: 'true',
      [`${target.alias}->${source.alias}.enabled`]: 'false',
      ...mirrorSettings(this.#direction),
      // The embedded workers' own topics, on the target: as replicated as MM2's own.
      'config.storage.replication.factor': replicationFactor,
      'offset.storage.replication.factor': replicationFactor,
      'status.storage.replication.factor': replicationFactor,
      'offset.flush.interval.ms': '1000',
      'scheduled.rebalance.max.delay.ms': '0',
      // As for the Connect worker: ServiceLoader manifests only, not 15 s of reflection over ~100 jars. Once
      // for MirrorMaker itself and once for the target's herder, which reads only `<target>.`-prefixed settings.
      'plugin.discovery': 'service_load',
      [`${target.alias}.plugin.discovery`]: 'service_load',
    };
  }
}

/** Sum of the `heartbeats` topic's end offsets on a cluster; 0 while the topic does not exist. */
async function heartbeatsEnd(bootstrapServers: string): Promise<number> {
  const admin = kafkaAt(bootstrapServers, { clientId: 'mm2-harness-readiness', failFast: true }).admin();
  try {
    await admin.connect();
    const topics = await admin.listTopics();
    if (!topics.includes('heartbeats')) return 0;
    const offsets = await admin.fetchTopicOffsets('heartbeats');
    return offsets.reduce((sum, { high }) => sum + Number(high), 0);
  } finally {
    await admin.disconnect();
  }
}
