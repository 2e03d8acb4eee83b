import type { ClusterRole, DeploymentConfig } from '#shared/config/schema.ts';
import { deploymentConfigSchema } from '#shared/config/schema.ts';

/**
 * The largest deployment the schemas accept, for the tests that prove it switches within AWS's limits: every
 * bound at its maximum where the active parameter carries it (40-character name, 64-character aliases, an
 * 8-character separator, 16 brokers filling 1,024 characters, SASL with a region, a reason far over its cut), and
 * 1,000 topics and 500 groups of 249-character names, which the parameter must not grow with.
 */
export function largestDeploymentConfig(overrides: Record<string, unknown> = {}): DeploymentConfig {
  const long = (prefix: string, i: number) => `${prefix}-${i}-`.padEnd(249, 'x');
  return deploymentConfigSchema.parse({
    name: `l${'x'.repeat(39)}`,
    mode: 'active-passive',
    replicationPolicy: 'default',
    separator: '-sep-sep',
    clusters: {
      primary: { alias: `p${'A'.repeat(63)}`, auth: 'sasl-scram', tls: false, expectedBrokers: 1 },
      secondary: { alias: `s${'B'.repeat(63)}`, auth: 'sasl-scram', tls: false, expectedBrokers: 1 },
    },
    topics: Array.from({ length: 1_000 }, (_, i) => long('topic', i)),
    consumerGroups: Array.from({ length: 500 }, (_, i) => long('group', i)),
    mirror: { kind: 'manual' },
    failback: { switchStageSeconds: 0, groupIdleWaitSeconds: 0 },
    ...overrides,
  });
}

/** 16 `host:port` whose comma-joined form is exactly 1,024 characters: the most a cluster parameter may list. */
export function largestBootstrapServers(role: ClusterRole): string[] {
  // 16 entries and 15 commas: 1,009 characters of entries, 63 each and one of 64.
  return Array.from({ length: 16 }, (_, i) => {
    const port = `:${19_000 + i}`;
    const width = (i === 0 ? 64 : 63) - port.length;
    return `${role}-b${i}.`.padEnd(width, 'k') + port;
  });
}

/** The cluster parameter (`/mm2-failover/<name>/clusters/<role>`) at its largest. */
export function largestClusterParameter(config: DeploymentConfig, role: ClusterRole): string {
  return JSON.stringify({
    alias: config.clusters[role].alias,
    bootstrapServers: largestBootstrapServers(role).join(','),
    securityProtocol: 'SASL_PLAINTEXT',
    sasl: { mechanism: 'scram-sha-512', region: 'x'.repeat(32) },
  });
}

/** A reason whose JSON is many times the cut: escaped control characters and multi-byte text. */
export const oversizedReason = `primary lost \u0001\u0002 ${'überfällig '.repeat(300)}`;
