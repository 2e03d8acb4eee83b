/**
 * `mm2-failover client-config`: the active cluster's client configuration for Kafka clients in any language (Java
 * and its console tools, librdkafka: kcat, confluent-kafka-python and -go; JSON for the rest), read from the
 * contract (the active parameter and the active credentials secret, one epoch). Key material goes to files of
 * mode 0600 in `--out-dir`; it reaches standard output only with `--inline-secrets`.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadActiveConfig } from '#shared/client/active-client-config.ts';
import {
  type ClientConfigFormat,
  clientConfigFormats,
  renderClientConfig,
} from '#shared/client/foreign-client-config.ts';
import { roleView } from '#shared/client/role-view.ts';
import type { ClientRole } from '#shared/config/contract.ts';
import { describeError } from '#shared/errors.ts';
import type { Stores } from '#shared/store/active-config.ts';
import { type AwsStoresOptions, createAwsStores } from '#shared/store/aws-stores.ts';
import { exitCodes } from './exit-code.ts';

const clientConfigUsage = `usage:
  mm2-failover client-config (--deployment <name> [--region r] | --local) [--format f] [--out-dir dir]
                             [--inline-secrets] [--role producers|consumers]

Prints (or writes to --out-dir) a client configuration for the cluster that is active now, for clients that do
not use the Node client library. Run it again when the epoch in /mm2-failover/<name>/active changes.

formats (--format, default properties):
  properties  Apache Kafka's Java client and its tools (--producer.config / --consumer.config / --command-config):
              bootstrap.servers, security.protocol, mTLS as ssl.keystore.type=PEM with the certificate chain and
              the key inline (ssl.keystore.certificate.chain, ssl.keystore.key), the CA as ssl.truststore.type=PEM
              (ssl.truststore.certificates), SASL as sasl.mechanism and sasl.jaas.config. File: client.properties
  librdkafka  kcat -F, confluent-kafka-python, confluent-kafka-go: bootstrap.servers, security.protocol,
              ssl.ca.location / ssl.certificate.location / ssl.key.location (ca.pem, client.crt, client.key
              written next to it), sasl.mechanisms, sasl.username, sasl.password. Needs --out-dir for any PEM.
              File: librdkafka.properties
  json        the epoch, cluster, bootstrap servers, protocol, credentials (PEM inline), the topic mapping, and
              "librdkafka": a ready map with ssl.*.pem inline. File: client-config.json
Every format starts with the deployment, the epoch and the topics to produce to and subscribe to on that cluster
(as # comments in the two properties formats).

options:
  --deployment <name>  the deployment's name (failover.config.json "name"); with --local, the local deployment's
  --region r           where the active configuration is read (default: the AWS SDK's; AWS_ENDPOINT_URL honoured)
  --local              the deployment that 'mm2-failover local up' runs
  --out-dir dir        write the files there (created with mode 0700; files mode 0600, replaced atomically) and
                       print the configuration file's path
  --inline-secrets     print a configuration holding a private key or a password on standard output (without it,
                       such a configuration is only written to --out-dir)
  --role r             during a staged failback switch, the cluster of producers or of consumers (default: the
                       active cluster, with a warning when the epoch holds a role back)`;

/** The command line is wrong: the message and this command's usage go to stderr, exit code 2. */
class ClientConfigUsageError extends Error {
  override name = 'ClientConfigUsageError';
}

interface Io {
  /** Where `mm2-failover local up` describes its deployment. */
  localFile: string;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** The stores the active configuration is read from. Default: SSM and Secrets Manager ({@link createAwsStores}). */
  stores?: (aws: AwsStoresOptions) => Stores;
}

const readTimeoutMs = 30_000;
const roles: readonly ClientRole[] = ['producers', 'consumers'];

/** Runs the command; the exit code: 0 written or printed, 1 failed (unreadable configuration), 2 usage. */
export async function clientConfig(argv: string[], io: Io): Promise<number> {
  try {
    return await run(argv, io);
  } catch (e: unknown) {
    if (e instanceof ClientConfigUsageError) {
      io.stderr(`mm2-failover client-config: ${e.message}\n\n${clientConfigUsage}\n`);
      return exitCodes.usage;
    }
    io.stderr(`mm2-failover client-config: ${describeError(e)}\n`);
    return exitCodes.refusedOrFailed;
  }
}

