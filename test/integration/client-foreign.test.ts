import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsClientConfig, awsEnvironment } from '#harness/aws-clients.ts';
import { kafkaClient } from '#harness/kafka-clients.ts';
import { uniqueName } from '#harness/unique-name.ts';
import { waitFor } from '#harness/wait-for.ts';
import { createAwsStores } from '#shared/client/index.ts';
import { deploymentWithTopic } from './client-deployment.ts';
import { ConsoleTools, kafkaToolsJar, kcat, type Ran } from './foreign-clients.ts';
import { harness } from './shared-harness.ts';

// Clients no one here wrote follow a failover with nothing but `mm2-failover client-config`: Apache Kafka's console
// producer and consumer (the Java client, PEM inline) and kcat (librdkafka, PEM files), over mTLS. Each epoch
// they get a fresh configuration, as a wrapper script re-reading on a new epoch would.

const run = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, '..', '..');
/** Records each client writes in each epoch. */
const PER_CLIENT = 20;

type Format = 'properties' | 'librdkafka' | 'json';

describe('clients in other languages following a failover with client-config (Java console tools, kcat)', () => {
  const h = harness();
  const { info } = h;
  const stores = createAwsStores(awsClientConfig(info));
  const work = mkdtempSync(path.join(tmpdir(), 'mm2-foreign-clients-'));
  let primaryAdmin: Admin;
  let secondaryAdmin: Admin;
  let tools: ConsoleTools;

  beforeAll(async () => {
    const kcatVersion = await run('kcat', ['-V']).catch(() => undefined);
    if (kcatVersion === undefined)
      throw new Error('kcat is missing: run scripts/install-kcat.sh (npm test does)');
    tools = new ConsoleTools(info.kafkaVersion, await kafkaToolsJar(info.kafkaVersion), work);
    primaryAdmin = kafkaClient(info, 'primary').admin();
    secondaryAdmin = kafkaClient(info, 'secondary').admin();
    await Promise.all([primaryAdmin.connect(), secondaryAdmin.connect()]);
  }, 300_000);

  afterAll(async () => {
    await Promise.all([primaryAdmin?.disconnect(), secondaryAdmin?.disconnect()]);
    rmSync(work, { recursive: true, force: true });
  });

  it('produce on the primary, then on the secondary after the switch, and read everything there', async () => {
    // Arrange
    const d = await deploymentWithTopic(info, stores, { primaryAdmin, secondaryAdmin }, 1);
    /** `mm2-failover client-config` as an operator's script runs it; the path of the file it wrote. */
    const clientConfig = async (format: Format): Promise<string> => {
      const { stdout } = await run(
        process.execPath,
        [
          'bin/mm2-failover.ts',
          'client-config',
          '--deployment',
          d.name,
          '--format',
          format,
          '--out-dir',
          path.join(work, format),
        ],
        { cwd: repoRoot, env: { PATH: process.env.PATH ?? '', ...awsEnvironment(info) } },
      );
      return stdout.trim();
    };
    /** Per epoch: the configuration files, and what the JSON says about the epoch and where to produce. */
    const configure = async () => {
      const [java, librdkafka, json] = await Promise.all([
        clientConfig('properties'),
        clientConfig('librdkafka'),
        clientConfig('json'),
      ]);
      const described = JSON.parse(readFileSync(json, 'utf8')) as {
        epoch: number;
        cluster: string;
        routing?: { producePrefix: string; subscribePrefixes: string[] };
        topics: Record<string, { produce: string; subscribe: string[] }>;
        librdkafka: Record<string, string>;
      };
      const properties = readFileSync(java, 'utf8');
      const bootstrap = /^bootstrap\.servers=(.*)$/m.exec(properties)?.[1] ?? '';
      // A foreign client applies the routing rule itself: prefix + logical topic (a listed route wins).
      const r = described.routing;
      const topic =
        described.topics[d.topic] ??
        (r && {
          produce: `${r.producePrefix}${d.topic}`,
          subscribe: r.subscribePrefixes.map((p) => `${p}${d.topic}`),
        });
      return { java, librdkafka, json, described, properties, bootstrap, topic };
    };
    const ids = (client: string, epoch: number) =>
      Array.from({ length: PER_CLIENT }, (_, i) => `${client}-epoch${epoch}-${i}`);
    const produceBoth = async (c: Awaited<ReturnType<typeof configure>>, epoch: number): Promise<Ran[]> => {
      const topic = c.topic?.produce ?? '';
      return Promise.all([
        tools.produce({ bootstrap: c.bootstrap, config: c.java, topic, lines: ids('java', epoch) }),
        kcat.produce({ config: c.librdkafka, topic, lines: ids('kcat', epoch) }),
      ]);
    };

    // Act: epoch 1 on the primary; the switch; epoch 2 on the secondary.
    const first = await configure();
    const producedFirst = await produceBoth(first, 1);
    await d.switchTo(2, 'secondary');
    const second = await configure();
    const producedSecond = await produceBoth(second, 2);
    const subscribe = second.topic?.subscribe[0] ?? '';
    // What the primary took in epoch 1 reaches the secondary through MirrorMaker 2.
    await waitFor(
      async () => {
        const [p] = await secondaryAdmin.fetchTopicOffsets(subscribe);
        return Number(p?.high ?? 0) >= 4 * PER_CLIENT;
      },
      { timeoutMs: 60_000, what: `all ${4 * PER_CLIENT} records in ${subscribe} on the secondary` },
    );
    const [javaRead, kcatRead, mapRead] = await Promise.all([
      tools.consume({
        bootstrap: second.bootstrap,
        config: second.java,
        topic: subscribe,
        group: uniqueName('java-console'),
        count: 4 * PER_CLIENT,
        idleMs: 30_000,
      }),
      kcat.consume({ config: second.librdkafka, topic: subscribe }),
      // The JSON's ready librdkafka map, PEM inline, as confluent-kafka-python's Consumer(config) would take it.
      kcat.consumeWith({ properties: second.described.librdkafka, topic: subscribe }),
    ]);

    // Assert
    const everyId = [1, 2].flatMap((epoch) => [...ids('java', epoch), ...ids('kcat', epoch)]).sort();
    const lines = (r: Ran) =>
      r.stdout
        .split('\n')
        .filter((l) => l !== '')
        .sort();
    console.info(
      `[client-foreign] epoch ${first.described.epoch} on ${first.described.cluster} (${first.topic?.produce}), ` +
        `epoch ${second.described.epoch} on ${second.described.cluster} (${second.topic?.produce}); read on the ` +
        `secondary: Java console consumer ${lines(javaRead).length}, kcat ${lines(kcatRead).length}, kcat with the ` +
        `JSON's librdkafka map ${lines(mapRead).length} of ${everyId.length}`,
    );
    for (const r of [...producedFirst, ...producedSecond, javaRead, kcatRead])
      expect(r.code, r.stderr).toBe(0);
    expect([first.described.epoch, first.described.cluster]).toEqual([1, 'primary']);
    expect([second.described.epoch, second.described.cluster]).toEqual([2, 'secondary']);
    expect(first.bootstrap).toBe(info.clusters.primary.tlsBootstrapServers);
    expect(second.bootstrap).toBe(info.clusters.secondary.tlsBootstrapServers);
    expect(second.topic?.produce).toBe(`primary.${d.topic}`);
    expect(second.properties).toContain('# mm2-failover client configuration: deployment');
    expect(second.properties).toContain('ssl.keystore.type=PEM\n');
    expect(readFileSync(second.librdkafka, 'utf8')).toContain(
      `ssl.key.location=${path.join(work, 'librdkafka', 'client.key')}`,
    );
    for (const file of [
      second.java,
      second.librdkafka,
      second.json,
      path.join(work, 'librdkafka', 'client.key'),
    ]) {
      expect(statSync(file).mode & 0o777, file).toBe(0o600);
    }
    expect(lines(javaRead)).toEqual(everyId);
    expect(lines(kcatRead)).toEqual(everyId);
    expect(lines(mapRead)).toEqual(everyId);
  }, 300_000);
});
