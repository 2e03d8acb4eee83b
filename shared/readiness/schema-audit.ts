import type { ClusterRole } from '../config/schema.ts';
import { describeError } from '../errors.ts';
import { type Finding, finding } from './finding.ts';
import type { PartitionRecords } from './readiness-cluster.ts';
import type { SchemaRegistry, SubjectVersion } from './schema-registry.ts';

export interface SchemaTopicInput {
  /** The registry's topic on the source (`_schemas`). */
  topic: string;
  /** Where the standby registry reads it on the target. */
  targetTopic: string;
  /** The name MM2 gives the copy under the deployment's policy. */
  mirroredAs: string;
  source: { role: ClusterRole; present: boolean; newest: readonly PartitionRecords[] };
  target: { role: ClusterRole; present: boolean; newest: readonly PartitionRecords[] };
  now: number;
  /** How far behind the copy may be before it counts as behind (a schema registered a moment ago is in flight). */
  graceMs: number;
}

/**
 * The registry's topic is mirrored under the name the standby registry reads, and caught up: MM2 keeps each
 * record's timestamp, so the copy's newest record in each partition must be as new as the source's (compaction
 * never removes a partition's newest record). A source without the topic has no registry: nothing to check.
 */
export function auditSchemaTopic(input: SchemaTopicInput): Finding[] {
  const { source, target, topic, targetTopic } = input;
  if (!source.present) return [];
  if (!target.present) {
    const renamed = input.mirroredAs !== targetTopic;
    return [
      finding({
        code: 'schema-topic-not-mirrored',
        topic,
        expected: `${targetTopic} on the ${target.role}, mirrored from ${topic} (the standby registry reads it)`,
        found: 'absent',
        fix: renamed
          ? `MM2 writes ${topic} as ${input.mirroredAs} under this replication policy: point the standby registry at it (kafkastore.topic=${input.mirroredAs}) and set readiness.schemaTopicOnSecondary to it, or mirror ${topic} with the identity policy`
          : `let MM2 mirror ${topic} (see the mirror-topics-not-covered finding for the connector change)`,
      }),
    ];
  }
  const findings: Finding[] = [];
  const targetNewest = new Map(target.newest.map((p) => [p.partition, newestTimestamp(p)]));
  for (const p of source.newest) {
    const want = newestTimestamp(p);
    if (want === undefined || input.now - want <= input.graceMs) continue;
    const have = targetNewest.get(p.partition);
    if (have !== undefined && have >= want) continue;
    findings.push(
      finding({
        code: 'schema-topic-behind',
        topic,
        expected: `newest record of ${targetTopic}-${p.partition} on the ${target.role} from ${iso(want)} or later (as on the ${source.role})`,
        found: have === undefined ? 'no record' : `newest from ${iso(have)}`,
        fix: `check that MM2 copies ${topic} (the source connector's status and task traces); the registry on the ${target.role} serves stale schemas until it catches up`,
      }),
    );
  }
  return findings;
}

export interface RegistryPair {
  source: { role: ClusterRole; registry: SchemaRegistry };
  target: { role: ClusterRole; registry: SchemaRegistry };
}

/**
 * Every subject of the source registry exists in the target's with the same latest version, schema id and
 * schema: records carry the schema id, so a consumer on the standby decodes them only when the ids agree. A
 * registry that cannot be read gives a warning (the audit cannot tell), not a verdict.
 */
export async function auditSchemaRegistries(pair: RegistryPair): Promise<Finding[]> {
  const { source, target } = pair;
  let subjects: string[];
  try {
    subjects = await source.registry.subjects();
  } catch (e: unknown) {
    return [unreachable(source.role, source.registry, e)];
  }
  let latest: Array<{ subject: string; want?: SubjectVersion; have?: SubjectVersion }>;
  try {
    latest = await mapLimit(subjects, 8, async (subject) => {
      const [want, have] = await Promise.all([
        source.registry.latest(subject),
        target.registry.latest(subject),
      ]);
      return { subject, ...(want ? { want } : {}), ...(have ? { have } : {}) };
    });
  } catch (e: unknown) {
    return [unreachable(`${source.role} or ${target.role}`, target.registry, e)];
  }
  const findings: Finding[] = [];
  const fixWords = `the standby registry serves what it reads from its topic: make sure the schema topic is mirrored and caught up, and that the ${target.role}'s registry reads that topic; registering by hand gives new schema ids that the mirrored records do not carry`;
  for (const { subject, want, have } of latest) {
    if (want === undefined) continue; // deleted between the two calls
    if (have === undefined) {
      findings.push(
        finding({
          code: 'schema-subject-missing',
          expected: `subject ${subject} in the ${target.role}'s registry (version ${want.version}, id ${want.id})`,
          found: 'absent',
          fix: fixWords,
        }),
      );
    } else if (have.version !== want.version || have.id !== want.id || have.schema !== want.schema) {
      findings.push(
        finding({
          code: 'schema-version-mismatch',
          expected: `subject ${subject} latest version ${want.version}, id ${want.id} (as in the ${source.role}'s registry)`,
          found: `version ${have.version}, id ${have.id}${have.schema === want.schema ? '' : ', another schema'}`,
          fix: fixWords,
        }),
      );
    }
  }
  return findings;
}

function unreachable(role: string, registry: SchemaRegistry, e: unknown): Finding {
  return finding({
    code: 'schema-registry-unreachable',
    expected: `the ${role} schema registry at ${registry.url} answering GET /subjects and GET /subjects/{subject}/versions/latest`,
    found: describeError(e),
    fix: `check the registry URL in readiness.schemaRegistry and that the probe can reach it`,
  });
}

function newestTimestamp(p: PartitionRecords): number | undefined {
  let newest: number | undefined;
  for (const r of p.records) if (newest === undefined || r.timestamp > newest) newest = r.timestamp;
  return newest;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** `fn` over `items`, at most `limit` at a time, results in order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
