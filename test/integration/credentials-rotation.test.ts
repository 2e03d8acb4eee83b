import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsClientConfig } from '#harness/aws-clients.ts';
import { type IssuedCertificate, issueClientCertificate } from '#harness/certs.ts';
import { kafkaAt, kafkaClient } from '#harness/kafka-clients.ts';
import { uniqueName } from '#harness/unique-name.ts';
import { waitFor } from '#harness/wait-for.ts';
import { parseDeploymentConfig } from '#shared/config/load.ts';
import { deploymentPaths } from '#shared/config/paths.ts';
import { describeError } from '#shared/errors.ts';
import { initialiseActiveConfig } from '#shared/failover/initialise-active.ts';
import { parseFailoverFunctionInput } from '#shared/failover/input.ts';
import { ActiveWatch } from '#shared/health/active-watch.ts';
import { ensureFailoverTable } from '#shared/store/dynamo-table.ts';
import { Redacted } from '#shared/store/redacted.ts';
import { SecretsManagerStore } from '#shared/store/secrets-manager-store.ts';
import { dynamoFencing } from '#shared/switch/dynamo-epoch-authority.ts';
import { type MaintenanceResult, runMaintenance } from '#shared/switch/maintenance.ts';
import { startApplication } from './client-app.ts';
import { type MotoStores, motoStores } from './probe-fixture.ts';
import { harness } from './shared-harness.ts';

// The operator rotates the active cluster's client certificate while applications run. The certificate the
// applications start with expires during the test, so the broker refuses every new connection made with it: the
// clients can only produce and consume on a new connection after the rotation if they present the new one.

// A busy 2-core box running several JVMs: deadlines are generous, never sleeps.
const PHASE_DEADLINE_MS = 45_000;
/**
 * How long the first certificate lives from its issue: enough to write the deployment and start the application
 * on a loaded machine, short enough to keep the test cheap.
 */
const OLD_CERTIFICATE_LIFETIME_MS = 20_000;
/** Records acknowledged at each epoch before moving on. */
const PER_PHASE = 30;

