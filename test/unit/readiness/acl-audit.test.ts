import { describe, expect, it } from 'vitest';
import { auditAcls } from '#shared/readiness/acl-audit.ts';
import type { AclBinding } from '#shared/readiness/finding.ts';
import { isReady } from '#shared/readiness/finding.ts';
import type { AclListing } from '#shared/readiness/readiness-cluster.ts';

const allow = (over: Partial<AclBinding> & Pick<AclBinding, 'resourceName' | 'operation'>): AclBinding => ({
  resourceType: 'TOPIC',
  patternType: 'LITERAL',
  principal: 'User:orders-app',
  host: '*',
  permission: 'ALLOW',
  ...over,
});

function audit(source: AclListing, target: AclListing, principals = ['User:orders-app']) {
  return auditAcls({
    principals,
    topics: [{ topic: 'orders', remote: 'primary.orders' }],
    groups: ['billing'],
    source: { role: 'primary', acls: source },
    target: { role: 'secondary', acls: target },
  });
}

describe('auditAcls', () => {
  it('finds the WRITE that MM2 ACL sync never copies, and creates it on the copy', () => {
    const source = {
      bindings: [
        allow({ resourceName: 'orders', operation: 'WRITE' }),
        allow({ resourceName: 'orders', operation: 'READ' }),
      ],
    };
    // What MM2's sync.topic.acls leaves on the target: READ only.
    const target = { bindings: [allow({ resourceName: 'primary.orders', operation: 'READ' })] };
    const findings = audit(source, target);
    expect(findings).toEqual([
      expect.objectContaining({
        code: 'acl-missing',
        topic: 'orders',
        expected: 'User:orders-app ALLOW WRITE on TOPIC primary.orders (LITERAL) from host *',
        action: {
          kind: 'create-acls',
          cluster: 'secondary',
          acls: [allow({ resourceName: 'primary.orders', operation: 'WRITE' })],
        },
      }),
    ]);
    expect(isReady(findings)).toBe(false);
  });

  it("follows prefixed and wildcard bindings on both sides, and the consumer group's READ", () => {
    const source = {
      bindings: [
        allow({ resourceName: 'ord', patternType: 'PREFIXED', operation: 'WRITE' }),
        allow({ resourceType: 'GROUP', resourceName: 'bill', patternType: 'PREFIXED', operation: 'READ' }),
      ],
    };
    expect(audit(source, { bindings: [] }).map((f) => f.expected)).toEqual([
      'User:orders-app ALLOW WRITE on TOPIC primary.orders (LITERAL) from host *',
      'User:orders-app ALLOW READ on GROUP billing (LITERAL) from host *',
    ]);
    const target = {
      bindings: [
        allow({ resourceName: '*', operation: 'ALL' }),
        allow({ resourceType: 'GROUP', resourceName: 'billing', operation: 'READ' }),
      ],
    };
    expect(audit(source, target)).toEqual([]);
  });

  it('ignores other principals', () => {
    const source = {
      bindings: [allow({ resourceName: 'orders', operation: 'WRITE', principal: 'User:someone-else' })],
    };
    expect(audit(source, { bindings: [] })).toEqual([]);
  });

  it('says which cluster would not list its ACLs, without calling the standby not ready', () => {
    const findings = audit(
      { bindings: [] },
      { unavailable: 'DescribeAcls on the secondary: SECURITY_DISABLED' },
    );
    expect(findings).toEqual([
      expect.objectContaining({
        code: 'acls-not-describable',
        severity: 'info',
        found: 'DescribeAcls on the secondary: SECURITY_DISABLED',
      }),
    ]);
    expect(isReady(findings)).toBe(true);
  });

  it('checks nothing when no principal is configured', () => {
    expect(audit({ unavailable: 'x' }, { unavailable: 'y' }, [])).toEqual([]);
  });
});
