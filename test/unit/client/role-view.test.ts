import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { type ActiveClientConfig, loadActiveConfig } from '#shared/client/active-client-config.ts';
import { roleView, sameCluster, sameConnection } from '#shared/client/role-view.ts';
import { routeOf } from '#shared/client/topic-routes.ts';
import type { ClientRole } from '#shared/config/contract.ts';
import { deploymentPaths } from '#shared/config/paths.ts';
import { type DeploymentConfig, deploymentConfigSchema } from '#shared/config/schema.ts';
import { topicMapping } from '#shared/config/topic-mapping.ts';
import { activeConfigFor } from '#shared/failback/switch.ts';
import { type ClusterDefinition, writeActive } from '#shared/store/active-config.ts';
import { Redacted } from '#shared/store/redacted.ts';
import { FakeStores } from '../../fakes/stores.ts';

const config: DeploymentConfig = deploymentConfigSchema.parse({
  name: 'orders-dr',
  mode: 'active-passive',
  replicationPolicy: 'identity',
  clusters: {
    primary: { alias: 'primary', auth: 'mtls', expectedBrokers: 1 },
    secondary: { alias: 'secondary', auth: 'mtls', expectedBrokers: 1 },
  },
  topics: ['orders'],
  mirror: { kind: 'manual' },
});
const paths = deploymentPaths(config.name);
const pem = (what: string, body: string) => `-----BEGIN ${what}-----\n${body}\n-----END ${what}-----`;

/** Each cluster with its own client certificate, so a test can tell whose credentials a view holds. */
function definition(role: 'primary' | 'secondary'): ClusterDefinition {
  return {
    role,
    parameter: {
      alias: role,
      bootstrapServers: [`${role}.kafka:9093`],
      securityProtocol: 'SSL',
    },
    credentials: new Redacted({
      cert: pem('CERTIFICATE', `${role.toUpperCase()}CERT`),
      key: pem('PRIVATE KEY', `${role.toUpperCase()}KEYMATERIAL`),
    }),
  };
}
const primary = definition('primary');
const secondary = definition('secondary');
const kafka = { clientId: 'shop' };

/** What failback writes: the failover's epoch 1 on the secondary, then stage 1 and stage 2 of the switch. */
async function failbackEpochs(first: ClientRole) {
  const stores = new FakeStores();
  const load = () => loadActiveConfig({ deployment: config.name, stores, kafka });
  const base = {
    activeCredentialsSecret: paths.activeCredentialsSecret,
    reason: 'failback',
    switchedAt: '2026-11-21T10:00:00.000Z',
  };
  await writeActive(
    stores,
    paths,
    {
      epoch: 1,
      cluster: 'secondary',
      alias: 'secondary',
      bootstrapServers: secondary.parameter.bootstrapServers,
      securityProtocol: 'SSL',
      credentialsSecret: paths.activeCredentialsSecret,
      topics: topicMapping(config, 'secondary'),
      switchedAt: base.switchedAt,
      reason: 'failover',
    },
    secondary.credentials,
  );
  const afterFailover = await load();
  const held: ClientRole = first === 'consumers' ? 'producers' : 'consumers';
  await writeActive(
    stores,
    paths,
    activeConfigFor(config, { ...base, epoch: 2, primary, holdback: { role: held, secondary } }),
    { active: primary.credentials, holdback: secondary.credentials },
  );
  const stage1Secret = stores.secretJson(paths.activeCredentialsSecret);
  const stage1Parameter = JSON.parse(stores.params.get(paths.activeParameter)?.value ?? '{}') as unknown;
  const stage1 = await load();
  await writeActive(
    stores,
    paths,
    activeConfigFor(config, { ...base, epoch: 3, primary, holdback: undefined }),
    primary.credentials,
  );
  const stage2Secret = stores.secretJson(paths.activeCredentialsSecret);
  const stage2 = await load();
  return { afterFailover, stage1, stage2, stage1Secret, stage2Secret, stage1Parameter };
}

const where = (v: ActiveClientConfig) => ({
  epoch: v.epoch,
  cluster: v.cluster,
  brokers: v.kafka.reveal().brokers,
  cert: (v.kafka.reveal().ssl as { cert?: string } | undefined)?.cert,
  holdback: v.holdback,
});

