import type { ClusterRole } from '../config/schema.ts';
import { type AclBinding, type Finding, finding } from './finding.ts';
import type { AclListing } from './readiness-cluster.ts';
import type { MirroredTopic } from './topic-audit.ts';

export interface AclAuditInput {
  principals: readonly string[];
  topics: readonly MirroredTopic[];
  groups: readonly string[];
  source: { role: ClusterRole; acls: AclListing };
  target: { role: ClusterRole; acls: AclListing };
}

/**
 * Every ACL the configured principals hold on the source for a watched topic or consumer group must hold on the
 * target for the topic's copy or the same group. MM2's ACL sync (`sync.topic.acls.enabled`) copies topic ACLs
 * only as READ and never group ACLs, so a producer's WRITE or a consumer's group READ is what goes missing.
 *
 * A cluster that will not list its ACLs (no authorizer: SECURITY_DISABLED; or the probe's principal may not
 * DESCRIBE the cluster) gives an `acls-not-describable` finding, which does not make the standby not ready: the
 * audit cannot tell, and says so.
 */
export function auditAcls(input: AclAuditInput): Finding[] {
  if (input.principals.length === 0) return [];
  const findings: Finding[] = [];
  for (const side of [input.source, input.target]) {
    if ('unavailable' in side.acls) {
      findings.push(
        finding({
          code: 'acls-not-describable',
          expected: `the ACLs of ${input.principals.join(', ')} listed by the ${side.role}`,
          found: side.acls.unavailable,
          fix: `nothing, when the ${side.role} has no authorizer; otherwise allow the probe's principal DESCRIBE on the cluster resource so DescribeAcls answers`,
        }),
      );
    }
  }
  if ('unavailable' in input.source.acls || 'unavailable' in input.target.acls) return findings;
  const sourceAcls = input.source.acls.bindings;
  const targetAcls = input.target.acls.bindings;
  const targetRole = input.target.role;

  const wanted = new Map<string, { binding: AclBinding; topic?: string }>();
  for (const principal of input.principals) {
    const own = sourceAcls.filter((b) => b.principal === principal);
    for (const { topic, remote } of input.topics) {
      for (const b of own.filter((x) => x.resourceType === 'TOPIC' && covers(x, topic))) {
        const binding: AclBinding = { ...b, resourceName: remote, patternType: 'LITERAL' };
        wanted.set(key(binding), { binding, topic });
      }
    }
    for (const group of input.groups) {
      for (const b of own.filter((x) => x.resourceType === 'GROUP' && covers(x, group))) {
        const binding: AclBinding = { ...b, resourceName: group, patternType: 'LITERAL' };
        wanted.set(key(binding), { binding });
      }
    }
  }
  for (const { binding, topic } of wanted.values()) {
    const held = targetAcls.some(
      (b) =>
        b.principal === binding.principal &&
        b.resourceType === binding.resourceType &&
        b.permission === binding.permission &&
        (b.operation === binding.operation || b.operation === 'ALL') &&
        (b.host === binding.host || b.host === '*') &&
        covers(b, binding.resourceName),
    );
    if (held) continue;
    findings.push(
      finding({
        code: 'acl-missing',
        ...(topic === undefined ? {} : { topic }),
        expected: describeBinding(binding),
        found: `no such ACL on the ${targetRole}`,
        fix: `CreateAcls on the ${targetRole}: ${describeBinding(binding)}`,
        action: { kind: 'create-acls', cluster: targetRole, acls: [binding] },
      }),
    );
  }
  return findings;
}

/** `User:orders-app ALLOW WRITE on TOPIC orders (LITERAL) from host *` */
export function describeBinding(b: AclBinding): string {
  return `${b.principal} ${b.permission} ${b.operation} on ${b.resourceType} ${b.resourceName} (${b.patternType}) from host ${b.host}`;
}

/** Whether a binding's resource pattern applies to `name`: the literal name, the wildcard, or a prefix. */
function covers(b: AclBinding, name: string): boolean {
  if (b.patternType === 'PREFIXED') return name.startsWith(b.resourceName);
  return b.resourceName === name || b.resourceName === '*';
}

function key(b: AclBinding): string {
  return [b.principal, b.resourceType, b.resourceName, b.operation, b.permission, b.host].join('\u0000');
}
