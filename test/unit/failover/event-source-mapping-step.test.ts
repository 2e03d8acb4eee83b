import { describe, expect, it } from 'vitest';
import { deploymentPaths } from '#shared/config/paths.ts';
import { routeByRule } from '#shared/config/topic-mapping.ts';
import { type FailoverInvocation, runFailover } from '#shared/failover/failover.ts';
import type { RunJournal } from '#shared/store/dynamo-journal.ts';
import { inspectAtRest } from '#shared/switch/at-rest.ts';
import type { MappingMove, MoveMappingsInput } from '#shared/switch/event-source-mappings.ts';
import { failoverHarness, testConfig } from './fakes.ts';

/** The failover's event source mapping step: where it runs in the switch, what it is given, how it resumes. */

const paths = deploymentPaths('orders-dr');
const KEY = 'event-source-mapping:billing-fn:billing';

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

const moved: MappingMove = {
  functionName: 'billing-fn',
  consumerGroup: 'billing',
  cluster: 'secondary',
  topic: 'primary.orders',
  ok: true,
  target: 'created',
  uuid: 'u-1',
  disabled: ['u-0'],
};

class Crash extends Error {}

function withMappings() {
  const h = failoverHarness(
    testConfig({
      eventSourceMappings: [
        {
          functionName: 'billing-fn',
          consumerGroup: 'billing',
          topic: 'orders',
          secrets: {
            primary: {
              clientCertificate: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:p-cert-Ab12',
            },
            secondary: {
              clientCertificate: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:s-cert-Ab12',
            },
          },
        },
      ],
    }),
  );
  const calls: Array<{ input: MoveMappingsInput; atRest: string; done: boolean }> = [];
  const moveMappings = async (input: MoveMappingsInput): Promise<MappingMove[]> => {
    const rest = await inspectAtRest(h.stores, paths);
    calls.push({
      input,
      atRest: rest.parameter.state === 'ok' ? `${rest.parameter.epoch}/${rest.parameter.cluster}` : 'not ok',
      done: input.done(KEY),
    });
    if (input.done(KEY)) return [];
    await input.onMoved(KEY, moved);
    return [moved];
  };
  return { h, calls, deps: { ...h.deps, moveMappings } };
}

describe('failover: the event source mapping step', () => {
  it('moves the mappings after the stores hold the new epoch, under its claim, and reports them', async () => {
    const { h, calls, deps } = withMappings();

    const result = await runFailover(manual(), deps);

    expect(result.status).toBe('switched');
    const epoch = result.status === 'switched' ? result.epoch : -1;
    expect(calls).toHaveLength(1);
    expect(calls[0]?.atRest).toBe(`${epoch}/secondary`);
    expect(calls[0]?.input.claim.record.epoch).toBe(epoch);
    expect(calls[0]?.input.target).toMatchObject({
      cluster: 'secondary',
      bootstrapServers: ['127.0.0.1:29092'],
    });
    // The parameter's format 2 routes by rule: the mapping reads the mirrored topic.
    const routing = calls[0]?.input.target.routing;
    expect(routing && routeByRule(routing, 'orders').subscribe).toEqual(['primary.orders']);
    expect(result.status === 'switched' && result.eventSourceMappings).toEqual([moved]);
    const steps = (await h.journal.latest())?.steps.map((s) => s.name) ?? [];
    expect(steps.indexOf(KEY)).toBeGreaterThan(steps.indexOf('plain-parameters'));
    expect(steps.indexOf(KEY)).toBeLessThan(steps.indexOf('notify'));
  });

  it('resumed after a crash that followed the step, does not move a journaled mapping again', async () => {
    const { h, calls, deps } = withMappings();
    const journal: RunJournal = {
      latest: () => h.journal.latest(),
      begin: (runId, plan, holder) => h.journal.begin(runId, plan, holder),
      recordStep: async (runId, step, result, holder) => {
        await h.journal.recordStep(runId, step, result, holder);
        if (step === KEY) throw new Crash(`crashed after ${step}`);
      },
      finish: (runId, status, outcome, holder) => h.journal.finish(runId, status, outcome, holder),
    };
    const dying = {
      ...deps,
      journal,
      lock: { ...h.lock, acquire: h.lock.acquire.bind(h.lock), release: async () => {} },
    };
    await expect(runFailover(manual({ invocationId: 'req-dead' }), dying)).rejects.toBeInstanceOf(Crash);
    h.clock.t += h.lock.leaseMs + 1;

    const result = await runFailover(manual({ invocationId: 'req-2' }), deps);

    expect(calls.map((c) => c.done)).toEqual([false, true]);
    expect(result.status === 'switched' && result.eventSourceMappings).toEqual([moved]);
  });

  it('leaves the result without mappings when none are configured', async () => {
    const h = failoverHarness();

    const result = await runFailover(manual(), h.deps);

    expect(result.status).toBe('switched');
    expect(result).not.toHaveProperty('eventSourceMappings');
  });
});
