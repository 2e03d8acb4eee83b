import { describeError } from '#shared/errors.ts';
import {
  alarmFired,
  alarmNeverFired,
  consumerReadEverything,
  duplicatesWithinBudget,
  isTorn,
  noFailover,
  probeSawDown,
  switchesSince,
} from './checks.ts';
import { watchObservation } from './observations.ts';
import type { Expectation, ScenarioRow } from './scenarios.ts';
import { type DrillStage, epochOf, faultContext } from './stage.ts';
import { sleep, until } from './wait.ts';

type NoFailover = Extract<Expectation, { outcome: 'no-failover' }>;

/**
 * A row whose fault must not cause a failover: inject it, watch (for its alarm, if it should raise one, and its
 * observations), undo it, check that nothing switched, then drain the application and check that the consumer
 * read everything.
 */
export async function runNoFailoverScenario(
  stage: DrillStage,
  row: ScenarioRow,
  expect: NoFailover,
): Promise<void> {
  const { detection, workload, record, summary } = stage;
  const epochBefore = epochOf(await stage.readActive()) ?? 0;
  const faultAtMs = Date.now();
  await row.inject(faultContext(stage));
  const watching = (expect.observe ?? []).map((o) => watchObservation(o, stage));
  await watch(stage, expect, faultAtMs);
  for (const w of watching) record.judge(await w.finish(), undefined);
  if (expect.seenDown) {
    const { cluster, alarmNeverFired: id } = expect.seenDown;
    const downDatapoints = detection.points.filter(
      (p) =>
        p.metricName === 'ClusterUp' && p.cluster === cluster && p.value === 0 && p.timestampMs >= faultAtMs,
    ).length;
    record.judge(probeSawDown, { cluster, downDatapoints });
    record.judge(alarmNeverFired(`${id} never in ALARM`, id), { fired: detection.fired });
  }
  await row.undo(faultContext(stage));
  await detection.failoverInFlight;
  const finalEpoch = epochOf(await stage.readActive());
  if (finalEpoch !== undefined) summary.epochs.push(finalEpoch);
  record.judge(noFailover, { failoverInvocations: detection.failoverInvocations, finalEpoch });
  summary.switches = switchesSince(await stage.activeEpochHistory(), epochBefore);
  summary.tornAtRest = isTorn(await stage.atRest());
  await sleep(3_000);
  await workload.stopProducing();
  await workload.consumedAll(90_000).catch((e: unknown) => record.say(`  ${describeError(e)}`));
  summary.ackedOnPrimary = [...workload.acks.values()].filter((a) => a.cluster === 'primary').length;
  summary.duplicatesConsumed = workload.duplicates;
  summary.duplicatesByEpoch = Object.fromEntries(workload.duplicatesByEpoch);
  summary.missingAfterFailover = workload.unseen().length;
  record.judge(consumerReadEverything, { unseen: workload.unseen().length });
  record.judge(duplicatesWithinBudget, { duplicates: workload.duplicates, budget: row.duplicatesBudget });
}

/** Wait for the expected alarm, hold for the row's watch, and judge the alarm while the fault still holds. */
async function watch(
  { detection, record, summary }: DrillStage,
  expect: NoFailover,
  faultAtMs: number,
): Promise<void> {
  const window = summary.detectionWindowSeconds;
  const alarm = expect.alarm;
  if (alarm) {
    await until(alarm.what, alarm.waitSeconds(window) * 1000, () =>
      alarm.anyOf.some((id) => detection.fired.has(id)) ? true : undefined,
    ).catch((e: unknown) => record.say(`  ${describeError(e)}`));
  }
  const watchMs = expect.watch.seconds(window) * 1000;
  await sleep(expect.watch.from === 'fault' ? Math.max(0, watchMs - (Date.now() - faultAtMs)) : watchMs);
  if (alarm) record.judge(alarmFired(alarm.check, alarm.anyOf), { fired: detection.fired });
}
