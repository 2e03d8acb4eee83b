// What a running harness tells its users (tests, `npm run harness`, the drill). Plain JSON: it crosses from
// vitest's global setup into test workers through `provide`/`inject`.

export type ClusterName = 'primary' | 'secondary';

export const CLUSTER_NAMES: readonly ClusterName[] = ['primary', 'secondary'];

export type ReplicationPolicyName = 'default' | 'identity';

export type MirrorMode = 'connect' | 'dedicated';

export interface ClusterInfo {
  name: ClusterName;
  /** The MM2 cluster alias: `primary.<topic>` on the secondary under the default policy. */
  alias: string;
  /** PLAINTEXT listener, `127.0.0.1:<port>`. */
  bootstrapServers: string;
  /** mTLS listener (SSL, client certificate required), when the harness runs with TLS. */
  tlsBootstrapServers?: string;
  clusterId: string;
  dataDir: string;
  logFile: string;
}

/** Client credentials in Aiven's shape: all PEM, the key unencrypted PKCS#8. One CA for both clusters. */
interface TlsInfo {
  caPath: string;
  certPath: string;
  keyPath: string;
}

/** One direction of replication, as MM2 connectors see it. */
export interface MirrorDirection {
  source: { alias: string; bootstrapServers: string };
  target: { alias: string; bootstrapServers: string };
  policy: ReplicationPolicyName;
  /** Separator of the default policy (`primary.orders`). */
  separator: string;
  /** MM2 emits an offset sync whenever drift exceeds this; 0 makes translation exact. */
  offsetLagMax: number;
}

export interface MirrorConnectorNames {
  source: string;
  checkpoint: string;
  heartbeat: string;
}

interface MirrorInfo {
  mode: MirrorMode;
  direction: MirrorDirection;
  /** The Connect worker replicating primary -> secondary (bootstrap: the secondary); Connect mode only. */
  connectUrl?: string;
  /** Connect mode only. */
  connectors?: MirrorConnectorNames;
  logFile: string;
}

export interface HarnessInfo {
  runId: string;
  /** `.cache/harness/<run-id>`: configs, data, certificates, logs. */
  runDir: string;
  logsDir: string;
  kafkaVersion: string;
  clusters: Record<ClusterName, ClusterInfo>;
  tls?: TlsInfo;
  mirror: MirrorInfo;
  /**
   * The worker for failback's secondary -> primary mirror (bootstrap: the primary). Its port is reserved at
   * start; the worker itself runs only after `startReverseWorker()`.
   */
  reverseWorker: { connectUrl: string; logFile: string };
  moto?: { endpoint: string; region: string };
  /** The fault-control HTTP server (see control-server.ts), when started. */
  controlUrl?: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** Set by test/integration/global-setup.ts for the integration project. */
    harness: HarnessInfo;
  }
}
