import { createPrivateKey } from 'node:crypto';
import type { ActiveClientConfig, ClusterConnection } from './active-client-config.ts';

/**
 * The active configuration as a ready configuration for Kafka clients that are not this library: Apache Kafka's
 * Java client (and its console tools), librdkafka (kcat, confluent-kafka-python, confluent-kafka-go) and JSON for
 * anything else. `mm2-failover client-config` prints or writes what this renders; the contract it reads (the
 * active parameter and the active credentials secret of one epoch) is all such a client needs.
 */

export const clientConfigFormats = ['properties', 'librdkafka', 'json'] as const;
export type ClientConfigFormat = (typeof clientConfigFormats)[number];

/** One file of a rendered configuration: its name inside the output folder and its text. */
interface RenderedFile {
  name: string;
  text: string;
}

export interface RenderedClientConfig {
  /** The configuration itself: `client.properties`, `librdkafka.properties` or `client-config.json`. */
  config: RenderedFile;
  /** PEM files the configuration names by path (librdkafka's `ssl.*.location`), to be written next to it. */
  pemFiles: RenderedFile[];
  /** Whether the configuration holds a private key or a password (then it is no text for a terminal or a log). */
  holdsSecrets: boolean;
}

/** Where the rendered files go: PEM files are named by their path there. Undefined: everything inline. */
export interface RenderTarget {
  /** Absolute path of the folder the files are written to. */
  dir?: string;
}

/** The connection a client of `role` uses (see `roleView`), with the epoch's identity for the header. */
export type ForeignClientView = ClusterConnection &
  Pick<ActiveClientConfig, 'deployment' | 'epoch' | 'switchedAt'>;

/** The parts of a kafkajs configuration the credentials are read back from (buildKafkaConfig wrote them). */
interface Material {
  ca?: string;
  cert?: string;
  key?: string;
  username?: string;
  password?: string;
}

/**
 * Render `view` as `format`.
 * @throws when librdkafka properties would need a PEM file and there is no folder to write it to.
 */
export function renderClientConfig(
  view: ForeignClientView,
  format: ClientConfigFormat,
  target: RenderTarget = {},
): RenderedClientConfig {
  const material = materialOf(view);
  const holdsSecrets = material.key !== undefined || material.password !== undefined;
  switch (format) {
    case 'properties':
      return {
        config: { name: 'client.properties', text: javaProperties(view, material) },
        pemFiles: [],
        holdsSecrets,
      };
    case 'librdkafka':
      return librdkafka(view, material, target, holdsSecrets);
    case 'json':
      return {
        config: {
          name: 'client-config.json',
          text: `${JSON.stringify(jsonConfig(view, material), null, 2)}\n`,
        },
        pemFiles: [],
        holdsSecrets,
      };
  }
}

function materialOf(view: ForeignClientView): Material {
  const kafka = view.kafka.reveal();
  const ssl = typeof kafka.ssl === 'object' ? kafka.ssl : {};
  const pem = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const sasl = kafka.sasl as { username?: unknown; password?: unknown } | undefined;
  const material: Material = {};
  const ca = pem(ssl.ca);
  const cert = pem(ssl.cert);
  const key = pem(ssl.key);
  if (ca !== undefined) material.ca = ca;
  if (cert !== undefined) material.cert = cert;
  if (key !== undefined) material.key = key;
  if (typeof sasl?.username === 'string') material.username = sasl.username;
  if (typeof sasl?.password === 'string') material.password = sasl.password;
  return material;
}

