import type { Clock } from '../clock.ts';
import type { DeploymentPaths } from '../config/paths.ts';
import type { DeploymentConfig } from '../config/schema.ts';
import type { Logger } from '../logger.ts';
import type { Notifier } from '../notify/notification.ts';
import type { Stores } from '../store/active-config.ts';
import type { SecretVersions } from '../store/stores.ts';
import type { EpochAuthority } from '../switch/epoch-authority.ts';
import type { MappingMove, MoveMappingsInput } from '../switch/event-source-mappings.ts';
import type { FailbackCluster } from './cluster-ops.ts';
import type { MirrorController, MirrorOutcome } from './mirror-controller.ts';
import type { ExecutablePhase, FailbackRequest, MirrorStep } from './payload.ts';
import type { FailbackState } from './state.ts';

/** Journal (and so renew the lock's lease, 120 s) at least this often while a phase waits. */
export const LEASE_RENEW_MS = 30_000;

/** Everything a phase touches, passed in (narrow dependencies, no singletons: docs/design.md). */
export interface FailbackDeps {
  config: DeploymentConfig;
  paths: DeploymentPaths;
  stores: Stores;
  /** Stores of an extra region from `config.regions`: the switch writes each stage there too (best effort). */
  regionStores(region: string): Stores;
  /** The function's own region: skipped if the config lists it among the extra regions. */
  homeRegion?: string;
  primary: FailbackCluster;
  secondary: FailbackCluster;
  /** The mirror controller; `manual` needs the steps confirmed so far. */
  mirror: (confirmed: ReadonlySet<MirrorStep>) => MirrorController;
  /** The one authority over the active configuration's epoch: the switch claims each stage's epoch from it. */
  authority: EpochAuthority;
  /** Secrets Manager's current version of a secret (recorded in each claim, to notice rotations). */
  versions: SecretVersions;
  clock: Pick<Clock, 'now'>;
  sleep: Clock['sleep'];
  logger: Pick<Logger, 'info' | 'warn'>;
  /** The deployment's SNS topic (failover's): told when clients are switched back and when failback completes. */
  notifier?: Notifier;
  /** Moves the config's Lambda event source mappings with the consumers' stage of the switch. */
  moveMappings?: (input: MoveMappingsInput) => Promise<MappingMove[]>;
}

/** Catch-up progress, reported on every invocation that measures it. */
export interface CatchUpProgress {
  /** Records not yet mirrored, summed over partitions (and directions in active-active). */
  remaining: number;
  /** Per direction (`secondary->primary`, `primary->secondary`). */
  directions: Record<string, number>;
  thresholdRecords: number;
  percent: number;
  /** Estimated seconds until the threshold is reached, from the rate since catch-up began; null when unknown. */
  etaSeconds: number | null;
}

export type PhaseOutcome =
  | { kind: 'done'; summary: unknown }
  /** Needs something from outside (an operator's step, a confirmation, a healthy cluster) before it can go on. */
  | {
      kind: 'waiting';
      reason: string;
      waitingFor?: MirrorStep | 'confirm' | 'primary-stable';
      instructions?: string[];
    }
  /** Progress was made and journaled, but the invocation's deadline came first. */
  | { kind: 'deadline'; summary: unknown };

export interface PhaseContext {
  deps: FailbackDeps;
  /** The lock holder of this invocation: the only one allowed to write what it claims. */
  holder: string;
  request: FailbackRequest;
  state: FailbackState;
  mirror: MirrorController;
  /** Journal the state as it is now (renews the lock's lease too). */
  save(): Promise<void>;
  /** Milliseconds left before this invocation must stop starting work. */
  remainingMs(): number;
  /**
   * Wait, journaling at least every {@link LEASE_RENEW_MS} meanwhile: every journal write renews the lock's lease,
   * so a long wait (a stability window, the pause between switch stages) never lets the lease run out.
   */
  pause(ms: number): Promise<void>;
  /** Progress of catch-up, set by the phase that measured it. */
  progress?: CatchUpProgress;
}

type PhaseRunner = (ctx: PhaseContext) => Promise<PhaseOutcome>;
export type PhaseRunners = Record<ExecutablePhase, PhaseRunner>;

/** Turn a mirror outcome that needs an operator into a `waiting` outcome. */
export function waitingForMirror(outcome: MirrorOutcome & { done: false }): PhaseOutcome {
  return {
    kind: 'waiting',
    reason: `waiting for an operator to confirm '${outcome.waitingFor}'`,
    waitingFor: outcome.waitingFor,
    instructions: outcome.instructions,
  };
}
