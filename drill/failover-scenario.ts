import { kafkaClient } from '#harness/kafka-clients.ts';
import { describeError } from '#shared/errors.ts';
import { lostRecords, readNumbers } from './books.ts';
import {
  atRestChecks,
  duplicatesWithinBudget,
  type FailoverObserved,
  failoverChecks,
  isTorn,
  switchesSince,
} from './checks.ts';
import { QUARANTINE, TOPIC } from './drill-config.ts';
import { driveFailback } from './failback-driver.ts';
import { duplicatesBudget, type ScenarioRow } from './scenarios.ts';
import { type DrillStage, epochOf, faultContext } from './stage.ts';
import { failoverTimes, rtoTarget } from './summary.ts';
import { sleep, until } from './wait.ts';

/**
 * A row that expects a failover: inject the fault, wait for the switch and for the clients to follow, undo the
 * fault, fail back phase by phase, count the books, judge.
 */
export async function runFailoverScenario(
  stage: DrillStage,
  row: ScenarioRow,
  expect: { checkAtRest?: boolean },
): Promise<void> {
  const epochBefore = epochOf(await stage.readActive()) ?? 0;
  const faultAtMs = Date.now();
  await row.inject(faultContext(stage));
  const epochAfterFailover = await followFailover(stage, faultAtMs);
  stage.summary.switches = switchesSince(await stage.activeEpochHistory(), epochBefore);
  await row.undo(faultContext(stage));
  await failBack(stage);
  const observed = await observeEnd(stage, epochAfterFailover);
  for (const check of failoverChecks) stage.record.judge(check, observed);
  stage.record.judge(duplicatesWithinBudget, {
    duplicates: stage.summary.duplicatesConsumed,
    budget: duplicatesBudget(row, stage.summary.mirrorTiming),
  });
  if (expect.checkAtRest) for (const check of atRestChecks) stage.record.judge(check, stage.summary);
  stage.record.target(rtoTarget(stage.summary));
}

/** Detection, switch and the clients following; the figures; the epoch once failover settled. */
async function followFailover(stage: DrillStage, faultAtMs: number): Promise<number | undefined> {
  const { detection, workload, record, summary } = stage;
  await until(
    'the failover switch',
    (summary.detectionWindowSeconds + 90) * 1000,
    () => detection.switchedAtMs,
  );
  const followed = await until('the first record acknowledged by the secondary', 60_000, () =>
    workload.firstAckOn('secondary', faultAtMs),
  );
  record.mark('first record acknowledged by the secondary: clients followed', followed.atMs);
  Object.assign(
    summary,
    failoverTimes({
      faultMs: faultAtMs,
      detectedMs: detection.detectedAtMs,
      switchedMs: detection.switchedAtMs,
      followedMs: followed.atMs,
    }),
  );
  await sleep(8_000);
  await detection.failoverInFlight;
  const epochAfterFailover = epochOf(await stage.readActive());
  summary.ackedOnPrimary = [...workload.acks.values()].filter((a) => a.cluster === 'primary').length;
  // Acknowledged by the primary, never seen by the consumer before failback: the RPO plus what it has not reached.
  summary.missingAfterFailover = workload.unseen((a) => a.cluster === 'primary').length;
  summary.rpoRecords = await rpoRecords(stage);
  record.mark(
    `before failback: ${summary.missingAfterFailover} records acknowledged by the primary not yet consumed, ${summary.rpoRecords} not on the secondary (RPO)`,
  );
  return epochAfterFailover;
}

/**
 * The RPO in records: acknowledged by the primary and missing from MM2's copy on the secondary. Read once failover
 * settled: the failed primary sends MM2 nothing more, so that copy is what the secondary held at the switch.
 */
async function rpoRecords({ harness, workload }: DrillStage): Promise<number> {
  const { direction } = harness.info.mirror;
  const copy =
    direction.policy === 'default' ? `${direction.source.alias}${direction.separator}${TOPIC}` : TOPIC;
  const onSecondary = new Set(await readNumbers(kafkaClient(harness.info, 'secondary'), copy));
  return [...workload.acks.values()].filter((a) => a.cluster === 'primary' && !onSecondary.has(a.n)).length;
}

/** The operator's failback, then the application stops producing and the consumer drains. */
export async function failBack(stage: DrillStage): Promise<void> {
  const { harness, functions, workload, record } = stage;
  // The operator's Kafka Connect cluster that writes into the primary: it needs the primary to run.
  await harness.startReverseWorker();
  record.mark('reverse Connect worker (bootstrap: the primary) running, no connectors yet');
  await driveFailback({
    failback: functions.failback,
    mark: (label) => record.mark(label),
    sleep,
    now: Date.now,
  });
  const backAtMs = Date.now();
  const back = await until('the first record acknowledged by the primary after failback', 60_000, () =>
    workload.firstAckOn('primary', backAtMs - 30_000),
  );
  record.mark('failback complete: clients write to the primary again', back.atMs);
  await sleep(5_000);
  await Promise.all([workload.stopProducing(), stage.secondaryWorkload?.stopProducing()]);
  record.mark(
    `producer stopped after ${workload.produced} acknowledged records (${workload.failedSends.length} sends reported failed)`,
  );
  await workload.consumedAll(90_000).catch((e: unknown) => record.say(`  ${describeError(e)}`));
}

/** The books (every acknowledged record on the primary or in quarantine), the end state, the status answer. */
export async function observeEnd(
  stage: DrillStage,
  epochAfterFailover: number | undefined,
): Promise<FailoverObserved> {
  const { harness, functions, detection, workload, summary } = stage;
  const onPrimary = new Set(await readNumbers(kafkaClient(harness.info, 'primary'), TOPIC));
  const quarantined = await readNumbers(kafkaClient(harness.info, 'secondary'), QUARANTINE);
  // Active-active: what the primary's producers wrote on the secondary during the outage stays in its topic there
  // (the secondary's own data from then on), as does everything the secondary's application wrote.
  const kept =
    summary.mode === 'active-active'
      ? await readNumbers(kafkaClient(harness.info, 'secondary'), TOPIC)
      : quarantined;
  const acknowledged = [...workload.acks.keys(), ...(stage.secondaryWorkload?.acks.keys() ?? [])];
  const lost = lostRecords(acknowledged, onPrimary, new Set([...quarantined, ...kept]));
  summary.duplicatesConsumed = workload.duplicates;
  summary.duplicatesByEpoch = Object.fromEntries(workload.duplicatesByEpoch);
  summary.failback = {
    ok: lost.length === 0,
    salvaged: quarantined.length,
    lost: lost.length,
    duplicates: workload.duplicates,
  };
  const final = await stage.readActive();
  if (final.kind === 'consistent') summary.epochs.push(final.config.epoch);
  summary.tornAtRest = isTorn(await stage.atRest());
  const reported = await functions.status();
  return {
    failoverInvocations: detection.failoverInvocations,
    switches: detection.switches,
    epochAfterFailover,
    finalCluster: final.kind === 'consistent' ? final.config.cluster : final.kind,
    reported,
    lost,
    acknowledged: acknowledged.length,
    unseen: workload.unseen().length + (stage.secondaryWorkload?.unseen().length ?? 0),
  };
}
