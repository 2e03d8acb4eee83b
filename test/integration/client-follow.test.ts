import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsClientConfig } from '#harness/aws-clients.ts';
import { kafkaClient } from '#harness/kafka-clients.ts';
import { produceNumbered } from '#harness/produce.ts';
import { uniqueName } from '#harness/unique-name.ts';
import { waitFor } from '#harness/wait-for.ts';
import { createAwsStores } from '#shared/client/index.ts';
import { startApplication } from './client-app.ts';
import { deploymentWithTopic } from './client-deployment.ts';
import { harness } from './shared-harness.ts';

// A busy 2-core box running several JVMs: deadlines are generous, never sleeps.
const PHASE_DEADLINE_MS = 60_000;
/** Records acknowledged on each cluster before the next switch. */
const PER_PHASE = 60;

describe('following producer and consumer (real Kafka, MirrorMaker 2, moto)', () => {
  const h = harness();
  const { info } = h;
  const stores = createAwsStores(awsClientConfig(info));
  let primaryAdmin: Admin;
  let secondaryAdmin: Admin;

  beforeAll(async () => {
    primaryAdmin = kafkaClient(info, 'primary').admin();
    secondaryAdmin = kafkaClient(info, 'secondary').admin();
    await Promise.all([primaryAdmin.connect(), secondaryAdmin.connect()]);
  });

  afterAll(async () => {
    await Promise.all([primaryAdmin?.disconnect(), secondaryAdmin?.disconnect()]);
  });

  it('delivers every acknowledged record while the active configuration moves primary → secondary → primary', async () => {
    // Arrange
    const d = await deploymentWithTopic(info, stores, { primaryAdmin, secondaryAdmin });
    const app = await startApplication(d);

    try {
      // Act
      await waitFor(() => app.ackedIn(1) >= PER_PHASE && app.seen.size >= PER_PHASE / 2, {
        timeoutMs: PHASE_DEADLINE_MS,
        what: 'records acknowledged and consumed on the primary',
      });
      await d.switchTo(2, 'secondary');
      await waitFor(() => app.ackedIn(2) >= PER_PHASE && app.consumer.active?.epoch === 2, {
        timeoutMs: PHASE_DEADLINE_MS,
        what: 'producer and consumer following the switch to the secondary',
      });
      await d.switchTo(3, 'primary');
      await waitFor(() => app.ackedIn(3) >= PER_PHASE && app.consumer.active?.epoch === 3, {
        timeoutMs: PHASE_DEADLINE_MS,
        what: 'producer and consumer following the switch back to the primary',
      });
      await app.stopHandingOver();
      await app.waitUntilAllSeen();

      // Assert
      app.report('switch and switch back');
      expect(app.missing()).toEqual([]);
      expect(app.rejected).toEqual([]);
      expect(app.acked.size).toBe(app.handed());
      expect(app.ackedOn('secondary').every((r) => r.topic === `primary.${d.topic}`)).toBe(true);
      expect(app.ackedOn('primary').every((r) => r.topic === d.topic)).toBe(true);
      expect([...app.seenOn].sort()).toEqual(['primary', 'secondary']);
      expect(app.producerSwitches.map((s) => `${s.from.epoch}->${s.to.epoch}`)).toEqual(['1->2', '2->3']);
      expect(app.consumerSwitches.map((s) => [s.from.cluster, s.to.cluster, s.drain.kind, s.topics])).toEqual(
        [
          ['primary', 'secondary', 'drained', [`primary.${d.topic}`]],
          ['secondary', 'primary', 'drained', [d.topic]],
        ],
      );
      expect(app.watcherErrors).toEqual([]);
    } finally {
      await app.close();
    }
  }, 300_000);

  it('moves sends stuck on a hung primary to the secondary and still delivers every acknowledged record', async () => {
    // Arrange
    const d = await deploymentWithTopic(info, stores, { primaryAdmin, secondaryAdmin });
    const app = await startApplication(d);
    let hung = false;

    try {
      await waitFor(() => app.ackedIn(1) >= PER_PHASE && app.seen.size >= PER_PHASE / 2, {
        timeoutMs: PHASE_DEADLINE_MS,
        what: 'records acknowledged and consumed on the primary',
      });

      // Act: the primary stops answering (TCP open, nothing served); sends pile up in flight; failover writes.
      await h.hang('primary');
      hung = true;
      await waitFor(() => app.inFlight() >= 10, {
        timeoutMs: 30_000,
        what: 'sends stuck on the hung primary',
      });
      // Counted once sends pile up: an answer the broker sent just before SIGSTOP can still be read after hang().
      const ackedBeforeHang = app.acked.size;
      await d.switchTo(2, 'secondary');
      await waitFor(() => app.ackedIn(2) >= PER_PHASE && app.consumer.active?.epoch === 2, {
        timeoutMs: PHASE_DEADLINE_MS,
        what: 'producer and consumer following the failover to the secondary',
      });
      await app.stopHandingOver();
      // What the primary acknowledged before it hung reaches the secondary once MM2 can read it again.
      await h.resume('primary');
      hung = false;
      await app.waitUntilAllSeen();

      // Assert
      app.report('failover from a hung primary');
      expect(app.rejected).toEqual([]);
      expect(app.acked.size).toBe(app.handed());
      expect(app.missing()).toEqual([]);
      expect(app.ackedOn('primary').length).toBeLessThanOrEqual(ackedBeforeHang);
      expect(app.producerSwitches).toHaveLength(1);
      expect(app.producerSwitches[0]?.abandonedInFlight).toBeGreaterThanOrEqual(10);
      expect(app.ackedOn('secondary').filter((r) => r.attempts > 1).length).toBeGreaterThanOrEqual(10);
      expect(app.consumerSwitches.map((s) => s.drain.kind)).toEqual(['unreachable']);
    } finally {
      if (hung) await h.resume('primary');
      await app.close();
    }
  }, 300_000);

  it('leaves a killed primary for good: once it is back, the consumer the client left neither rejoins nor reads there', async () => {
    // Arrange
    const d = await deploymentWithTopic(info, stores, { primaryAdmin, secondaryAdmin });
    const groupId = uniqueName('billing');
    const app = await startApplication({ ...d, groupId });
    let killed = false;

    try {
      await waitFor(() => app.ackedIn(1) >= PER_PHASE && app.seen.size >= PER_PHASE / 2, {
        timeoutMs: PHASE_DEADLINE_MS,
        what: 'records acknowledged and consumed on the primary',
      });

      // The group's member on the primary now. The restarted broker keeps it listed until its session times out;
      // a consumer coming back would join as a new member.
      const membersBefore = new Set(
        (await primaryAdmin.describeGroups([groupId])).groups.flatMap((g) =>
          g.members.map((m) => m.memberId),
        ),
      );

      expect(membersBefore.size).toBe(1);

      // Act: the primary dies under the consumer (kafkajs crashes it and schedules a restart while the client is
      // leaving), the configuration moves to the secondary, and the primary comes back.
      await h.kill('primary');
      killed = true;
      await d.switchTo(2, 'secondary');
      await waitFor(() => app.ackedIn(2) >= PER_PHASE && app.consumer.active?.epoch === 2, {
        timeoutMs: PHASE_DEADLINE_MS,
        what: 'producer and consumer following the failover to the secondary',
      });
      await app.stopHandingOver();
      const primarySightings = () =>
        [...app.seenWhere.values()].reduce(
          (n, where) => n + [...where].filter((w) => w.startsWith('primary@')).length,
          0,
        );
      const sightingsBefore = primarySightings();
      await h.restart('primary');
      killed = false;
      // Records written on the primary after the switch: only a consumer left behind there would read them.
      await produceNumbered(kafkaClient(info, 'primary'), d.topic, 'late', 20);

      // Assert: for longer than kafkajs' longest restart backoff (30 s), no new member joins the group on the
      // primary and the application receives nothing from it.
      const admin = kafkaClient(info, 'primary').admin();
      await admin.connect();
      try {
        await holdsFor(
          async () => {
            const [group] = (await admin.describeGroups([groupId])).groups;
            const joined = (group?.members ?? []).filter((m) => !membersBefore.has(m.memberId));
            const readThere = primarySightings() - sightingsBefore;
            return joined.length === 0 && readThere === 0
              ? undefined
              : `new group members on the primary: ${joined.length}; records read there since: ${readThere}`;
          },
          { forMs: 35_000, everyMs: 1_000 },
        );
      } finally {
        await admin.disconnect();
      }
      expect(app.consumer.active?.cluster).toBe('secondary');
      expect(app.rejected).toEqual([]);
    } finally {
      if (killed) await h.restart('primary');
      await h.startMirror();
      await app.close();
    }
  }, 300_000);
});

/**
 * Checks `violation` every `everyMs` for `forMs` and throws at its first answer: for properties that must hold
 * over a stretch of time (something that must *not* happen), which no single observation can show.
 */
async function holdsFor(
  violation: () => Promise<string | undefined>,
  o: { forMs: number; everyMs: number },
): Promise<void> {
  const until = Date.now() + o.forMs;
  for (;;) {
    const found = await violation();
    if (found !== undefined) throw new Error(`expected to hold for ${o.forMs} ms, but: ${found}`);
    if (Date.now() >= until) return;
    await new Promise((r) => setTimeout(r, o.everyMs));
  }
}
