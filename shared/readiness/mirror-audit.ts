import type { ClusterRole } from '../config/schema.ts';
import { describeError } from '../errors.ts';
import { decodeHeartbeatKey } from '../kafka/mm2-records.ts';
import type { OffsetSyncsLocation, ReplicationPolicy } from '../kafka/replication-policy.ts';
import { type Finding, finding } from './finding.ts';
import { type MirrorSetting, type MirrorSetup, type MirrorUnit, POLICY_CLASSES } from './mirror-setup.ts';
import { filterCovers, filterEntries, literalPattern, type Mm2Filter } from './mm2-filter.ts';
import type { PartitionRecords } from './readiness-cluster.ts';

export interface MirrorExpectations {
  policy: ReplicationPolicy;
  /** Topics (source names) the flow must replicate and checkpoint: the watched ones, and the registry's. */
  topics: readonly string[];
  /** The watched topics alone: the checkpoint connector's filter must pass these. */
  watchedTopics: readonly string[];
  groups: readonly string[];
  /** The deployment says the flow mirrors everything: `topics` must be `.*`. */
  allTopics: boolean;
  offsetSyncsLocation: OffsetSyncsLocation;
}

/**
 * MM2's configuration against the deployment: the replication policy on every unit that names topics (source
 * and checkpoint: a policy set on one but not the other breaks offset translation silently), the allow lists,
 * checkpoints with group offset sync, where offset syncs live, and that every unit runs.
 */
export function auditMirror(setup: MirrorSetup, expect: MirrorExpectations): Finding[] {
  if (setup.kind === 'not-checked') {
    return [
      finding({
        code: 'mirror-not-checked',
        expected: 'MirrorMaker 2 configuration readable from Kafka Connect or Aiven',
        found: setup.why,
        fix: 'check the MM2 configuration by hand against the deployment (policy, topics, groups, checkpoints, offset syncs)',
      }),
    ];
  }
  if (setup.kind === 'unreadable') {
    return [
      finding({
        code: 'mirror-unreadable',
        expected: `MM2's configuration readable from ${setup.what}`,
        found: setup.error,
        fix: `check that the probe reaches ${setup.what} (mirror settings of the deployment config, network, token)`,
      }),
    ];
  }
  const findings: Finding[] = setup.missing.map((m) =>
    finding({ code: 'mirror-connector-missing', expected: m.label, found: m.found, fix: m.fix }),
  );
  for (const unit of setup.units) {
    try {
      findings.push(...auditUnit(unit, expect));
    } catch (e: unknown) {
      // A pattern MM2 (Java) accepts that JavaScript cannot compile: say so rather than guess what it covers.
      findings.push(
        finding({
          code: 'mirror-unreadable',
          expected: `${unit.label}: topic and group patterns the audit can evaluate`,
          found: describeError(e),
          fix: 'check by hand that its topics and groups patterns cover the deployment',
        }),
      );
    }
  }
  return findings;
}

function auditUnit(unit: MirrorUnit, expect: MirrorExpectations): Finding[] {
  const findings: Finding[] = [];
  if (!unit.state.running) {
    findings.push(
      finding({
        code: 'mirror-not-running',
        expected: `${unit.label} RUNNING`,
        found: unit.state.found,
        fix: unit.state.fix,
        ...(unit.state.action ? { action: unit.state.action } : {}),
      }),
    );
  }
  const namesTopics = unit.duties.includes('replicate') || unit.duties.includes('checkpoint');
  if (!namesTopics) return findings;

  const expectSetting = (key: MirrorSetting, want: string, code: Finding['code'], why: string): void => {
    const have = unit.setting(key);
    if (have === undefined || have === want) return;
    findings.push(
      finding({
        code,
        expected: `${unit.label}: ${unit.keyOf(key)}=${want} (${why})`,
        found: `${unit.keyOf(key)}=${have}`,
        fix: `set ${unit.keyOf(key)}=${want} on ${unit.label}`,
        action: unit.patch({ [key]: want }),
      }),
    );
  };
  expectSetting(
    'policyClass',
    POLICY_CLASSES[expect.policy.kind],
    'mirror-policy',
    `the deployment's ${expect.policy.kind} replication policy`,
  );
  expectSetting('separator', expect.policy.separator, 'mirror-policy', "the deployment's separator");
  expectSetting(
    'offsetSyncsLocation',
    expect.offsetSyncsLocation,
    'mirror-offset-syncs-location',
    'where the deployment reads offset syncs; the source and checkpoint connectors must agree',
  );

  const topics = unit.duties.includes('replicate') ? expect.topics : expect.watchedTopics;
  findings.push(...coverage(unit, topics, expect, 'topics'));
  if (unit.duties.includes('checkpoint')) {
    expectSetting(
      'emitCheckpoints',
      'true',
      'mirror-checkpoints-disabled',
      "failover translates consumer groups' offsets from checkpoints",
    );
    expectSetting(
      'syncGroupOffsets',
      'true',
      'mirror-group-offset-sync-disabled',
      "consumers that join on the secondary start at their group's translated offsets",
    );
    findings.push(...coverage(unit, expect.groups, expect, 'groups'));
  }
  return findings;
}

