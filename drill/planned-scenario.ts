import type { Check } from './checks.ts';
import { duplicatesWithinBudget, failoverChecks, switchesSince } from './checks.ts';
import { failBack, observeEnd } from './failover-scenario.ts';
import { scenarioRow } from './scenarios.ts';
import { type DrillStage, epochOf, faultContext } from './stage.ts';
import { sleep, until } from './wait.ts';

/** The goal for a planned switchover at the drill's load (issue 13): writes stopped at most this long. */
const WRITES_STOPPED_GOAL_MS = 5_000;

const plannedSwitched: Check<{ status: string; rpoRecords: number | undefined }> = {
  name: 'planned switchover switched with RPO 0',
  judge: (o) => ({
    ok: o.status === 'switched' && o.rpoRecords === 0,
    detail: `answer ${o.status}, rpoRecords ${o.rpoRecords ?? 'not reported'}`,
  }),
};

/**
 * The `planned` row: with both clusters up the operator runs the planned switchover; the application's producer
 * holds back while the primary is fenced and resumes on the secondary; then failback, the books and the same
 * end-state checks as a failover. The one switch is the planned one: an alarm-triggered failover on top of it
 * fails "exactly one failover switch".
 */
export async function runPlannedScenario(stage: DrillStage): Promise<void> {
  const { record, summary, functions, workload, detection } = stage;
  await scenarioRow('planned').inject(faultContext(stage));
  const epochBefore = epochOf(await stage.readActive()) ?? 0;
  const startedMs = Date.now();
  const answer = await functions.plannedSwitchover();
  record.mark(
    `planned switchover answered ${answer.status}: rpoRecords ${answer.rpoRecords ?? '-'}, writes stopped ${answer.writesStoppedMs ?? '-'} ms by the function's clock (drain ${answer.drain?.waitedMs ?? '-'} ms)`,
  );
  record.judge(plannedSwitched, { status: answer.status, rpoRecords: answer.rpoRecords });
  summary.rpoRecords = answer.rpoRecords ?? null;

  const followed = await until('the first record acknowledged by the secondary', 60_000, () =>
    workload.firstAckOn('secondary', startedMs),
  );
  record.mark('first record acknowledged by the secondary: clients followed', followed.atMs);
  // The application's view: its last write acknowledged by the primary to its first by the secondary.
  const lastOnPrimary = Math.max(
    ...[...workload.acks.values()]
      .filter((a) => a.cluster === 'primary' && a.atMs <= followed.atMs)
      .map((a) => a.atMs),
  );
  summary.writesStoppedMs = Number.isFinite(lastOnPrimary) ? followed.atMs - lastOnPrimary : null;
  summary.switchSeconds = (followed.atMs - startedMs) / 1000;
  record.target({
    name: `writes stopped at most ${WRITES_STOPPED_GOAL_MS / 1000} s`,
    met: summary.writesStoppedMs !== null && summary.writesStoppedMs <= WRITES_STOPPED_GOAL_MS,
    detail: `${summary.writesStoppedMs} ms (application's last primary ack to first secondary ack)`,
  });
  await sleep(8_000);
  const epochAfterSwitch = epochOf(await stage.readActive());
  summary.switches = switchesSince(await stage.activeEpochHistory(), epochBefore);
  summary.ackedOnPrimary = [...workload.acks.values()].filter((a) => a.cluster === 'primary').length;
  summary.missingAfterFailover = workload.unseen((a) => a.cluster === 'primary').length;

  await failBack(stage);
  const observed = await observeEnd(stage, epochAfterSwitch);
  // The planned switch is this run's one switch; alarm-triggered ones (there must be none) come on top.
  // ... and its run is the planned journal's, which the status function reports beside the failover's.
  const switchesMade = {
    ...observed,
    failoverInvocations: detection.failoverInvocations + 1,
    switches: detection.switches + 1,
    reported: { ...observed.reported, failover: observed.reported.planned ?? null },
  };
  for (const check of failoverChecks) record.judge(check, switchesMade);
  record.judge(duplicatesWithinBudget, {
    duplicates: summary.duplicatesConsumed,
    budget: scenarioRow('planned').duplicatesBudget,
  });
}
