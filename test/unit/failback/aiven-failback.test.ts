import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AivenController } from '#shared/failback/aiven-controller.ts';
import type { FailbackResult } from '#shared/failback/failback.ts';
import { Redacted } from '#shared/store/redacted.ts';
import { type FakeAivenApi, startFakeAivenApi } from '../../fakes/aiven-api.ts';
import { configOf, QUARANTINE, type World, world } from './world.ts';

const TOKEN = 'tok-aiven-e2e';
const EVERY_RECORD = ['a0', 'a1', 'a2', 'a3', 'a4', 'b0', 'b1', 'b2', 'c0', 'c1', 'c2'];

/**
 * A whole failback through the Aiven controller: the replication flows live in the Aiven API fake, and the
 * in-memory mirror moves data for whichever flows the fake has enabled. Aiven cannot read MM2's source offsets,
 * so salvage measures from the offset syncs the forward flow wrote before the outage; and it cannot move the
 * forward flow's offsets, so restore empties the secondary's copies for the forward flow to rebuild them.
 */
describe('failback through the Aiven controller, end to end', () => {
  let api: FakeAivenApi;
  let w: World;
  beforeEach(async () => {
    api = await startFakeAivenApi({
      project: 'acme',
      service: 'mm2-dr',
      token: TOKEN,
      flows: [
        {
          source_cluster: 'primary',
          target_cluster: 'secondary',
          enabled: true,
          topics: ['orders'],
          replication_policy_class: 'org.apache.kafka.connect.mirror.IdentityReplicationPolicy',
        },
      ],
    });
    w = await world(
      configOf({
        mirror: { kind: 'aiven', apiUrl: api.url, project: 'acme', service: 'mm2-dr', tokenSecret: 'aiven' },
      }),
    );
    const controller = new AivenController({
      apiUrl: api.url,
      project: 'acme',
      service: 'mm2-dr',
      token: async () => new Redacted(TOKEN),
      primaryAlias: 'primary',
      secondaryAlias: 'secondary',
    });
    w.deps.mirror = () => controller;
    w.mirror.flowsFrom = () => ({
      forward: api.flows.get('primary/secondary')?.enabled === true,
      reverse: api.flows.get('secondary/primary')?.enabled === true,
    });
  });
  afterEach(async () => {
    await api.close();
  });

  /** Invoke as an operator would: confirm whatever waits for a confirmation, until done or `stopAt` waits. */
  async function run(stopAt?: string): Promise<FailbackResult[]> {
    const results: FailbackResult[] = [];
    for (let i = 0; i < 12; i += 1) {
      const last = results.at(-1);
      if (last?.waiting?.waitingFor === 'confirm' && last.currentPhase === stopAt) return results;
      const confirm = last?.waiting?.waitingFor === 'confirm';
      const r = await w.invoke(confirm ? { phase: last?.currentPhase, confirm: true } : {}, `req-${i}`);
      results.push(r);
      if (r.status === 'completed') return results;
    }
    throw new Error(`not done: ${JSON.stringify(results.map((r) => r.nextStep))}`);
  }

  it('waits for a confirmation before restore empties the secondary, listing what it would delete', async () => {
    // Act
    const results = await run('restore');

    // Assert
    const waiting = results.at(-1);
    expect(waiting?.status).toBe('waiting');
    expect(waiting?.currentPhase).toBe('restore');
    expect(waiting?.nextStep).toContain('orders:0: 4');
    expect(waiting?.nextStep).toContain('orders:1: 4');
    expect(waiting?.nextStep).toContain('{ "phase": "restore", "confirm": true }');
    expect(w.secondary.calls.filter((c) => c.startsWith('deleteRecordsBefore'))).toEqual([]);
    expect(api.flows.get('primary/secondary')?.enabled).toBe(false);
  });

  it('salvages from the offset syncs, rebuilds the secondary from the primary once confirmed, and loses nothing', async () => {
    // Act
    const results = await run();
    await w.deps.sleep(1_000); // the re-enabled forward flow copies

    // Assert
    expect(results.at(-1)?.status).toBe('completed');
    const salvage = results.flatMap((r) => r.ran).find((r) => r.phase === 'salvage')?.summary;
    expect(salvage).toMatchObject({
      partitions: [{ measuredBy: 'offset-syncs' }, { measuredBy: 'offset-syncs' }],
      totalSalvaged: 3,
    });
    expect(w.secondary.values(QUARANTINE).sort()).toEqual(['b0', 'b1', 'b2']);
    const kept = new Set([...w.primary.values('orders'), ...w.secondary.values(QUARANTINE)]);
    expect(EVERY_RECORD.filter((v) => !kept.has(v))).toEqual([]);
    expect(w.secondary.values('orders').sort()).toEqual(w.primary.values('orders').sort());
    expect(api.flows.has('secondary/primary')).toBe(false);
    expect(api.flows.get('primary/secondary')?.enabled).toBe(true);
  });
});
