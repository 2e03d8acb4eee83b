import { type ChildProcess, spawn } from 'node:child_process';
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { repoRoot } from './paths.ts';
import { waitFor } from './wait-for.ts';

export interface ProcessSpec {
  /** Short name used in messages: `primary`, `connect`, `moto`. */
  name: string;
  command: string;
  args: readonly string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** stdout and stderr go here, appended, so a restart keeps the earlier life's lines. */
  logFile: string;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A harness process failed to start or to become ready; the message carries the tail of its log. */
export class HarnessProcessError extends Error {
  readonly processName: string;
  readonly logFile: string;
  constructor(processName: string, logFile: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'HarnessProcessError';
    this.processName = processName;
    this.logFile = logFile;
  }
}

const LOG_TAIL_LINES = 40;

/**
 * One child process (a JVM or moto) leading its own process group, so that it and anything it spawns can be
 * signalled together with `process.kill(-pgid)`, and so that a Ctrl-C in the terminal does not reach it
 * behind the harness's back. Never stopped by name.
 */
export class ManagedProcess {
  readonly spec: ProcessSpec;
  readonly #groups: ProcessGroups;
  #child: ChildProcess | undefined;
  #exited: Promise<ExitInfo> | undefined;
  #exitInfo: ExitInfo | undefined;

  constructor(spec: ProcessSpec, groups: ProcessGroups) {
    this.spec = spec;
    this.#groups = groups;
  }

  get name(): string {
    return this.spec.name;
  }

  /** The pid, which is also the process group id. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get running(): boolean {
    return this.#child !== undefined && this.#exitInfo === undefined;
  }

  get exitInfo(): ExitInfo | undefined {
    return this.#exitInfo;
  }

  start(): void {
    if (this.running) throw new Error(`${this.name} is already running (pid ${this.pid})`);
    const { command, args, cwd, env, logFile } = this.spec;
    mkdirSync(path.dirname(logFile), { recursive: true });
    appendFileSync(
      logFile,
      `\n--- ${new Date().toISOString()} harness starts: ${command} ${args.join(' ')}\n`,
    );
    const fd = openSync(logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(command, args, {
        cwd: cwd ?? repoRoot,
        env: env ?? process.env,
        detached: true,
        stdio: ['ignore', fd, fd],
      });
    } finally {
      closeSync(fd);
    }
    const pid = child.pid;
    if (pid === undefined) {
      throw new HarnessProcessError(this.name, logFile, `${this.name}: could not spawn ${command}`);
    }
    this.#child = child;
    this.#exitInfo = undefined;
    this.#exited = new Promise((resolve) => {
      const done = (info: ExitInfo): void => {
        if (this.#child !== child || this.#exitInfo !== undefined) return;
        this.#exitInfo = info;
        this.#groups.remove(pid);
        resolve(info);
      };
      child.once('exit', (code, signal) => done({ code, signal }));
      child.once('error', () => done({ code: null, signal: null }));
    });
    child.unref();
    this.#groups.add(pid);
  }

  /**
   * Signals the whole process group while the process runs. Once it has exited, its pid may in time be
   * reused by someone else's process, so it is never signalled again.
   */
  signal(signal: NodeJS.Signals): void {
    if (this.running) this.#signalGroup(signal);
  }

