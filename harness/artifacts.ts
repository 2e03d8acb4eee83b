import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { cacheDir } from './paths.ts';

const execFileAsync = promisify(execFile);

/**
 * The newest Kafka whose broker *and* MM2 artifacts are all on Maven Central. 4.4.0 is not: its
 * `kafka_2.13` is there but `connect-mirror` and `kafka-tools-api` 4.4.0 are missing (404), so it cannot
 * resolve. Pick another with `KAFKA_VERSION` (3.9.2 is tested too).
 */
export const DEFAULT_KAFKA_VERSION = '4.3.1';

/** Pinned so that every machine runs the same emulator. */
const MOTO_VERSION = '5.2.5';

const MAVEN_DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1';
const MARKER = '.complete';
const INSTALL_DEADLINE_MS = 15 * 60_000;

type LoggingBackend = 'log4j2' | 'reload4j';

export interface KafkaDistribution {
  version: string;
  /** Every runtime jar of the broker, the Connect runtime and MM2, plus the logging backend. */
  libsDir: string;
  /** `log4j2` (Kafka 4.x, `-Dlog4j2.configurationFile`) or `reload4j` (3.x, `-Dlog4j.configuration`). */
  logging: LoggingBackend;
}

export interface MotoDistribution {
  version: string;
  /** `moto_server` inside the project-local venv. */
  serverBin: string;
}

type Log = (line: string) => void;

/**
 * Kafka's jars in `.cache/kafka-<version>/libs`, fetched from Maven Central on first use (a generated pom
 * and `dependency:copy-dependencies`) into a project-local Maven repository (`.cache/m2`). The marker file
 * is written last, so an interrupted download is redone rather than half used.
 */
export async function ensureKafka(
  version = process.env.KAFKA_VERSION ?? DEFAULT_KAFKA_VERSION,
  log: Log = () => {},
): Promise<KafkaDistribution> {
  if (!/^\d+\.\d+\.\d+$/.test(version)) {
    throw new Error(`KAFKA_VERSION: expected a release like '${DEFAULT_KAFKA_VERSION}', got '${version}'`);
  }
  const home = path.join(cacheDir, `kafka-${version}`);
  const libsDir = path.join(home, 'libs');
  const marker = path.join(home, MARKER);
  const readMarker = (): KafkaDistribution | undefined => {
    const logging = cachedKafkaLogging(version);
    return logging === undefined ? undefined : { version, libsDir, logging };
  };
  const ready = readMarker();
  if (ready !== undefined) return ready;

  return withInstallLock(home, async () => {
    const again = readMarker();
    if (again !== undefined) return again;
    log(`fetching Apache Kafka ${version} and MirrorMaker 2 from Maven Central (once) into ${home}`);
    rmSync(home, { recursive: true, force: true });
    mkdirSync(libsDir, { recursive: true });
    const pom = path.join(home, 'pom.xml');
    writeFileSync(pom, kafkaPom(version));
    const m2 = path.join(cacheDir, 'm2');
    await withProgress(
      log,
      `Kafka ${version}: Maven Central`,
      () => `${folderSize(m2)} in ${m2}`,
      () =>
        maven(home, [
          `${MAVEN_DEPENDENCY_PLUGIN}:copy-dependencies`,
          '-DincludeScope=runtime',
          `-DoutputDirectory=${libsDir}`,
        ]),
    );
    // Kafka's POMs bring the logging API but not the SLF4J binding: without one, the JVMs log nothing.
    // 4.x ships log4j2 (log4j-core); 3.x ships reload4j. Bind SLF4J to whichever is there, at its version.
    const jars = readdirSync(libsDir);
    const versionOf = (prefix: string): string | undefined =>
      jars
        .map((jar) => new RegExp(`^${prefix}-(\\d[\\w.-]*)\\.jar$`).exec(jar)?.[1])
        .find((v) => v !== undefined);
    const slf4j = versionOf('slf4j-api');
    const log4jCore = versionOf('log4j-core');
    let binding: string;
    let logging: LoggingBackend;
    if (log4jCore !== undefined) {
      logging = 'log4j2';
      const artifact = slf4j?.startsWith('1.') === false ? 'log4j-slf4j2-impl' : 'log4j-slf4j-impl';
      binding = `org.apache.logging.log4j:${artifact}:${log4jCore}`;
    } else if (versionOf('reload4j') !== undefined && slf4j !== undefined) {
      logging = 'reload4j';
      binding = `org.slf4j:slf4j-reload4j:${slf4j}`;
    } else {
      throw new Error(
        `Kafka ${version}: found neither log4j-core nor reload4j among its runtime jars in ${libsDir}`,
      );
    }
    await maven(home, [
      `${MAVEN_DEPENDENCY_PLUGIN}:copy`,
      `-Dartifact=${binding}`,
      `-DoutputDirectory=${libsDir}`,
    ]);
    writeFileSync(marker, `${JSON.stringify({ logging, binding, at: new Date().toISOString() })}\n`);
    log(`Kafka ${version}: ${readdirSync(libsDir).length} jars, logging through ${binding}`);
    return { version, libsDir, logging };
  });
}

/** The logging backend of a finished download of Kafka `version`, or undefined when it is not (fully) there. */
function cachedKafkaLogging(version: string): LoggingBackend | undefined {
  const marker = path.join(cacheDir, `kafka-${version}`, MARKER);
  if (!existsSync(marker)) return undefined;
  const logging: unknown = JSON.parse(readFileSync(marker, 'utf8')).logging;
  return logging === 'log4j2' || logging === 'reload4j' ? logging : undefined;
}