/** Lines that say which epoch a file holds and where to produce and subscribe: a client re-reads on a new epoch. */
function header(view: ForeignClientView): string[] {
  const oneLine = (s: string) => s.replace(/[\r\n]+/g, ' ');
  return [
    `# mm2-failover client configuration: deployment ${oneLine(view.deployment)}, epoch ${view.epoch}, ` +
      `cluster ${view.cluster} (alias ${oneLine(view.alias)}), switched at ${view.switchedAt}`,
    '# Re-read it when the epoch in /mm2-failover/<deployment>/active changes. Topics on this cluster',
    '# (logical: produce to / subscribe to):',
    ...(view.routing
      ? [
          `#   <topic>: ${oneLine(view.routing.producePrefix)}<topic> / ${view.routing.subscribePrefixes
            .map((p) => `${oneLine(p)}<topic>`)
            .join(', ')}`,
        ]
      : []),
    ...Object.entries(view.topics).map(
      ([logical, route]) => `#   ${oneLine(logical)}: ${route.produce} / ${route.subscribe.join(', ')}`,
    ),
  ];
}

/** Java `.properties` value escaping: backslashes doubled, line breaks as `\n`. */
function propertyValue(value: string): string {
  return value.replaceAll('\\', '\\\\').replaceAll('\r', '').replaceAll('\n', '\\n');
}