function usage(message: string): never {
  throw new ClientConfigUsageError(message);
}

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        deployment: { type: 'string' },
        region: { type: 'string' },
        local: { type: 'boolean', default: false },
        format: { type: 'string', default: 'properties' },
        'out-dir': { type: 'string' },
        'inline-secrets': { type: 'boolean', default: false },
        role: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (e: unknown) {
    if ((e as { code?: unknown }).code?.toString().startsWith('ERR_PARSE_ARGS')) usage((e as Error).message);
    throw e;
  }
}

async function run(argv: string[], io: Io): Promise<number> {
  const values = parse(argv);
  if (values.help) {
    io.stdout(`${clientConfigUsage}\n`);
    return exitCodes.done;
  }
  const format = values.format as ClientConfigFormat;
  if (!clientConfigFormats.includes(format)) {
    usage(`--format: expected one of ${clientConfigFormats.join(', ')}, got '${values.format}'`);
  }
  const role = roles.find((r) => r === values.role);
  if (values.role !== undefined && role === undefined) {
    usage(`--role: expected one of ${roles.join(', ')}, got '${values.role}'`);
  }
  const { deployment, aws } = values.local
    ? localDeployment(io.localFile, values.deployment)
    : {
        deployment: values.deployment ?? usage('give the deployment with --deployment <name>, or --local'),
        aws: values.region === undefined ? {} : { region: values.region },
      };

  const active = await loadActiveConfig({
    deployment,
    stores: (io.stores ?? createAwsStores)(aws),
    kafka: { clientId: 'mm2-failover-client-config' },
    signal: AbortSignal.timeout(readTimeoutMs),
  });
  if (active.holdback && role === undefined) {
    io.stderr(
      `mm2-failover client-config: epoch ${active.epoch} keeps ${active.holdback.role} on ` +
        `${active.holdback.cluster} (a staged failback switch); this is ${active.cluster}, where the other role is. ` +
        'Give --role producers|consumers for a client of one role.\n',
    );
  }
  const view = role === undefined ? active : roleView(active, role);
  const outDir = values['out-dir'] === undefined ? undefined : path.resolve(values['out-dir']);
  let rendered: ReturnType<typeof renderClientConfig>;
  try {
    rendered = renderClientConfig(view, format, outDir === undefined ? {} : { dir: outDir });
  } catch (e: unknown) {
    usage((e as Error).message);
  }

  if (outDir === undefined) {
    if (rendered.holdsSecrets && !values['inline-secrets']) {
      usage(
        `epoch ${active.epoch}'s configuration holds a private key or a password: expected --out-dir <dir> ` +
          '(files of mode 0600), or --inline-secrets to print it on standard output',
      );
    }
    io.stdout(rendered.config.text);
    return exitCodes.done;
  }
  mkdirSync(outDir, { recursive: true, mode: 0o700 });
  // PEM files first: a client that notices the new configuration file finds what it names already there.
  for (const file of [...rendered.pemFiles, rendered.config])
    writePrivately(path.join(outDir, file.name), file.text);
  io.stdout(`${path.join(outDir, rendered.config.name)}\n`);
  return exitCodes.done;
}

/** Mode 0600 and a rename over the old file, so a client never reads half of one or a file others can read. */
function writePrivately(file: string, text: string): void {
  const partial = `${file}.${process.pid}.partial`;
  writeFileSync(partial, text, { mode: 0o600 });
  renameSync(partial, file);
}

/** The deployment `mm2-failover local up` started: its name, and moto's endpoint and credentials. */
function localDeployment(
  localFile: string,
  given: string | undefined,
): { deployment: string; aws: AwsStoresOptions } {
  let env: Record<string, string>;
  let name: unknown;
  try {
    const local = JSON.parse(readFileSync(localFile, 'utf8')) as {
      deployment?: unknown;
      functionEnv: Record<string, string>;
    };
    env = local.functionEnv;
    name = local.deployment;
  } catch (e: unknown) {
    usage(`no local deployment: start one with 'mm2-failover local up' (${localFile}: ${describeError(e)})`);
  }
  if (typeof name !== 'string') usage(`${localFile}: expected the local deployment's config with its name`);
  if (given !== undefined && given !== name) {
    usage(`--deployment: the local deployment is '${name}', got '${given}'`);
  }
  return {
    deployment: name,
    aws: {
      ...(env.AWS_REGION ? { region: env.AWS_REGION } : {}),
      ...(env.AWS_ENDPOINT_URL ? { endpoint: env.AWS_ENDPOINT_URL } : {}),
      ...(env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
        ? { credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY } }
        : {}),
    },
  };
}
