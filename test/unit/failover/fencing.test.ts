import { describe, expect, it } from 'vitest';
import { deploymentPaths } from '#shared/config/paths.ts';
import { type FailoverInvocation, runFailover } from '#shared/failover/failover.ts';
import { writeActive } from '#shared/store/active-config.ts';
import type { RunJournal } from '#shared/store/dynamo-journal.ts';
import { Redacted } from '#shared/store/redacted.ts';
import { inspectAtRest } from '#shared/switch/at-rest.ts';
import { failoverHarness, type Harness, PRIMARY_CREDS } from './fakes.ts';

/**
 * The failover's fencing under the interleavings a reliability review found unsafe: each test here failed on the
 * code before the epoch authority (see the defects 3, 4 and 8).
 */

const paths = deploymentPaths('orders-dr');

function manual(overrides: Partial<FailoverInvocation> = {}): FailoverInvocation {
  return {
    trigger: 'manual',
    reason: 'primary region down',
    requestedBy: 'alice',
    dryRun: false,
    force: false,
    invocationId: 'req-1',
    ...overrides,
  };
}

async function primaryActive(h: Harness, epoch: number) {
  await writeActive(
    h.stores,
    paths,
    {
      epoch,
      cluster: 'primary',
      alias: 'primary',
      bootstrapServers: ['127.0.0.1:19092'],
      securityProtocol: 'SSL',
      credentialsSecret: paths.activeCredentialsSecret,
      topics: { orders: { produce: 'orders', subscribe: ['orders'] } },
      switchedAt: '2026-11-20T00:00:00.000Z',
      reason: 'initial',
    },
    new Redacted(PRIMARY_CREDS),
  );
  h.stores.writes.length = 0;
}

class Crash extends Error {}

/** A journal whose `recordStep` of `at` is written, then the process dies. */
function crashAfter(inner: RunJournal, at: string): RunJournal {
  return {
    latest: () => inner.latest(),
    begin: (runId, plan, holder) => inner.begin(runId, plan, holder),
    recordStep: async (runId, step, result, holder) => {
      await inner.recordStep(runId, step, result, holder);
      if (step === at) throw new Crash(`crashed after ${step}`);
    },
    finish: (runId, status, outcome, holder) => inner.finish(runId, status, outcome, holder),
  };
}

/** The parameter's and the secret's epochs at rest, or a description of what is not parseable. */
async function atRest(h: Harness) {
  const r = await inspectAtRest(h.stores, paths);
  const half = (x: typeof r.parameter) => (x.state === 'ok' ? `${x.epoch}/${x.cluster}` : x.state);
  return { parameter: half(r.parameter), secret: half(r.secret) };
}