describe('credentials rotation reaches running applications (real Kafka over mTLS, moto)', () => {
  const h = harness();
  const { info } = h;
  let stores: MotoStores;
  let ddb: DynamoDBClient;
  let dir: string;

  beforeAll(() => {
    stores = motoStores(info);
    ddb = new DynamoDBClient(awsClientConfig(info));
    dir = mkdtempSync(path.join(tmpdir(), 'mm2-rotation-'));
  });
  afterAll(() => {
    stores?.destroy();
    ddb?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('republishes a new client certificate at the next epoch on the same cluster; producer and consumer reconnect with it and lose no record', async () => {
    // Arrange: a deployment over mTLS whose primary secret holds a certificate that expires soon, claimed at
    // epoch 0 from the epoch authority, as `mm2-failover init --table` does.
    const tls = info.tls;
    const tlsBootstrap = info.clusters.primary.tlsBootstrapServers;
    if (tls === undefined || tlsBootstrap === undefined)
      throw new Error('expected the harness mTLS listener');
    const ca = readFileSync(tls.caPath, 'utf8');
    const name = uniqueName('rotate').toLowerCase().slice(0, 40);
    const topic = uniqueName('orders');
    const table = uniqueName('mm2-failover-rotation');
    const paths = deploymentPaths(name);
    const config = parseDeploymentConfig({
      name,
      mode: 'active-passive',
      replicationPolicy: 'default',
      clusters: {
        primary: { alias: info.clusters.primary.alias, auth: 'mtls', expectedBrokers: 1 },
        secondary: { alias: info.clusters.secondary.alias, auth: 'mtls', expectedBrokers: 1 },
      },
      topics: [topic],
      mirror: { kind: 'manual' },
    });
    const admin = kafkaClient(info, 'primary').admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    await admin.disconnect();
    await ensureFailoverTable(ddb, table);
    const versions = new SecretsManagerStore(stores.secretsManager);
    const fencing = dynamoFencing(ddb, { table, deployment: name, versions });
    const old = await issueClientCertificate(tls, dir, {
      name: 'old',
      subject: '/CN=billing-before-rotation',
      notAfter: new Date(Date.now() + OLD_CERTIFICATE_LIFETIME_MS),
    });
    for (const role of ['primary', 'secondary'] as const) {
      await stores.parameters.put(
        paths.clusterParameter(role),
        JSON.stringify({
          alias: info.clusters[role].alias,
          bootstrapServers: info.clusters[role].tlsBootstrapServers,
          securityProtocol: 'SSL',
        }),
      );
      await stores.secrets.put(paths.clusterSecret(role), clusterSecret(ca, old));
    }
    const initialised = await initialiseActiveConfig(
      { requestedBy: 'credentials-rotation test' },
      { config, stores, paths, fencing },
    );
    expect(initialised).toMatchObject({ status: 'initialised', config: { epoch: 0, cluster: 'primary' } });
    const app = await startApplication({ name, topic, stores });

    try {
      await waitFor(() => app.ackedIn(0) >= PER_PHASE && app.seen.size >= PER_PHASE / 2, {
        timeoutMs: PHASE_DEADLINE_MS,
        what: 'records acknowledged and consumed with the first certificate',
      });
      // From here the broker refuses every new connection that presents the first certificate.
      await waitFor(() => Date.now() > old.notAfter.getTime() + 1_000, {
        timeoutMs: OLD_CERTIFICATE_LIFETIME_MS + 5_000,
        what: 'the first certificate to expire',
      });
      const fresh = await issueClientCertificate(tls, dir, {
        name: 'fresh',
        subject: '/CN=billing-after-rotation',
        notAfter: new Date(Date.now() + 24 * 3_600_000),
      });
      const before = await connectsWith(tlsBootstrap, ca, old);

      // Act: the operator puts the new certificate into the primary's secret (a new version); one look of the
      // probe at the active configuration notices it and asks the failover function, which runs as its handler
      // would (input parsed, maintenance under the lock).
      await stores.secrets.put(paths.clusterSecret('primary'), clusterSecret(ca, fresh));
      const refreshed: MaintenanceResult[] = [];
      const watch = new ActiveWatch({
        stores,
        versions,
        authority: fencing.authority,
        paths,
        logger: { warn: (message) => console.warn(`[probe] ${message}`) },
        ask: async (ask) => {
          const request = parseFailoverFunctionInput({ ...ask, requestedBy: 'probe' });
          if (request.operation === 'failover') throw new Error('expected a maintenance request');
          refreshed.push(
            await runMaintenance({ ...request, operation: request.operation }, uniqueName('invocation'), {
              ...fencing,
              paths,
              stores,
              clock: { now: () => Date.now() },
              logger: { info: () => {}, warn: (message) => console.warn(`[failover] ${message}`) },
            }),
          );
        },
      });
      const observation = await watch.observe(Date.now());
      // Read at epoch 1: by the consumer that joined after the first certificate expired, over new connections.
      const readAtEpoch1 = () => [...app.seenWhere.values()].filter((where) => where.has('primary@1')).length;
      await waitFor(() => app.ackedIn(1) >= PER_PHASE && readAtEpoch1() >= PER_PHASE, {
        timeoutMs: PHASE_DEADLINE_MS,
        what: 'records acknowledged and consumed at epoch 1 with the new certificate',
      });
      await app.stopHandingOver();
      await app.waitUntilAllSeen();
      const after = await connectsWith(tlsBootstrap, ca, fresh);

      // Assert
      app.report('credentials rotation');
      console.info(`[rotation] a new connection with the expired certificate: ${before}`);
      expect(before).toMatch(/^refused: .*certificate/);
      expect(after).toBe('connected');
      expect(fresh.serial).not.toBe(old.serial);
      expect(observation).toMatchObject({
        state: 'ok',
        epoch: 0,
        cluster: 'primary',
        rotated: true,
        requested: 'refresh-credentials',
      });
      expect(refreshed).toEqual([
        {
          status: 'refreshed',
          epoch: 1,
          cluster: 'primary',
          rotated: [
            { secret: paths.clusterSecret('primary'), from: expect.any(String), to: expect.any(String) },
          ],
        },
      ]);
      expect(app.reconnects.sort()).toEqual(['consumer 0->1', 'producer 0->1']);
      expect(app.producerSwitches).toEqual([]);
      expect(app.consumerSwitches).toEqual([]);
      // Rejoined from its committed offsets: nothing read again from the epoch's switchedAt on.
      expect(app.rewinds).toEqual([]);
      expect(app.ackedOn('secondary')).toEqual([]);
      expect([app.producer.active?.epoch, app.consumer.active?.epoch]).toEqual([1, 1]);
      expect(readAtEpoch1()).toBeGreaterThanOrEqual(PER_PHASE);
      expect(app.missing()).toEqual([]);
      expect(app.rejected).toEqual([]);
      expect(app.acked.size).toBe(app.handed());
      expect(app.watcherErrors).toEqual([]);
    } finally {
      await app.close();
    }
  }, 150_000);
});

/** The operator's secret of a cluster, Aiven style: the CA, the client certificate and its key. */
function clusterSecret(ca: string, certificate: IssuedCertificate): Redacted<string> {
  return new Redacted(JSON.stringify({ ca, cert: certificate.cert, key: certificate.key }));
}

/** Whether a new connection presenting `certificate` is accepted: `connected`, or `refused: <why>`. */
async function connectsWith(bootstrap: string, ca: string, certificate: IssuedCertificate): Promise<string> {
  const admin = kafkaAt(bootstrap, {
    failFast: true,
    ssl: { ca, cert: certificate.cert, key: certificate.key },
    // The TLS handshake with a 2048-bit key can take over a second on a loaded box; a refusal is immediate.
    config: { connectionTimeout: 5_000, authenticationTimeout: 5_000 },
  }).admin();
  try {
    await admin.connect();
    await admin.listTopics();
    return 'connected';
  } catch (e: unknown) {
    return `refused: ${describeError(e)}`;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
