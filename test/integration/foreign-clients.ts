import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { cacheDir } from '#harness/paths.ts';

// Kafka clients no one here wrote, for the foreign-client test: Apache Kafka's console producer and consumer (the
// Java client) and kcat (librdkafka). Each reads only the configuration file `mm2-failover client-config` wrote.

const run = promisify(execFile);
const MAVEN_DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1';

/**
 * The console tools live in `kafka-tools`, which the harness's broker and MirrorMaker 2 jars do not include; their
 * dependencies (the Java client, argparse4j, jackson) are among those. So this fetches that one jar from Maven
 * Central once, into `.cache/kafka-tools-<version>/` (into a temporary folder first, renamed when complete, so
 * an interrupted or concurrent fetch is never half used).
 */
export async function kafkaToolsJar(version: string): Promise<string> {
  const home = path.join(cacheDir, `kafka-tools-${version}`);
  const jar = path.join(home, `kafka-tools-${version}.jar`);
  if (existsSync(jar)) return jar;
  const partial = `${home}.${process.pid}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  writeFileSync(
    path.join(partial, 'pom.xml'),
    '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>' +
      '<groupId>local.mm2-failover</groupId><artifactId>kafka-tools-fetch</artifactId><version>1</version>' +
      '<packaging>pom</packaging></project>\n',
  );
  await run(
    'mvn',
    [
      '--batch-mode',
      '--quiet',
      '-f',
      path.join(partial, 'pom.xml'),
      `-Dmaven.repo.local=${path.join(cacheDir, 'm2')}`,
      `${MAVEN_DEPENDENCY_PLUGIN}:copy`,
      `-Dartifact=org.apache.kafka:kafka-tools:${version}`,
      `-DoutputDirectory=${partial}`,
    ],
    { timeout: 300_000, maxBuffer: 16 * 1024 * 1024 },
  );
  rmSync(path.join(partial, 'pom.xml'));
  try {
    renameSync(partial, home);
  } catch (e: unknown) {
    // Another run finished the same fetch first: use theirs.
    rmSync(partial, { recursive: true, force: true });
    if (!existsSync(jar)) throw e;
  }
  return jar;
}

/** What a process printed, and how it ended. */
export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `command` with `input` on stdin; kills it at `timeoutMs`. */
function runWithInput(command: string, args: string[], input: string, timeoutMs: number): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

/** Apache Kafka's console tools on the harness's Kafka version, logging warnings to stderr only. */
export class ConsoleTools {
  readonly #classpath: string;
  readonly #loggingConfig: string;
  /** `--command-config` since Kafka 4.1; before, `--producer.config` / `--consumer.config`. */
  readonly #modern: boolean;

  constructor(kafkaVersion: string, toolsJar: string, workDir: string) {
    this.#classpath = [path.join(cacheDir, `kafka-${kafkaVersion}`, 'libs', '*'), toolsJar].join(
      path.delimiter,
    );
    const [major = 0, minor = 0] = kafkaVersion.split('.').map(Number);
    this.#modern = major > 4 || (major === 4 && minor >= 1);
    this.#loggingConfig = path.join(workDir, 'tools-log4j2.properties');
    writeFileSync(
      this.#loggingConfig,
      [
        'appender.stderr.type = Console',
        'appender.stderr.name = STDERR',
        'appender.stderr.target = SYSTEM_ERR',
        'appender.stderr.layout.type = PatternLayout',
        'appender.stderr.layout.pattern = %p %m (%c)%n',
        'rootLogger.level = WARN',
        'rootLogger.appenderRef.stderr.ref = STDERR',
        '',
      ].join('\n'),
    );
  }

  #java(mainClass: string, args: string[], input: string, timeoutMs: number): Promise<Ran> {
    return runWithInput(
      'java',
      [
        '-Xmx192m',
        '-XX:+UseSerialGC',
        '-XX:TieredStopAtLevel=1',
        '-XX:-UsePerfData',
        `-Dlog4j2.configurationFile=${this.#loggingConfig}`,
        '-cp',
        this.#classpath,
        mainClass,
        ...args,
      ],
      input,
      timeoutMs,
    );
  }

  /** ConsoleProducer: one record per line of `lines`, acks=all. */
  produce(o: { bootstrap: string; config: string; topic: string; lines: string[] }): Promise<Ran> {
    return this.#java(
      'org.apache.kafka.tools.ConsoleProducer',
      [
        '--bootstrap-server',
        o.bootstrap,
        this.#modern ? '--command-config' : '--producer.config',
        o.config,
        '--topic',
        o.topic,
        '--request-required-acks',
        'all',
      ],
      `${o.lines.join('\n')}\n`,
      120_000,
    );
  }

  /** ConsoleConsumer from the beginning, until `count` records or `idleMs` without one. */
  consume(o: {
    bootstrap: string;
    config: string;
    topic: string;
    group: string;
    count: number;
    idleMs: number;
  }) {
    return this.#java(
      'org.apache.kafka.tools.consumer.ConsoleConsumer',
      [
        '--bootstrap-server',
        o.bootstrap,
        this.#modern ? '--command-config' : '--consumer.config',
        o.config,
        '--topic',
        o.topic,
        '--group',
        o.group,
        '--from-beginning',
        '--max-messages',
        String(o.count),
        '--timeout-ms',
        String(o.idleMs),
      ],
      '',
      180_000,
    );
  }
}

/** kcat with a librdkafka properties file: `-P` produces the lines, `-C -e` reads a topic to its end. */
export const kcat = {
  produce: (o: { config: string; topic: string; lines: string[] }): Promise<Ran> =>
    runWithInput('kcat', ['-F', o.config, '-P', '-t', o.topic], `${o.lines.join('\n')}\n`, 60_000),
  consume: (o: { config: string; topic: string }): Promise<Ran> =>
    runWithInput('kcat', ['-F', o.config, '-C', '-t', o.topic, '-o', 'beginning', '-e', '-q'], '', 60_000),
  /** The same with a map of librdkafka properties as `-X` flags: how confluent-kafka-python and -go take them. */
  consumeWith: (o: { properties: Record<string, string>; topic: string }): Promise<Ran> =>
    runWithInput(
      'kcat',
      [
        ...Object.entries(o.properties).flatMap(([k, v]) => ['-X', `${k}=${v}`]),
        ...['-C', '-t', o.topic, '-o', 'beginning', '-e', '-q'],
      ],
      '',
      60_000,
    ),
};
