import { readFileSync } from 'node:fs';
import { Kafka, type KafkaConfig, logLevel } from 'kafkajs';
import type { ClusterName, HarnessInfo } from './info.ts';

export interface KafkaClientOptions {
  /** Use the mTLS listener with the harness's CA, client certificate and key. */
  tls?: boolean;
  /** Use the mTLS listener trusting the CA but presenting no client certificate (to be refused). */
  tlsWithoutClientCert?: boolean;
  clientId?: string;
  /**
   * Short timeouts and no retries, for clients that are expected to fail (a killed or hung cluster):
   * kafkajs's defaults take 10-25 s to give up on a refused connection and minutes on a hung broker.
   */
  failFast?: boolean;
  /** kafkajs log level; defaults to NOTHING so test output stays clean. */
  logLevel?: logLevel;
  /** Anything else for the kafkajs constructor, applied last (e.g. a longer `connectionTimeout`). */
  config?: Partial<KafkaConfig>;
}

const FAIL_FAST: Pick<
  KafkaConfig,
  'connectionTimeout' | 'authenticationTimeout' | 'requestTimeout' | 'retry'
> = {
  connectionTimeout: 1_000,
  authenticationTimeout: 1_000,
  requestTimeout: 3_000,
  retry: { retries: 0 },
};

// Patient enough for a busy 2-core machine, yet bounded: a few seconds per request, a few retries.
const PATIENT: Pick<KafkaConfig, 'connectionTimeout' | 'authenticationTimeout' | 'requestTimeout' | 'retry'> =
  {
    connectionTimeout: 3_000,
    authenticationTimeout: 3_000,
    requestTimeout: 15_000,
    retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 2_000 },
  };

/**
 * A kafkajs client for one of the harness's clusters.
 *
 * @example
 * const producer = kafkaClient(info, 'primary').producer();
 * const tlsAdmin = kafkaClient(info, 'secondary', { tls: true }).admin();
 */
export function kafkaClient(
  info: HarnessInfo,
  cluster: ClusterName,
  options: KafkaClientOptions = {},
): Kafka {
  const clusterInfo = info.clusters[cluster];
  const useTls = options.tls === true || options.tlsWithoutClientCert === true;
  let brokers = clusterInfo.bootstrapServers;
  let ssl: KafkaConfig['ssl'];
  if (useTls) {
    const { tls } = info;
    if (tls === undefined || clusterInfo.tlsBootstrapServers === undefined) {
      throw new Error(
        `the harness runs without TLS: start it with { tls: true } to get an mTLS listener on ${cluster}`,
      );
    }
    brokers = clusterInfo.tlsBootstrapServers;
    const ca = readFileSync(tls.caPath, 'utf8');
    ssl = options.tlsWithoutClientCert
      ? { ca }
      : { ca, cert: readFileSync(tls.certPath, 'utf8'), key: readFileSync(tls.keyPath, 'utf8') };
  }
  return kafkaAt(brokers, { ...options, ...(ssl === undefined ? {} : { ssl }) });
}

/** A kafkajs client for any bootstrap address (the harness's own readiness checks use it too). */
export function kafkaAt(
  bootstrapServers: string,
  options: Omit<KafkaClientOptions, 'tls' | 'tlsWithoutClientCert'> & { ssl?: KafkaConfig['ssl'] } = {},
): Kafka {
  return new Kafka({
    clientId: options.clientId ?? 'mm2-failover-test',
    brokers: bootstrapServers.split(','),
    ...(options.failFast ? FAIL_FAST : PATIENT),
    ...(options.ssl === undefined ? {} : { ssl: options.ssl }),
    logLevel: options.logLevel ?? logLevel.NOTHING,
    ...options.config,
  });
}
