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
  /** PLAINTEXT listeners, `127.0.0.1:<port>`, comma-separated when the cluster has several brokers. */
  bootstrapServers: string;
  /** mTLS listeners (SSL, client certificate required), when the harness runs with TLS. */
  tlsBootstrapServers?: string;
  clusterId: string;
  /** The broker's log dir; with several brokers, the folder that holds theirs. */
  dataDir: string;
  /** The broker's log; with several brokers, the first one's (each is in `brokers`). */
  logFile: string;
  /** Each KRaft node (combined broker + controller): one, or three. */
  brokers: BrokerInfo[];
}

export interface BrokerPorts {
  plaintext: number;
  controller: number;
  /** The mTLS listener, when TLS is on. */
  ssl?: number;
}

export interface BrokerInfo {
  /** Its position in `brokers`: what the per-broker faults (`kill(cluster, index)`) take. */
  index: number;
  /** KRaft `node.id`, which is also the broker id in metadata (leaders, replicas, ISR). */
  nodeId: number;
  ports: BrokerPorts;
  /** This broker's PLAINTEXT listener alone, `127.0.0.1:<port>`. */
  bootstrapServers: string;
  tlsBootstrapServers?: string;
  dataDir: string;
  logFile: string;
}

/** Client credentials in Aiven's shape: all PEM, the key unencrypted PKCS#8. One CA for both clusters. */
interface TlsInfo {
  caPath: string;
  /** The CA's private key: tests issue further client certificates with it (certs.ts `issueClientCertificate`). */
  caKeyPath: string;
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
  /**
   * Replication factor of the topics MM2 creates on the target (mirrored topics, heartbeats, checkpoints,
   * offset syncs). Default 1, for one-broker clusters.
   */
  replicationFactor?: number;
  /** `harness` (default): every MM2 interval 1 s; `production`: MM2's own defaults (see mirrorSettings). */
  timing?: MirrorTiming;
}

export type MirrorTiming = 'harness' | 'production';

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
  /**
   * moto, and the AWS fault proxy in front of it (aws-fault-proxy.ts): clients pointed at
   * `faultProxyEndpoint` see the faults set through `awsFaults`; clients pointed at `endpoint` never do.
   */
  moto?: { endpoint: string; region: string; faultProxyEndpoint: string };
  /** The fault-control HTTP server (see control-server.ts), when started. */
  controlUrl?: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** Set by test/integration/global-setup.ts for the integration project. */
    harness: HarnessInfo;
  }
}