/** A JAAS option value in double quotes. */
function jaasString(value: string): string {
  return `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

const javaSaslMechanism = {
  plain: 'PLAIN',
  'scram-sha-256': 'SCRAM-SHA-256',
  'scram-sha-512': 'SCRAM-SHA-512',
};

/**
 * Apache Kafka's Java client (and its console tools) with PEM inline (KIP-651): `ssl.keystore.type=PEM` with the
 * certificate chain and the key, `ssl.truststore.type=PEM` with the CA. The key is PKCS#8 (the only unencrypted
 * form the Java client reads), whatever form the secret holds.
 */
function javaProperties(view: ForeignClientView, m: Material): string {
  const p: Array<[string, string]> = [
    ['bootstrap.servers', view.bootstrapServers.join(',')],
    ['security.protocol', view.securityProtocol],
  ];
  if (m.cert !== undefined && m.key !== undefined) {
    p.push(['ssl.keystore.type', 'PEM']);
    p.push(['ssl.keystore.certificate.chain', m.cert.trim()]);
    p.push(['ssl.keystore.key', pkcs8(m.key)]);
  }
  if (m.ca !== undefined) {
    p.push(['ssl.truststore.type', 'PEM']);
    p.push(['ssl.truststore.certificates', m.ca.trim()]);
  }
  const mechanism = view.sasl?.mechanism;
  if (mechanism === 'oauthbearer') {
    p.push(['sasl.mechanism', 'AWS_MSK_IAM']);
    p.push(['sasl.jaas.config', 'software.amazon.msk.auth.iam.IAMLoginModule required;']);
    p.push(['sasl.client.callback.handler.class', 'software.amazon.msk.auth.iam.IAMClientCallbackHandler']);
  } else if (mechanism !== undefined && m.username !== undefined && m.password !== undefined) {
    const module =
      mechanism === 'plain'
        ? 'org.apache.kafka.common.security.plain.PlainLoginModule'
        : 'org.apache.kafka.common.security.scram.ScramLoginModule';
    p.push(['sasl.mechanism', javaSaslMechanism[mechanism]]);
    p.push([
      'sasl.jaas.config',
      `${module} required username=${jaasString(m.username)} password=${jaasString(m.password)};`,
    ]);
  }
  return [
    ...header(view),
    ...(mechanism === 'oauthbearer'
      ? ['# MSK IAM: the aws-msk-iam-auth jar must be on the classpath; AWS credentials as usual.']
      : []),
    ...p.map(([k, v]) => `${k}=${propertyValue(v)}`),
    '',
  ].join('\n');
}

function pkcs8(key: string): string {
  return String(createPrivateKey(key).export({ type: 'pkcs8', format: 'pem' })).trim();
}

const librdkafkaSaslMechanism = javaSaslMechanism;

/** librdkafka's properties, the values of one epoch; PEM either inline (`pem`) or by path (`location`). */
function librdkafkaProperties(
  view: ForeignClientView,
  m: Material,
  pem: (kind: 'ca' | 'certificate' | 'key', text: string) => [string, string],
): Array<[string, string]> {
  const p: Array<[string, string]> = [
    ['bootstrap.servers', view.bootstrapServers.join(',')],
    ['security.protocol', view.securityProtocol],
  ];
  if (m.ca !== undefined) p.push(pem('ca', m.ca));
  if (m.cert !== undefined && m.key !== undefined) {
    p.push(pem('certificate', m.cert));
    p.push(pem('key', m.key));
  }
  const mechanism = view.sasl?.mechanism;
  if (mechanism === 'oauthbearer') {
    p.push(['sasl.mechanisms', 'OAUTHBEARER']);
  } else if (mechanism !== undefined && m.username !== undefined && m.password !== undefined) {
    p.push(['sasl.mechanisms', librdkafkaSaslMechanism[mechanism]]);
    p.push(['sasl.username', m.username]);
    p.push(['sasl.password', m.password]);
  }
  return p;
}

const pemFileNames = { ca: 'ca.pem', certificate: 'client.crt', key: 'client.key' } as const;

/**
 * librdkafka reads a configuration file one `name=value` line at a time, so PEM (several lines) is named by path:
 * `ssl.ca.location`, `ssl.certificate.location`, `ssl.key.location`, files written next to the properties.
 */
function librdkafka(
  view: ForeignClientView,
  m: Material,
  target: RenderTarget,
  holdsSecrets: boolean,
): RenderedClientConfig {
  const pemFiles: RenderedFile[] = [];
  const { dir } = target;
  const properties = librdkafkaProperties(view, m, (kind, text) => {
    if (dir === undefined) {
      throw new Error(
        `librdkafka properties name PEM files (ssl.${kind}.location) and epoch ${view.epoch} has a ${kind}: ` +
          'expected a folder to write them to (--out-dir), got none; or use --format json, which holds them inline',
      );
    }
    const name = pemFileNames[kind];
    pemFiles.push({ name, text: text.endsWith('\n') ? text : `${text}\n` });
    return [`ssl.${kind}.location`, `${dir}/${name}`];
  });
  const text = [
    ...header(view),
    ...(view.sasl?.mechanism === 'oauthbearer'
      ? ['# MSK IAM: set an OAUTHBEARER token callback (aws-msk-iam-sasl-signer for Python or Go).']
      : []),
    ...properties.map(([k, v]) => `${k}=${v}`),
    '',
  ].join('\n');
  return { config: { name: 'librdkafka.properties', text }, pemFiles, holdsSecrets };
}

/**
 * Everything in one document: the epoch and its topics, the connection in the contract's terms, and `librdkafka`,
 * a ready map for confluent-kafka-python (`Producer(config['librdkafka'])`) or confluent-kafka-go, PEM inline.
 */
function jsonConfig(view: ForeignClientView, m: Material): object {
  return {
    deployment: view.deployment,
    epoch: view.epoch,
    cluster: view.cluster,
    alias: view.alias,
    switchedAt: view.switchedAt,
    bootstrapServers: view.bootstrapServers,
    securityProtocol: view.securityProtocol,
    ...(view.sasl
      ? {
          sasl: {
            mechanism: view.sasl.mechanism,
            ...(m.username === undefined ? {} : { username: m.username }),
            ...(m.password === undefined ? {} : { password: m.password }),
          },
        }
      : {}),
    ...(m.ca !== undefined || m.cert !== undefined
      ? {
          tls: {
            ...(m.ca === undefined ? {} : { ca: m.ca }),
            ...(m.cert === undefined ? {} : { cert: m.cert }),
            ...(m.key === undefined ? {} : { key: m.key }),
          },
        }
      : {}),
    ...(view.routing ? { routing: view.routing } : {}),
    topics: view.topics,
    librdkafka: Object.fromEntries(librdkafkaProperties(view, m, (kind, text) => [`ssl.${kind}.pem`, text])),
  };
}