describe('failover fencing', () => {
  it('never resumes its run over another writer’s epoch: what is at rest ends consistent, never torn', async () => {
    // A run switching 5 -> 6 wrote its secret (epoch 6), then died; later someone else wrote epoch 5 again
    // (a stalled writer's late write of the same epoch on the primary).
    const h = failoverHarness();
    await primaryActive(h, 5);
    const dying = {
      ...h.deps,
      lock: { ...h.lock, acquire: h.lock.acquire.bind(h.lock), release: async () => {} },
    };
    await expect(
      runFailover(manual({ invocationId: 'req-dead' }), {
        ...dying,
        journal: crashAfter(h.journal, 'secret'),
      }),
    ).rejects.toBeInstanceOf(Crash);
    await primaryActive(h, 5);
    h.clock.t += h.lock.leaseMs + 1;

    const result = await runFailover(manual({ invocationId: 'req-2' }), h.deps);

    const rest = await atRest(h);
    expect(rest.parameter).toBe(rest.secret);
    expect(result).toMatchObject({ status: 'switched' });
    expect(rest.parameter).toBe(`${result.status === 'switched' ? result.epoch : -1}/secondary`);
  });

  it('writes nothing more once its lease was taken over, not even the step already due', async () => {
    // The holder's record of its offsets step finds its lease taken over: the secret must not be written after.
    const h = failoverHarness();
    await primaryActive(h, 1);
    const journal: RunJournal = {
      latest: () => h.journal.latest(),
      begin: (runId, plan, holder) => h.journal.begin(runId, plan, holder),
      recordStep: async (runId, step, result, holder) => {
        if (step === 'offsets' && holder === 'req-A') {
          await new Promise((r) => setImmediate(r));
          h.clock.t += h.lock.leaseMs + 1;
          await h.lock.acquire('req-B');
        }
        return h.journal.recordStep(runId, step, result, holder);
      },
      finish: (runId, status, outcome, holder) => h.journal.finish(runId, status, outcome, holder),
    };

    await expect(runFailover(manual({ invocationId: 'req-A' }), { ...h.deps, journal })).rejects.toThrow();

    expect(h.stores.writes).toEqual([]);
    expect(await atRest(h)).toEqual({ parameter: '1/primary', secret: '1/primary' });
  });

  it('writes a consistent configuration over a corrupt active parameter when forced, and the dry run says it would', async () => {
    const h = failoverHarness();
    await primaryActive(h, 4);
    h.stores.params.set(paths.activeParameter, { value: '{"epoch": 4, "cluster": "prim', version: 7 });

    const dry = await runFailover(manual({ dryRun: true, force: true }), h.deps);
    const forced = await runFailover(manual({ force: true }), h.deps);

    expect(dry).toMatchObject({ status: 'dry-run', wouldDo: 'switch' });
    expect(JSON.stringify(dry)).toContain('parameter corrupt');
    expect(forced).toMatchObject({ status: 'switched', epoch: 5 });
    expect(JSON.stringify(forced)).toContain('parameter corrupt');
    expect(await atRest(h)).toEqual({ parameter: '5/secondary', secret: '5/secondary' });
  });

  it('decides afresh, with a new preflight, instead of resuming a run older than the resume limit', async () => {
    const h = failoverHarness();
    await primaryActive(h, 2);
    const dying = {
      ...h.deps,
      lock: { ...h.lock, acquire: h.lock.acquire.bind(h.lock), release: async () => {} },
    };
    await expect(
      runFailover(manual({ invocationId: 'req-dead' }), {
        ...dying,
        journal: crashAfter(h.journal, 'offsets'),
      }),
    ).rejects.toBeInstanceOf(Crash);
    // An hour later the primary is back: a fresh preflight refuses.
    h.clock.t += 60 * 60_000;
    h.probes.primary = [{ verdict: 'up', reasons: [] }];

    const result = await runFailover(manual({ invocationId: 'req-2' }), h.deps);

    expect(result).toMatchObject({ status: 'refused' });
    expect(await atRest(h)).toEqual({ parameter: '2/primary', secret: '2/primary' });
    expect([...h.journal.entries.values()].map((e) => e.status)).toEqual(['abandoned']);
  });

  it('stamps switchedAt with the time the parameter was written, not the time the run was planned', async () => {
    const h = failoverHarness();
    await primaryActive(h, 2);
    const dying = {
      ...h.deps,
      lock: { ...h.lock, acquire: h.lock.acquire.bind(h.lock), release: async () => {} },
    };
    await expect(
      runFailover(manual({ invocationId: 'req-dead' }), {
        ...dying,
        journal: crashAfter(h.journal, 'offsets'),
      }),
    ).rejects.toBeInstanceOf(Crash);
    h.clock.t += h.lock.leaseMs + 60_000;
    const resumedAt = h.clock.t;

    await runFailover(manual({ invocationId: 'req-2' }), h.deps);

    const written = JSON.parse(h.stores.params.get(paths.activeParameter)?.value ?? '{}') as {
      switchedAt: string;
    };
    expect(Date.parse(written.switchedAt)).toBeGreaterThanOrEqual(resumedAt);
  });
});
