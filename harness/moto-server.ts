import path from 'node:path';
import type { MotoDistribution } from './artifacts.ts';
import { ManagedProcess, type ProcessGroups } from './process.ts';

export interface MotoServerOptions {
  runDir: string;
  port: number;
  dist: MotoDistribution;
  groups: ProcessGroups;
}

const MOTO_READY_MS = 60_000;

/** The moto AWS emulator (`moto_server`) on loopback: SSM, Secrets Manager, DynamoDB, SNS, CloudWatch... */
export class MotoServer {
  readonly endpoint: string;
  readonly process: ManagedProcess;

  constructor(options: MotoServerOptions) {
    this.endpoint = `http://127.0.0.1:${options.port}`;
    this.process = new ManagedProcess(
      {
        name: 'moto',
        command: options.dist.serverBin,
        args: ['-H', '127.0.0.1', '-p', String(options.port)],
        logFile: path.join(options.runDir, 'logs', 'moto.log'),
      },
      options.groups,
    );
  }

  async start(timeoutMs = MOTO_READY_MS): Promise<void> {
    this.process.start();
    await this.process.awaitReady(
      `answer HTTP 200 at ${this.endpoint}/moto-api/`,
      async () =>
        (await fetch(`${this.endpoint}/moto-api/`, { signal: AbortSignal.timeout(2_000) })).status === 200,
      timeoutMs,
      250,
    );
  }

  /** Forgets every parameter, secret, table... (`POST /moto-api/reset`). */
  async reset(): Promise<void> {
    const response = await fetch(`${this.endpoint}/moto-api/reset`, {
      method: 'POST',
      signal: AbortSignal.timeout(10_000),
    });
    if (!response.ok) throw new Error(`moto reset: expected 200, got ${response.status}`);
  }

  stop(): Promise<void> {
    return this.process.stop();
  }
}
