import type { AtRest } from '#shared/switch/at-rest.ts';

/**
 * The drill's checks, each a name and a judgement of what the run observed. A scenario row's expectation decides
 * which run; the scenario's steps gather the observations and record the verdicts. Pure, so they are unit tested
 * without a harness.
 */

interface Verdict {
  ok: boolean;
  detail: string;
}

export interface Check<Observed> {
  name: string;
  judge(observed: Observed): Verdict;
}

/** What the status function answers, as far as the drill reads it. */
export interface StatusView {
  active: { cluster?: string; epoch?: number };
  /** The last probe's verdicts (`{ error }` when it could not be read, `null` before the first probe). */
  lastProbe?: { clusters?: Partial<Record<'primary' | 'secondary', { verdict?: string }>> } | null;
  failover: { status?: string } | null;
  failback: { status?: string } | null;
  /** The last planned switchover's run. */
  planned?: { status?: string } | null;
}

/** What a failover scenario observed at its end, after failback and the drain. */
export interface FailoverObserved {
  failoverInvocations: number;
  /** Invocations that answered `switched` (the probe's trigger and the alarm may both invoke). */
  switches: number;
  /** The active epoch read once failover settled. */
  epochAfterFailover: number | undefined;
  /** The active cluster at the end, or how the read failed (`absent`, `torn`). */
  finalCluster: string;
  reported: StatusView;
  lost: readonly number[];
  acknowledged: number;
  unseen: number;
}

/** Failover is one switch (epoch 1); failback's switch moves consumers and producers in two fenced stages. */
const exactlyOneFailover: Check<
  Pick<FailoverObserved, 'failoverInvocations' | 'switches' | 'epochAfterFailover'>
> = {
  name: 'exactly one failover switch',
  judge: (o) => ({
    ok: o.switches === 1 && o.epochAfterFailover === 1,
    detail: `${o.switches} switch(es) of ${o.failoverInvocations} failover invocation(s), epoch ${o.epochAfterFailover} after it`,
  }),
};

const clientsBackOnPrimary: Check<Pick<FailoverObserved, 'finalCluster'>> = {
  name: 'failback returned clients to the primary',
  judge: (o) => ({ ok: o.finalCluster === 'primary', detail: `active: ${o.finalCluster}` }),
};

/** What an operator would ask next: the status function's view of the same end state. */
const statusReportsEndState: Check<Pick<FailoverObserved, 'reported'>> = {
  name: 'status function reports the end state',
  judge: ({ reported: r }) => ({
    ok:
      r.active.cluster === 'primary' &&
      r.failover?.status === 'completed' &&
      r.failback?.status === 'completed',
    detail: `active ${r.active.cluster} epoch ${r.active.epoch}, failover ${r.failover?.status}, failback ${r.failback?.status}`,
  }),
};

/** The books: every acknowledged record is on the primary or in quarantine on the secondary. */
const noAcknowledgedRecordLost: Check<Pick<FailoverObserved, 'lost' | 'acknowledged'>> = {
  name: 'no acknowledged record lost',
  judge: (o) => ({
    ok: o.lost.length === 0,
    detail: `${o.lost.length} lost of ${o.acknowledged}${o.lost.length ? `: ${o.lost.slice(0, 10).join(', ')}` : ''}`,
  }),
};

export const consumerReadEverything: Check<Pick<FailoverObserved, 'unseen'>> = {
  name: 'consumer read every acknowledged record',
  judge: (o) => ({ ok: o.unseen === 0, detail: `${o.unseen} unseen` }),
};

/** The checks of a scenario that fails over and back, in the order they are reported. */
export const failoverChecks: readonly Check<FailoverObserved>[] = [
  exactlyOneFailover,
  clientsBackOnPrimary,
  statusReportsEndState,
  noAcknowledgedRecordLost,
  consumerReadEverything,
];

export const noFailover: Check<{ failoverInvocations: number; finalEpoch: number | undefined }> = {
  name: 'no failover',
  judge: (o) => ({
    ok: o.failoverInvocations === 0 && o.finalEpoch === 0,
    detail: `${o.failoverInvocations} failover invocations, epoch ${o.finalEpoch}`,
  }),
};

/** Every row states how many duplicates its story may cost; a regression (say, ~1,000 again) fails the run. */
export const duplicatesWithinBudget: Check<{ duplicates: number; budget: number }> = {
  name: 'duplicates within the budget',
  judge: (o) => ({
    ok: o.duplicates <= o.budget,
    detail: `${o.duplicates} consumed twice, budget ${o.budget}`,
  }),
};

/** A fault the probe must have seen: without it, "no failover" would also pass with a blind probe. */
export const probeSawDown: Check<{ cluster: string; downDatapoints: number }> = {
  name: 'the probe saw the faults (ClusterUp = 0)',
  judge: (o) => ({
    ok: o.downDatapoints > 0,
    detail: `${o.downDatapoints} ClusterUp = 0 datapoint(s) for the ${o.cluster}`,
  }),
};

/** An alarm that must stay OK through the fault (flapping: never down for a whole window). */
export function alarmNeverFired(name: string, id: string): Check<{ fired: ReadonlySet<string> }> {
  return {
    name,
    judge: ({ fired }) => ({
      ok: !fired.has(id),
      detail: `fired: ${[...fired].join(', ') || 'none'}`,
    }),
  };
}

/** The alert a fault must raise: passes when any of `anyOf` fired; the detail lists every alarm that did. */
export function alarmFired(name: string, anyOf: readonly string[]): Check<{ fired: ReadonlySet<string> }> {
  return {
    name,
    judge: ({ fired }) => ({
      ok: anyOf.some((id) => fired.has(id)),
      detail: [...fired].join(', ') || 'none',
    }),
  };
}

/** What a row that checks the stores at rest observed: the figures of the same names in the summary. */
export interface AtRestObserved {
  switches: number | null;
  tornAtRest: boolean | null;
}

/** The parameter's history says how many switches readers could have seen, whatever the invocations did. */
const exactlyOneSwitchInHistory: Check<AtRestObserved> = {
  name: "exactly one switch in the active parameter's history",
  judge: (o) => ({ ok: o.switches === 1, detail: `${o.switches ?? 'unknown'} epoch(s) moved through` }),
};

const nothingTornAtRest: Check<AtRestObserved> = {
  name: 'nothing torn at rest',
  judge: (o) => ({
    ok: o.tornAtRest === false,
    detail:
      o.tornAtRest === null
        ? 'not read'
        : o.tornAtRest
          ? 'parameter, secret and plain parameter disagree'
          : 'parameter, secret and plain parameter agree',
  }),
};

/** The checks of a failover row with `checkAtRest`, after {@link failoverChecks}. */
export const atRestChecks: readonly Check<AtRestObserved>[] = [exactlyOneSwitchInHistory, nothingTornAtRest];

/** The epochs above `fromEpoch` that the active parameter's history holds, each counted once. */
export function switchesSince(history: readonly number[], fromEpoch: number): number {
  return new Set(history.filter((epoch) => epoch > fromEpoch)).size;
}

/** Torn: the halves are not both readable, or disagree on the epoch or cluster, or the plain parameter differs. */
export function isTorn(atRest: AtRest): boolean {
  const { parameter, secret } = atRest;
  if (parameter.state !== 'ok' || secret.state !== 'ok') return true;
  return parameter.epoch !== secret.epoch || parameter.cluster !== secret.cluster || !atRest.plainMatches;
}