describe('roleView', () => {
  it('keeps producers on the secondary with its credentials at stage 1 of consumers-first, consumers on the primary', async () => {
    // Arrange / Act
    const { stage1, stage2 } = await failbackEpochs('consumers');

    // Assert
    expect(where(roleView(stage1, 'consumers'))).toEqual({
      epoch: 2,
      cluster: 'primary',
      brokers: ['primary.kafka:9093'],
      cert: pem('CERTIFICATE', 'PRIMARYCERT'),
      holdback: undefined,
    });
    expect(where(roleView(stage1, 'producers'))).toEqual({
      epoch: 2,
      cluster: 'secondary',
      brokers: ['secondary.kafka:9093'],
      cert: pem('CERTIFICATE', 'SECONDARYCERT'),
      holdback: undefined,
    });
    const producers = roleView(stage1, 'producers');
    expect(Object.fromEntries(config.topics.map((t) => [t, routeOf(producers, t)]))).toEqual(
      topicMapping(config, 'secondary'),
    );
    for (const role of ['producers', 'consumers'] as const) {
      expect(where(roleView(stage2, role))).toMatchObject({ epoch: 3, cluster: 'primary' });
    }
  });

  it('keeps consumers on the secondary at stage 1 of producers-first, producers on the primary', async () => {
    const { stage1 } = await failbackEpochs('producers');

    expect(where(roleView(stage1, 'producers'))).toMatchObject({ cluster: 'primary', holdback: undefined });
    expect(where(roleView(stage1, 'consumers'))).toMatchObject({
      cluster: 'secondary',
      brokers: ['secondary.kafka:9093'],
      cert: pem('CERTIFICATE', 'SECONDARYCERT'),
    });
  });

  it('is the configuration itself, without holdback, when nobody is held back', async () => {
    const { afterFailover } = await failbackEpochs('consumers');

    expect(roleView(afterFailover, 'producers')).toEqual(afterFailover);
    expect(roleView(afterFailover, 'consumers')).toEqual(afterFailover);
  });

  it('reads the held-back credentials from the active-credentials secret, written with stage 1 only', async () => {
    // Arrange / Act
    const { stage1, stage1Secret, stage2Secret, stage1Parameter } = await failbackEpochs('consumers');

    // Assert: the secret carries both clusters' credentials at stage 1 and drops the holdback at stage 2.
    expect(stage1Secret).toEqual({
      epoch: 2,
      cluster: 'primary',
      ...primary.credentials.reveal(),
      holdback: { cluster: 'secondary', ...secondary.credentials.reveal() },
    });
    expect(stage2Secret).toEqual({ epoch: 3, cluster: 'primary', ...primary.credentials.reveal() });
    // The parameter names the active-credentials secret, not the operator's: applications read nothing else.
    expect(stage1Parameter).toMatchObject({
      holdback: { role: 'producers', cluster: 'secondary', credentialsSecret: paths.activeCredentialsSecret },
    });
    expect(stage1.holdback).toMatchObject({ role: 'producers', cluster: 'secondary' });
    expect(JSON.stringify(stage1)).not.toContain('KEYMATERIAL');
    expect(inspect(stage1, { depth: 10 })).not.toContain('KEYMATERIAL');
  });
});

describe('sameConnection', () => {
  it('tells a held-back role that its cluster did not change at stage 1, and did at stage 2', async () => {
    const { afterFailover, stage1, stage2 } = await failbackEpochs('consumers');
    const producers = (c: ActiveClientConfig) => roleView(c, 'producers');
    const consumers = (c: ActiveClientConfig) => roleView(c, 'consumers');

    expect(sameConnection(producers(afterFailover), producers(stage1))).toBe(true);
    expect(sameConnection(producers(stage1), producers(stage2))).toBe(false);
    expect(sameConnection(consumers(afterFailover), consumers(stage1))).toBe(false);
    expect(sameConnection(consumers(stage1), consumers(stage2))).toBe(true);
  });

  it('says the connection changed when only the credentials did (a rotated certificate)', async () => {
    const { afterFailover } = await failbackEpochs('consumers');
    const rotated: ActiveClientConfig = {
      ...afterFailover,
      kafka: new Redacted({ ...afterFailover.kafka.reveal(), ssl: { cert: 'other', key: 'other' } }),
    };

    expect(sameConnection(afterFailover, rotated)).toBe(false);
  });
});

describe('sameCluster', () => {
  it('says a rotated certificate leaves the cluster the same, and another role or broker list does not', async () => {
    const { afterFailover, stage2 } = await failbackEpochs('consumers');
    const rotated: ActiveClientConfig = {
      ...afterFailover,
      epoch: afterFailover.epoch + 1,
      kafka: new Redacted({ ...afterFailover.kafka.reveal(), ssl: { cert: 'other', key: 'other' } }),
    };
    const moved: ActiveClientConfig = { ...afterFailover, bootstrapServers: ['replacement.kafka:9093'] };

    expect(sameCluster(afterFailover, rotated)).toBe(true);
    expect(sameCluster(afterFailover, stage2)).toBe(false);
    expect(sameCluster(afterFailover, moved)).toBe(false);
  });
});