  #signalGroup(signal: NodeJS.Signals): void {
    const pid = this.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch (e: unknown) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
    }
  }

  /** Resolves true once the process has exited, false if `timeoutMs` passes first. */
  async awaitExit(timeoutMs: number): Promise<boolean> {
    const exited = this.#exited;
    if (exited === undefined || this.#exitInfo !== undefined) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([exited.then(() => true), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL, as a crash would: no shutdown hooks, no flush beyond what the OS already has. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.signal('SIGKILL');
    if (!(await this.awaitExit(10_000))) throw this.failure('did not die within 10 s of SIGKILL');
  }

  /** SIGSTOP: the process keeps its sockets open but answers nothing, like a hung broker. */
  hang(): void {
    if (!this.running) throw this.failure('is not running, so it cannot be hung');
    this.signal('SIGSTOP');
  }

  resume(): void {
    this.signal('SIGCONT');
  }

  /** SIGCONT (in case it is hung), SIGTERM, then SIGKILL if it is still there after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    if (!this.running) return;
    this.signal('SIGCONT');
    this.signal('SIGTERM');
    if (!(await this.awaitExit(graceMs))) {
      this.signal('SIGKILL');
      if (!(await this.awaitExit(10_000))) throw this.failure('survived SIGKILL for 10 s');
    }
    // Anything the leader left behind in its group goes too: just reaped, its pgid cannot be reused yet.
    this.#signalGroup('SIGKILL');
  }

  /**
   * Polls `check` until it returns true. Fails at once, with the log tail, if the process exits meanwhile,
   * and with the log tail too when `timeoutMs` passes. `what` completes "waiting for <name> to ...".
   */
  async awaitReady(
    what: string,
    check: () => Promise<boolean>,
    timeoutMs: number,
    intervalMs = 300,
  ): Promise<void> {
    try {
      await waitFor(
        async () => {
          this.assertRunning(`while waiting for it to ${what}`);
          return check();
        },
        {
          timeoutMs,
          intervalMs,
          what: `${this.name} to ${what}`,
          giveUpOn: (e) => e instanceof HarnessProcessError,
        },
      );
    } catch (e: unknown) {
      if (e instanceof HarnessProcessError) throw e;
      throw this.failure(`did not ${what} within ${timeoutMs} ms`, e);
    }
  }

  /** Throws, with the log tail, if the process has exited: for readiness loops. */
  assertRunning(while_: string): void {
    const info = this.#exitInfo;
    if (this.#child === undefined) throw this.failure(`was never started (${while_})`);
    if (info !== undefined) {
      const how = info.signal === null ? `with code ${info.code}` : `on ${info.signal}`;
      throw this.failure(`exited ${how} ${while_}`);
    }
  }

  /** An error naming this process, with the last lines of its log. */
  failure(what: string, cause?: unknown): HarnessProcessError {
    return new HarnessProcessError(
      this.name,
      this.spec.logFile,
      `${this.name} ${what}\n--- last ${LOG_TAIL_LINES} lines of ${this.spec.logFile} ---\n${this.logTail()}`,
      cause === undefined ? undefined : { cause },
    );
  }

  logTail(lines = LOG_TAIL_LINES): string {
    try {
      return readFileSync(this.spec.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }
}

/**
 * The process groups a harness owns, mirrored to a file that a detached reaper watches. If the owner dies
 * without stopping them (SIGKILL of the test runner, a crash), the reaper kills the listed groups.
 */
export class ProcessGroups {
  readonly file: string;
  readonly #pgids = new Set<number>();
  #reaperStarted = false;
  readonly #onExit = (): void => this.killAllNow();

  constructor(file: string) {
    this.file = file;
    mkdirSync(path.dirname(file), { recursive: true });
    this.#write();
    process.on('exit', this.#onExit);
  }

  get pgids(): readonly number[] {
    return [...this.#pgids];
  }

  add(pgid: number): void {
    this.#pgids.add(pgid);
    this.#write();
    this.#startReaper();
  }

  remove(pgid: number): void {
    if (this.#pgids.delete(pgid) && existsSync(this.file)) this.#write();
  }

  /** Last resort, synchronous, for `process.on('exit')`: kill whatever is still registered. */
  killAllNow(): void {
    for (const pgid of this.#pgids) {
      for (const signal of ['SIGCONT', 'SIGKILL'] as const) {
        try {
          process.kill(-pgid, signal);
        } catch {
          // Already gone.
        }
      }
    }
  }

  /** After every process was stopped: removing the file tells the reaper to exit. */
  close(): void {
    process.off('exit', this.#onExit);
    rmSync(this.file, { force: true });
  }

  #write(): void {
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, [...this.#pgids].map((pgid) => `${pgid}\n`).join(''));
    renameSync(tmp, this.file);
  }

  #startReaper(): void {
    if (this.#reaperStarted) return;
    this.#reaperStarted = true;
    // The project's Node 24 runs the .ts directly; the machine's `node` may be too old to.
    const projectNode = path.join(repoRoot, 'node_modules', '.bin', 'node');
    const node = existsSync(projectNode) ? projectNode : process.execPath;
    const reaper = spawn(
      node,
      [path.join(import.meta.dirname, 'reaper.ts'), String(process.pid), this.file],
      {
        detached: true,
        stdio: 'ignore',
      },
    );
    reaper.unref();
  }
}