/** Whether {@link ensureKafka} would download: what the prerequisite check asks before anything starts. */
export function kafkaCached(version: string): boolean {
  return cachedKafkaLogging(version) !== undefined;
}

const motoVenv = (): string => path.join(cacheDir, 'moto-venv');

/** Whether {@link ensureMoto} would install. */
export function motoInstalled(): boolean {
  const marker = path.join(motoVenv(), MARKER);
  return existsSync(marker) && readFileSync(marker, 'utf8').trim() === MOTO_VERSION;
}

/** moto (`moto[server]`) in a project-local venv, `.cache/moto-venv`, installed from PyPI on first use. */
export async function ensureMoto(log: Log = () => {}): Promise<MotoDistribution> {
  const venv = motoVenv();
  const serverBin = path.join(venv, 'bin', 'moto_server');
  const marker = path.join(venv, MARKER);
  const result = { version: MOTO_VERSION, serverBin };
  if (motoInstalled()) return result;
  return withInstallLock(venv, async () => {
    if (motoInstalled()) return result;
    log(`installing moto[server]==${MOTO_VERSION} from PyPI (once) into ${venv}`);
    // A venv is not relocatable (its scripts name its own path), so it is built in place; the marker
    // written at the end tells a finished one from an interrupted one.
    rmSync(venv, { recursive: true, force: true });
    await run('python3', ['-m', 'venv', venv], cacheDir);
    await withProgress(
      log,
      `moto ${MOTO_VERSION}: PyPI`,
      () => `${folderSize(venv)} in ${venv}`,
      () =>
        run(
          path.join(venv, 'bin', 'pip'),
          ['install', '--quiet', '--disable-pip-version-check', `moto[server]==${MOTO_VERSION}`],
          cacheDir,
        ),
    );
    if (!existsSync(serverBin)) throw new Error(`pip installed moto but ${serverBin} is missing`);
    writeFileSync(marker, `${MOTO_VERSION}\n`);
    return result;
  });
}

function kafkaPom(version: string): string {
  const dependency = (artifactId: string): string =>
    `    <dependency><groupId>org.apache.kafka</groupId><artifactId>${artifactId}</artifactId><version>${version}</version></dependency>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by harness/artifacts.ts: the broker and MM2 (which brings the Connect runtime). -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.mm2-failover</groupId>
  <artifactId>harness-kafka</artifactId>
  <version>${version}</version>
  <packaging>pom</packaging>
  <dependencies>
${dependency('kafka_2.13')}
${dependency('connect-mirror')}
  </dependencies>
</project>
`;
}

/** Every 15 s of a long download, a line that says it is still going and how much has arrived. */
const PROGRESS_EVERY_MS = 15_000;

async function withProgress<T>(
  log: Log,
  what: string,
  arrived: () => string,
  download: () => Promise<T>,
): Promise<T> {
  const started = Date.now();
  const ticker = setInterval(
    () =>
      log(`${what}: still downloading after ${Math.round((Date.now() - started) / 1000)} s, ${arrived()}`),
    PROGRESS_EVERY_MS,
  );
  try {
    return await download();
  } finally {
    clearInterval(ticker);
    log(`${what}: done in ${Math.round((Date.now() - started) / 1000)} s, ${arrived()}`);
  }
}

/** Bytes under `dir` (0 when it does not exist yet), in MB for a progress line. */
function folderSize(dir: string): string {
  let bytes = 0;
  const walk = (d: string): void => {
    const entries = existsSync(d) ? readdirSync(d, { withFileTypes: true }) : [];
    for (const entry of entries) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) {
        // Maven and pip rename their partial files as they finish: one gone between readdir and stat is not an error.
        bytes += statSync(full, { throwIfNoEntry: false })?.size ?? 0;
      }
    }
  };
  if (existsSync(dir)) walk(dir);
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

async function maven(cwd: string, goals: readonly string[]): Promise<void> {
  await run(
    'mvn',
    [
      '--batch-mode',
      '--quiet',
      '-f',
      path.join(cwd, 'pom.xml'),
      `-Dmaven.repo.local=${path.join(cacheDir, 'm2')}`,
      ...goals,
    ],
    cwd,
  );
}

async function run(command: string, args: readonly string[], cwd: string): Promise<void> {
  try {
    await execFileAsync(command, args, { cwd, maxBuffer: 64 * 1024 * 1024, timeout: INSTALL_DEADLINE_MS });
  } catch (e: unknown) {
    const { stdout = '', stderr = '' } = e as { stdout?: string; stderr?: string };
    const tail = `${stdout}\n${stderr}`.trim().split('\n').slice(-30).join('\n');
    throw new Error(`${command} ${args.join(' ')} failed:\n${tail}`, { cause: e });
  }
}

/**
 * One installer at a time per target (a test run and `npm run harness` may start together). The lock file
 * holds the installer's pid; a lock whose owner is dead is taken over.
 */
async function withInstallLock<T>(target: string, install: () => Promise<T>): Promise<T> {
  const lock = `${target}.lock`;
  mkdirSync(path.dirname(lock), { recursive: true });
  const deadline = Date.now() + INSTALL_DEADLINE_MS;
  for (;;) {
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch (e: unknown) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = Number(readFileSync(lock, 'utf8'));
      if (!pidAlive(holder)) {
        rmSync(lock, { force: true });
        continue;
      }
      if (Date.now() > deadline)
        throw new Error(`waited too long for pid ${holder} to finish installing ${target}`);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
  try {
    return await install();
  } finally {
    rmSync(lock, { force: true });
  }
}

function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e: unknown) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
