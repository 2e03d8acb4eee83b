/**
 * The kinds of readiness finding, a contract like the refusal codes: scripts branch on them and the deployment
 * config names them (`readiness.refuseFailoverOn`), so add, never rename. Kept apart from the finding's shape so
 * the config schema can list them without importing the audit.
 *
 * `error` findings make the standby not ready; `warning` ones could not be verified or are worth a look;
 * `info` says what the audit could not check and why.
 */
export const findingSeverities = {
  // Topics: what applications meet on the secondary after a switch.
  'topic-missing': 'error',
  'source-topic-missing': 'warning',
  'partition-count': 'error',
  'config-mismatch': 'error',
  'replication-factor': 'error',
  // ACLs of the configured principals.
  'acl-missing': 'error',
  'acls-not-describable': 'info',
  // The schema registry's topic and subjects.
  'schema-topic-not-mirrored': 'error',
  'schema-topic-behind': 'error',
  'schema-subject-missing': 'error',
  'schema-version-mismatch': 'error',
  'schema-registry-unreachable': 'warning',
  // MirrorMaker 2's configuration and liveness.
  'mirror-unreadable': 'warning',
  'mirror-not-checked': 'info',
  'mirror-connector-missing': 'error',
  'mirror-not-running': 'error',
  'mirror-policy': 'error',
  'mirror-topics-not-covered': 'error',
  'mirror-groups-not-covered': 'error',
  'mirror-checkpoints-disabled': 'error',
  'mirror-group-offset-sync-disabled': 'error',
  'mirror-offset-syncs-location': 'error',
  'mirror-heartbeats-stale': 'error',
  // The audit itself could not reach a cluster: nothing it says about that side can be trusted.
  'cluster-unreachable': 'error',
} as const satisfies Record<string, 'error' | 'warning' | 'info'>;

export type FindingCode = keyof typeof findingSeverities;
export type Severity = (typeof findingSeverities)[FindingCode];

export const findingCodes = Object.keys(findingSeverities) as [FindingCode, ...FindingCode[]];
