import type { ClusterName, HarnessInfo } from './info.ts';

/**
 * What a test can do to a running harness. The harness owner implements it in-process (`startHarness`);
 * test workers get the same interface over the control server (`harness()` in client.ts).
 */
export interface HarnessControl {
  readonly info: HarnessInfo;
  /** SIGKILL the cluster's broker: a crash. Its data stays for {@link restart}. */
  kill(cluster: ClusterName): Promise<void>;
  /** SIGSTOP the broker: connections open, nothing answered. */
  hang(cluster: ClusterName): Promise<void>;
  /** SIGCONT a hung broker. */
  resume(cluster: ClusterName): Promise<void>;
  /** (Stop and) start the broker on the same ports and data; resolves when it answers metadata again. */
  restart(cluster: ClusterName): Promise<void>;
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
}
