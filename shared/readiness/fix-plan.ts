import type { ClusterRole } from '../config/schema.ts';
import { describeBinding } from './acl-audit.ts';
import type { AclBinding, Finding, FixAction } from './finding.ts';

/**
 * What `mm2-failover audit --fix` prints and `--apply` executes: the findings' actions merged into the fewest
 * calls (one CreateTopics per cluster, one AlterConfigs per cluster, one PUT per connector, ...), each with the
 * exact request in words, in an order where nothing undoes what came before: topics and ACLs first, then MM2's
 * configuration, then restarts.
 */
export type FixCall =
  | {
      kind: 'create-topics';
      cluster: ClusterRole;
      topics: Array<{
        topic: string;
        partitions: number;
        replicationFactor: number;
        configs: Record<string, string>;
      }>;
    }
  | { kind: 'create-partitions'; cluster: ClusterRole; items: Array<{ topic: string; count: number }> }
  | {
      kind: 'alter-topic-configs';
      cluster: ClusterRole;
      items: Array<{ topic: string; set: Record<string, string> }>;
    }
  | { kind: 'create-acls'; cluster: ClusterRole; acls: AclBinding[] }
  | { kind: 'patch-connector'; url: string; connector: string; set: Record<string, string> }
  | { kind: 'patch-aiven-flow'; url: string; set: Record<string, unknown> }
  | { kind: 'restart-connector'; url: string; connector: string }
  | { kind: 'resume-connector'; url: string; connector: string };

interface PlannedCall {
  call: FixCall;
  /** The exact request, for a person to read or run by hand. */
  request: string;
  /** The findings it fixes: `code topic` or `code`. */
  fixes: string[];
}

export interface FixPlan {
  calls: PlannedCall[];
  /** Findings no call fixes: their `fix` says what a person must do. */
  manual: Finding[];
}

const ORDER: FixCall['kind'][] = [
  'create-partitions',
  'alter-topic-configs',
  'create-topics',
  'create-acls',
  'patch-connector',
  'patch-aiven-flow',
  'restart-connector',
  'resume-connector',
];

export function planFixes(findings: readonly Finding[]): FixPlan {
  const calls = new Map<string, PlannedCall>();
  const manual: Finding[] = [];
  for (const f of findings) {
    if (f.action === undefined) {
      if (f.severity !== 'info') manual.push(f);
      continue;
    }
    const [key, call] = callFor(f.action);
    const label = f.topic === undefined ? f.code : `${f.code} ${f.topic}`;
    const planned = calls.get(key);
    if (planned === undefined) {
      calls.set(key, { call, request: '', fixes: [label] });
    } else {
      merge(planned.call, call);
      if (!planned.fixes.includes(label)) planned.fixes.push(label);
    }
  }
  const ordered = [...calls.values()].sort((a, b) => ORDER.indexOf(a.call.kind) - ORDER.indexOf(b.call.kind));
  for (const p of ordered) p.request = describeCall(p.call);
  return { calls: ordered, manual };
}

/** One call per kind and place; the key says which actions share it. */
function callFor(a: FixAction): [string, FixCall] {
  switch (a.kind) {
    case 'create-topic':
      return [
        `create-topics ${a.cluster}`,
        {
          kind: 'create-topics',
          cluster: a.cluster,
          topics: [
            {
              topic: a.topic,
              partitions: a.partitions,
              replicationFactor: a.replicationFactor,
              configs: a.configs,
            },
          ],
        },
      ];
    case 'create-partitions':
      return [
        `create-partitions ${a.cluster}`,
        { kind: 'create-partitions', cluster: a.cluster, items: [{ topic: a.topic, count: a.count }] },
      ];
    case 'alter-topic-configs':
      return [
        `alter-topic-configs ${a.cluster}`,
        { kind: 'alter-topic-configs', cluster: a.cluster, items: [{ topic: a.topic, set: { ...a.set } }] },
      ];
    case 'create-acls':
      return [`create-acls ${a.cluster}`, { kind: 'create-acls', cluster: a.cluster, acls: [...a.acls] }];
    case 'patch-connector':
      return [
        `patch-connector ${a.url} ${a.connector}`,
        { kind: 'patch-connector', url: a.url, connector: a.connector, set: { ...a.set } },
      ];
    case 'patch-aiven-flow':
      return [`patch-aiven-flow ${a.url}`, { kind: 'patch-aiven-flow', url: a.url, set: { ...a.set } }];
    case 'restart-connector':
    case 'resume-connector':
      return [`${a.kind} ${a.url} ${a.connector}`, { kind: a.kind, url: a.url, connector: a.connector }];
  }
}

function merge(into: FixCall, from: FixCall): void {
  if (into.kind === 'create-topics' && from.kind === 'create-topics') {
    for (const t of from.topics) if (!into.topics.some((x) => x.topic === t.topic)) into.topics.push(t);
  } else if (into.kind === 'create-partitions' && from.kind === 'create-partitions') {
    for (const i of from.items) {
      const same = into.items.find((x) => x.topic === i.topic);
      if (same) same.count = Math.max(same.count, i.count);
      else into.items.push(i);
    }
  } else if (into.kind === 'alter-topic-configs' && from.kind === 'alter-topic-configs') {
    for (const i of from.items) {
      const same = into.items.find((x) => x.topic === i.topic);
      if (same) Object.assign(same.set, i.set);
      else into.items.push(i);
    }
  } else if (into.kind === 'create-acls' && from.kind === 'create-acls') {
    for (const a of from.acls) {
      if (!into.acls.some((x) => describeBinding(x) === describeBinding(a))) into.acls.push(a);
    }
  } else if (
    (into.kind === 'patch-connector' && from.kind === 'patch-connector') ||
    (into.kind === 'patch-aiven-flow' && from.kind === 'patch-aiven-flow')
  ) {
    Object.assign(into.set, from.set);
  }
}

function describeCall(c: FixCall): string {
  switch (c.kind) {
    case 'create-topics':
      return `CreateTopics on the ${c.cluster}: ${c.topics
        .map(
          (t) =>
            `${t.topic} (${t.partitions} partitions, replication factor ${t.replicationFactor}${Object.entries(
              t.configs,
            )
              .map(([k, v]) => `, ${k}=${v}`)
              .join('')})`,
        )
        .join('; ')}`;
    case 'create-partitions':
      return `CreatePartitions on the ${c.cluster}: ${c.items.map((i) => `${i.topic} to ${i.count}`).join('; ')}`;
    case 'alter-topic-configs':
      return `AlterConfigs on the ${c.cluster}: ${c.items
        .map((i) => `${i.topic} ${settings(i.set)}`)
        .join(
          '; ',
        )} (each topic's other overrides are read and sent unchanged: AlterConfigs replaces the whole set)`;
    case 'create-acls':
      return `CreateAcls on the ${c.cluster}: ${c.acls.map(describeBinding).join('; ')}`;
    case 'patch-connector':
      return `PUT ${c.url}/connectors/${c.connector}/config: its current config (GET ${c.url}/connectors/${c.connector}/config) with ${settings(c.set)}`;
    case 'patch-aiven-flow':
      return `PUT ${c.url} ${JSON.stringify(c.set)}`;
    case 'restart-connector':
      return `POST ${c.url}/connectors/${c.connector}/restart?includeTasks=true&onlyFailed=true`;
    case 'resume-connector':
      return `PUT ${c.url}/connectors/${c.connector}/resume`;
  }
}

function settings(set: Record<string, string>): string {
  return Object.entries(set)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}
