import type { ClusterRole } from '../config/schema.ts';
import { type FindingCode, findingSeverities, type Severity } from './finding-codes.ts';

/**
 * One thing that would break applications if they had to run on the secondary now: machine-readable (`code`,
 * `topic`), with what was expected and found for a person, and the fix in words. `action` is the change
 * `mm2-failover audit --fix --apply` makes; without one, only a person can fix it (the words say how).
 */
export interface Finding {
  code: FindingCode;
  severity: Severity;
  /** The watched topic (its name on the source cluster) the finding is about. */
  topic?: string;
  expected: string;
  found: string;
  fix: string;
  action?: FixAction;
}

/** A Kafka ACL binding as the Admin API names its parts (`resourceType` TOPIC/GROUP, pattern LITERAL/PREFIXED). */
export interface AclBinding {
  resourceType: 'TOPIC' | 'GROUP';
  resourceName: string;
  patternType: 'LITERAL' | 'PREFIXED';
  principal: string;
  host: string;
  operation: string;
  permission: 'ALLOW' | 'DENY';
}

/**
 * The change that fixes a finding. Topic and ACL changes name the cluster; connector and flow changes name the
 * keys to set (the rest of the connector's configuration is read when the fix is applied, so it is never copied
 * into a report: it may hold credentials).
 */
export type FixAction =
  | {
      kind: 'create-topic';
      cluster: ClusterRole;
      topic: string;
      partitions: number;
      replicationFactor: number;
      configs: Record<string, string>;
    }
  | { kind: 'create-partitions'; cluster: ClusterRole; topic: string; count: number }
  | { kind: 'alter-topic-configs'; cluster: ClusterRole; topic: string; set: Record<string, string> }
  | { kind: 'create-acls'; cluster: ClusterRole; acls: AclBinding[] }
  | { kind: 'patch-connector'; url: string; connector: string; set: Record<string, string> }
  | { kind: 'restart-connector'; url: string; connector: string }
  | { kind: 'resume-connector'; url: string; connector: string }
  | { kind: 'patch-aiven-flow'; url: string; source: string; target: string; set: Record<string, unknown> };

/** A finding with its severity taken from the code's, so the two can never disagree. */
export function finding(f: Omit<Finding, 'severity'>): Finding {
  const { code, ...rest } = f;
  return { code, severity: findingSeverities[code], ...rest };
}

/** Ready means no `error` finding. */
export function isReady(findings: readonly Finding[]): boolean {
  return findings.every((f) => f.severity !== 'error');
}
