import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { waitFor } from '#harness/wait-for.ts';
import type { ClusterRole } from '#shared/config/schema.ts';

/**
 * An application that installed `@mm2-failover/client` from its tarball, as a team writes it: plain JavaScript (it
 * runs on Node 20, which strips no types), one watcher, a following producer handed a record every 50 ms and a
 * following consumer. It reports to the test on stdout, one JSON event a line, and takes `stop` and `close` on
 * stdin. `HANDLER=eachBatch` consumes with eachBatch (resolving offsets itself); `CRASH_ON=<id>` makes the
 * handler throw a TypeError once, on that record, which kafkajs does not retry: the library must rebuild the
 * consumer. Written into the scratch application by the test, so nothing in the repository imports the package
 * before it is built.
 */
export const packageAppSource = `
import { createInterface } from 'node:readline';
import { createAwsStores, FollowingConsumer, FollowingProducer, watchActiveConfig } from '@mm2-failover/client';

const env = process.env;
const app = env.APP_ID;
const out = (event) => process.stdout.write(JSON.stringify(event) + '\\n');

const watcher = await watchActiveConfig({
  deployment: env.DEPLOYMENT,
  stores: createAwsStores({
    region: env.REGION,
    endpoint: env.ENDPOINT,
    credentials: { accessKeyId: env.ACCESS_KEY_ID, secretAccessKey: env.SECRET_ACCESS_KEY },
  }),
  kafka: { clientId: app, logLevel: 0 },
  intervalMs: 1000,
  onError: (e) => out({ event: 'watcher-error', error: e.name + ': ' + e.message }),
});
const logger = {
  info: (message) => out({ event: 'log', level: 'info', message }),
  warn: (message) => out({ event: 'log', level: 'warn', message }),
  error: (message) => out({ event: 'log', level: 'error', message }),
};

let crashed = false;
const handle = (message, cluster, epoch) => {
  const id = String(message.value);
  if (id === env.CRASH_ON && !crashed) {
    crashed = true;
    out({ event: 'crashing', id });
    null.boom; // a TypeError: kafkajs does not retry it, and leaves the consumer dead
  }
  out({ event: 'seen', id, cluster, epoch });
};
const handler =
  env.HANDLER === 'eachBatch'
    ? {
        run: { eachBatchAutoResolve: false },
        eachBatch: async ({ batch, cluster, epoch, resolveOffset, isRunning, isStale }) => {
          for (const message of batch.messages) {
            if (!isRunning() || isStale()) break;
            handle(message, cluster, epoch);
            resolveOffset(message.offset);
          }
        },
      }
    : { eachMessage: async ({ message, cluster, epoch }) => handle(message, cluster, epoch) };

const producer = new FollowingProducer({ source: watcher, sendTimeoutMs: 90000, logger });
const consumer = new FollowingConsumer({
  source: watcher,
  groupId: env.GROUP,
  topics: [env.TOPIC],
  logger,
  onSwitch: (e) => out({ event: 'consumer-switch', from: e.from, to: e.to, drain: e.drain.kind }),
  ...handler,
});
await producer.connect();
await consumer.start();
out({ event: 'ready', node: process.version });

let next = 0;
const pending = new Set();
const ticker = setInterval(() => {
  const id = app + '-' + next++;
  const sent = producer
    .send({ topic: env.TOPIC, messages: [{ key: id, value: id }] })
    .then(
      (r) => out({ event: 'acked', id, cluster: r.cluster, epoch: r.epoch }),
      (e) => out({ event: 'rejected', id, error: String(e) }),
    )
    .finally(() => pending.delete(sent));
  pending.add(sent);
}, 50);

for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'stop') {
    clearInterval(ticker);
    await Promise.all([...pending]);
    out({ event: 'stopped', handed: next });
  } else if (line === 'close') {
    await Promise.all([producer.disconnect(), consumer.stop(), watcher.stop()]);
    out({ event: 'closed' });
    // Nothing else may keep the process alive: it exits by itself only if the library left nothing running.
    process.stdin.destroy();
    break;
  }
}
`;

/** The application exited while the test still waited for it: no point waiting longer. */
class AppExited extends Error {
  override name = 'AppExited';
}

/** What the application reported, as the test reads it. */
export interface AppEvent {
  event: string;
  id?: string;
  cluster?: ClusterRole;
  epoch?: number;
  node?: string;
  message?: string;
  error?: string;
  drain?: string;
  handed?: number;
  from?: { cluster: ClusterRole; epoch: number };
  to?: { cluster: ClusterRole; epoch: number };
}

/** A running application: its events so far, what it wrote on stderr, and how to talk to it. */
export class RunningApp {
  readonly events: AppEvent[] = [];
  stderr = '';
  /** Lines on stdout that are not events (kafkajs or Node printing there): there should be none. */
  readonly otherOutput: string[] = [];
  readonly exited: Promise<number | null>;
  readonly #child: ChildProcessWithoutNullStreams;
  readonly name: string;

  constructor(name: string, node: string, cwd: string, env: Record<string, string>) {
    this.name = name;
    this.#child = spawn(node, ['app.mjs'], { cwd, env: { PATH: process.env.PATH ?? '', ...env } });
    this.#child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    createInterface({ input: this.#child.stdout }).on('line', (line) => {
      try {
        this.events.push(JSON.parse(line) as AppEvent);
      } catch {
        this.otherOutput.push(line);
      }
    });
    this.exited = new Promise((resolve) => this.#child.on('exit', (code) => resolve(code)));
  }

  of(kind: string): AppEvent[] {
    return this.events.filter((e) => e.event === kind);
  }

  /** The records of this application its consumer saw (the other application writes to the same topic). */
  ownSeen(): AppEvent[] {
    return this.of('seen').filter((e) => e.id?.startsWith(`${this.name}-`));
  }

  ackedIn(epoch: number): number {
    return this.of('acked').filter((e) => e.epoch === epoch).length;
  }

  /** Acknowledged record ids the consumer has not seen. */
  missing(): string[] {
    const seen = new Set(this.of('seen').map((e) => e.id));
    return this.of('acked')
      .map((e) => e.id ?? '')
      .filter((id) => !seen.has(id));
  }

  async until(condition: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
    await waitFor(
      () => {
        if (this.#child.exitCode !== null) {
          throw new AppExited(
            `${this.name} exited (${this.#child.exitCode}) waiting for ${what}: ${this.stderr}`,
          );
        }
        return condition();
      },
      { timeoutMs, what: `${this.name}: ${what}`, giveUpOn: (e) => e instanceof AppExited },
    );
  }

  tell(line: 'stop' | 'close'): void {
    this.#child.stdin.write(`${line}\n`);
  }

  kill(): void {
    if (this.#child.exitCode === null) this.#child.kill('SIGKILL');
  }
}