/**
 * Every name must pass the unit's include and exclude lists (and, for topics, not be one MM2 treats as internal).
 * The fix for all of them is computed together, so that one change to the unit covers every name: names the
 * include list misses are added to it (or it becomes `.*` when the deployment mirrors everything), and the
 * exclude entries that catch a name are dropped.
 */
function coverage(
  unit: MirrorUnit,
  names: readonly string[],
  expect: MirrorExpectations,
  what: 'topics' | 'groups',
): Finding[] {
  const includeKey: MirrorSetting = what === 'topics' ? 'topics' : 'groups';
  const excludeKey: MirrorSetting = what === 'topics' ? 'topicsExclude' : 'groupsExclude';
  const include = unit.setting(includeKey);
  const exclude = unit.setting(excludeKey);
  if (include === undefined || exclude === undefined) return [];
  const filter: Mm2Filter = { include, exclude };
  const findings: Finding[] = [];
  const code = what === 'topics' ? 'mirror-topics-not-covered' : 'mirror-groups-not-covered';

  if (what === 'topics' && expect.allTopics && filterEntries(include).join(',') !== '.*') {
    findings.push(
      finding({
        code,
        expected: `${unit.label}: ${unit.keyOf(includeKey)}=.* (the deployment mirrors every topic)`,
        found: `${unit.keyOf(includeKey)}=${include}`,
        fix: `set ${unit.keyOf(includeKey)}=.* on ${unit.label}`,
        action: unit.patch({ [includeKey]: '.*' }),
      }),
    );
  }

  const uncovered = names.flatMap((name) => {
    if (what === 'topics' && expect.policy.isInternalTopic(name)) {
      return [{ name, why: 'MM2 never mirrors a topic it counts as internal', fixable: false }];
    }
    const verdict = filterCovers(filter, name);
    return verdict.covered ? [] : [{ name, why: verdict.why, fixable: true }];
  });
  const fixable = uncovered.filter((u) => u.fixable).map((u) => u.name);
  const set: Partial<Record<MirrorSetting, string>> = {};
  const missedByInclude = fixable.filter((n) => !filterCovers({ include, exclude: '' }, n).covered);
  if (missedByInclude.length > 0) {
    set[includeKey] =
      what === 'topics' && expect.allTopics
        ? '.*'
        : [...filterEntries(include), ...missedByInclude.map(literalPattern)].join(', ');
  }
  const keptExcludes = filterEntries(exclude).filter(
    (entry) => !fixable.some((n) => filterCovers({ include: entry, exclude: '' }, n).covered),
  );
  if (keptExcludes.length !== filterEntries(exclude).length) set[excludeKey] = keptExcludes.join(', ');

  for (const u of uncovered) {
    findings.push(
      finding({
        code,
        ...(what === 'topics' ? { topic: u.name } : {}),
        expected: `${unit.label} ${what === 'topics' ? 'replicating' : 'checkpointing'} ${u.name}`,
        found: u.why,
        ...(u.fixable
          ? {
              fix: `set ${Object.keys(set)
                .map((k) => `${unit.keyOf(k as MirrorSetting)}=${set[k as MirrorSetting]}`)
                .join(' and ')} on ${unit.label}`,
              action: unit.patch(set),
            }
          : {
              fix: `rename ${u.name}: MM2 skips names ending in .internal or -internal and starting with __ or .`,
            }),
      }),
    );
  }
  return findings;
}

export interface HeartbeatInput {
  sourceAlias: string;
  targetAlias: string;
  targetRole: ClusterRole;
  /** `heartbeats` on the target: the flow's heartbeat connector writes there. */
  local: { topic: string; records: readonly PartitionRecords[] };
  /** `<source>.heartbeats` on the target: heartbeats emitted on the source, copied by the flow. */
  remote: { topic: string; records: readonly PartitionRecords[] };
  now: number;
  maxAgeMs: number;
}

/**
 * Heartbeats flowing: the newest heartbeat of this flow on the target is recent. A copied heartbeat (the
 * remote topic) proves records travel source → target; the flow's own heartbeat (key: source and target alias)
 * proves its heartbeat connector runs and writes to the target.
 */
export function auditHeartbeats(input: HeartbeatInput): Finding[] {
  let newest: number | undefined;
  const consider = (ts: number) => {
    if (newest === undefined || ts > newest) newest = ts;
  };
  for (const p of input.remote.records) for (const r of p.records) consider(r.timestamp);
  for (const p of input.local.records) {
    for (const r of p.records) {
      if (r.key === null) continue;
      try {
        const key = decodeHeartbeatKey(r.key);
        if (key.sourceClusterAlias === input.sourceAlias && key.targetClusterAlias === input.targetAlias)
          consider(r.timestamp);
      } catch {
        // Not a heartbeat: another writer's record in the topic says nothing about this flow.
      }
    }
  }
  if (newest !== undefined && input.now - newest <= input.maxAgeMs) return [];
  return [
    finding({
      code: 'mirror-heartbeats-stale',
      expected: `a heartbeat ${input.sourceAlias} → ${input.targetAlias} in ${input.local.topic} or ${input.remote.topic} on the ${input.targetRole} within the last ${Math.round(input.maxAgeMs / 1000)} s`,
      found: newest === undefined ? 'none' : `the newest from ${new Date(newest).toISOString()}`,
      fix: "check that the flow's connectors run (the mirror-not-running findings) and that MM2 reaches both clusters",
    }),
  ];
}
