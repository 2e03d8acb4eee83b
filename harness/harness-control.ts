import type { AwsFault } from './aws-fault.ts';
import type { AwsCallCounts } from './aws-fault-proxy.ts';
import type { ClusterName, HarnessInfo } from './info.ts';

/**
 * What a test can do to a running harness. The harness owner implements it in-process (`startHarness`);
 * test workers get the same interface over the control server (`controlClient` in
 * test/integration/shared-harness.ts).
 *
 * The broker faults take an optional `broker`: an index into `info.clusters[cluster].brokers` (0, 1, 2 on
 * a three-broker harness). Without it they act on every broker of the cluster: the whole cluster dies.
 */
export interface HarnessControl {
  readonly info: HarnessInfo;
  /** SIGKILL the cluster's brokers (or one): a crash. Their data stays for {@link restart}. */
  kill(cluster: ClusterName, broker?: number): Promise<void>;
  /** SIGSTOP the brokers (or one): connections open, nothing answered. */
  hang(cluster: ClusterName, broker?: number): Promise<void>;
  /** SIGCONT hung brokers (or one). */
  resume(cluster: ClusterName, broker?: number): Promise<void>;
  /** (Stop and) start the brokers (or one) on the same ports and data; resolves when they answer metadata. */
  restart(cluster: ClusterName, broker?: number): Promise<void>;
  /** Stop the forward MM2 process (the Connect worker, or dedicated MirrorMaker). */
  stopMirror(): Promise<void>;
  /** Start the forward MM2 process if stopped, (re)create its connectors, wait until they run. */
  startMirror(): Promise<void>;
  /** Pause the forward connectors (Connect mode): replication stops, the worker stays. */
  pauseMirror(): Promise<void>;
  resumeMirror(): Promise<void>;
  /** Start the second Connect worker (bootstrap: the primary) for a secondary -> primary mirror. */
  startReverseWorker(): Promise<{ connectUrl: string }>;
  stopReverseWorker(): Promise<void>;
  /** Forget everything stored in moto. */
  resetMoto(): Promise<void>;
  /** Faults injected by the AWS fault proxy in front of moto (`info.moto.faultProxyEndpoint`). */
  readonly awsFaults: AwsFaultControl;
}

/** The AWS fault proxy's controls (aws-fault-proxy.ts), asynchronous so that they work over HTTP too. */
export interface AwsFaultControl {
  /** Puts these faults in force, replacing any before (and releasing the calls those held). */
  set(faults: AwsFault | readonly AwsFault[]): Promise<void>;
  /** No fault any more; calls held by a hang are released by resetting their connections. */
  clear(): Promise<void>;
  /** Calls seen and faulted per `<service>:<operation>`, and calls hanging now. */
  counts(): Promise<AwsCallCounts>;
  resetCounts(): Promise<void>;
}
