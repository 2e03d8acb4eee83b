import type { MirrorStep } from './payload.ts';

/**
 * How failback drives MirrorMaker 2, whatever runs it. `forward` is primary → secondary (the DR mirror);
 * `reverse` is secondary → primary (exists only during failback).
 *
 * Every method is idempotent: a crashed invocation calls it again. A controller that needs a person (`manual`)
 * answers `{ done: false }` with the exact steps, and the failback waits for a confirmation call.
 */
export type Flow = 'forward' | 'reverse';

export interface PartitionPosition {
  topic: string;
  partition: number;
  offset: number;
}

export type MirrorOutcome =
  | { done: true; detail: string }
  | { done: false; waitingFor: MirrorStep; instructions: string[] };

export interface ReverseFlowSpec {
  /** Topic names or patterns to mirror back (the deployment's topics, never the quarantine topic). */
  topics: readonly string[];
  /** Topics never to mirror back (the quarantine topic, MM2's internals). */
  excludeTopics: readonly string[];
  /** Consumer groups whose offsets the reverse checkpoints translate back. */
  groups: readonly string[];
  /**
   * The failback run asking. Controllers that can tag a flow (Kafka Connect: a key in the connectors' config)
   * adopt an existing reverse flow only when it carries this run id; anything else is refused with what was found.
   */
  runId: string;
  /**
   * An earlier invocation of this run already asked for the reverse flow (journaled before the request). Only for
   * controllers that cannot tag a flow (Aiven): a flow found existing is adopted only when this is true.
   */
  requestedBefore: boolean;
}

export interface MirrorController {
  readonly kind: 'kafka-connect' | 'aiven' | 'manual';
  /** The controller can move the forward mirror's source offsets (Kafka Connect's offsets API, KIP-875). */
  readonly canSetForwardOffsets: boolean;
  /** What `plan` shows: the changes this controller will make, in order. */
  describeChanges(spec: ReverseFlowSpec): string[];
  /** Stop the forward mirror, keeping its configuration and offsets; on Connect this also flushes its offsets. */
  stopForward(): Promise<MirrorOutcome>;
  /**
   * Start the reverse mirror so that it copies the secondary's topics from their earliest offsets. Must refuse
   * (throw) if it cannot guarantee that start: purge relies on it, or the primary would lose data.
   */
  startReverse(spec: ReverseFlowSpec): Promise<MirrorOutcome>;
  /** Stop and remove the reverse mirror. */
  removeReverse(): Promise<MirrorOutcome>;
  /**
   * Start the forward mirror again. With `startAt` (only when {@link canSetForwardOffsets}), each listed partition
   * resumes at that primary offset (the first one still to copy); otherwise it resumes where it stopped.
   */
  startForward(startAt?: readonly PartitionPosition[]): Promise<MirrorOutcome>;
  /**
   * Upstream offset of the last record the flow has copied, per source partition, when the controller can read
   * MM2's own source offsets exactly; `undefined` when it cannot (callers fall back to offset syncs).
   */
  lastReplicated(flow: Flow): Promise<PartitionPosition[] | undefined>;
}
