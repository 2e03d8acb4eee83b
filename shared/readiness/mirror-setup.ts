import type { FixAction } from './finding.ts';

/**
 * MirrorMaker 2's configuration of one replication direction as the audit judges it, whatever runs it: Kafka
 * Connect connectors (source, checkpoint, heartbeat) or an Aiven replication flow (one flow does all three).
 * Readers (kafka-connect-mirror.ts, aiven-mirror.ts) translate their system's keys into these.
 */
export type MirrorSetting =
  | 'policyClass'
  | 'separator'
  | 'topics'
  | 'topicsExclude'
  | 'groups'
  | 'groupsExclude'
  | 'emitCheckpoints'
  | 'syncGroupOffsets'
  | 'offsetSyncsLocation';

export type MirrorDuty = 'replicate' | 'checkpoint' | 'heartbeat';

export type UnitState =
  | { running: true }
  | { running: false; found: string; fix: string; action?: FixAction };

export interface MirrorUnit {
  /** What an operator calls it: `connector mm2-primary-secondary-checkpoint on http://connect:8083`. */
  label: string;
  duties: readonly MirrorDuty[];
  /**
   * The setting as MM2 applies it (its default when unset), or `undefined` when this system has no such setting
   * (Aiven's flows have no group filter, for example): then it is not judged.
   */
  setting(key: MirrorSetting): string | undefined;
  /** The action that sets these settings on this unit, keeping the rest of its configuration. */
  patch(set: Partial<Record<MirrorSetting, string>>): FixAction;
  /** The key this system calls a setting, for the finding's words. */
  keyOf(key: MirrorSetting): string;
  state: UnitState;
}

/** A unit the deployment expects and the system does not have. */
export interface MissingUnit {
  label: string;
  found: string;
  fix: string;
}

export type MirrorSetup =
  | { kind: 'read'; units: MirrorUnit[]; missing: MissingUnit[] }
  | { kind: 'unreadable'; what: string; error: string }
  | { kind: 'not-checked'; why: string };

export const POLICY_CLASSES = {
  default: 'org.apache.kafka.connect.mirror.DefaultReplicationPolicy',
  identity: 'org.apache.kafka.connect.mirror.IdentityReplicationPolicy',
} as const;
