import {
  type Notification,
  type RegionOutcome,
  regionOutcomeText,
  subjectLine,
} from '../notify/notification.ts';
import type { GroupOffsetOutcome } from '../offsets/offset-translation.ts';
import type { FailoverPlan, TopicRpo } from './plan.ts';
import type { Finding } from './preflight.ts';

/**
 * Failover's messages to operators. Built only from the plan (which holds no secret) and from outcomes (offsets,
 * regions, timings), so no credential can reach a notification.
 */

export interface SwitchSummary {
  plan: FailoverPlan;
  resumed: boolean;
  /** Milliseconds from the start of the run to the home region's configuration being switched. */
  switchMs: number;
  durationMs: number;
  groups: GroupOffsetOutcome[];
  regions: RegionOutcome[];
}

export function switchedNotification(s: SwitchSummary): Notification {
  const { plan } = s;
  const lines = [
    `Deployment ${plan.deployment}: clients were switched from ${plan.from.cluster} (${plan.from.alias}) to ${plan.to.cluster} (${plan.to.alias}).`,
    '',
    `Why:          ${plan.trigger.reason}`,
    `Who:          ${plan.trigger.requestedBy} (${plan.trigger.kind}${plan.trigger.force ? ', forced' : ''})`,
    `Epoch:        ${plan.from.epoch} -> ${plan.next.epoch}`,
    `Bootstrap:    ${plan.to.bootstrapServers.join(',')}`,
    `Switched in:  ${s.switchMs} ms (all steps: ${s.durationMs} ms)${s.resumed ? '; completed by a later invocation after an interruption' : ''}`,
    '',
    'Data left behind on the primary (RPO estimate, last measurement before the switch):',
    ...rpoLines(plan.rpo),
    `  all topics: ${plan.rpoTotal.backlogRecords === null ? 'unknown' : `${plan.rpoTotal.backlogRecords} records`}, ${plan.rpoTotal.lagSeconds === null ? 'unknown' : `${plan.rpoTotal.lagSeconds} s`}${plan.rpoTotal.measuredAt ? ` (measured ${plan.rpoTotal.measuredAt})` : ''}`,
    '',
    'Consumer groups on the secondary:',
    ...groupLines(s.groups),
  ];
  if (s.regions.length > 0) {
    lines.push('', 'Extra regions:');
    for (const r of s.regions) lines.push(`  ${r.region}: ${regionOutcomeText(r)}`);
  }
  if (plan.warnings.length > 0) lines.push('', 'Warnings:', ...plan.warnings.map((w) => `  - ${w}`));
  const details = {
    event: 'failover.switched',
    deployment: plan.deployment,
    from: plan.from,
    to: { cluster: plan.to.cluster, alias: plan.to.alias },
    epoch: plan.next.epoch,
    reason: plan.trigger.reason,
    requestedBy: plan.trigger.requestedBy,
    switchMs: s.switchMs,
    durationMs: s.durationMs,
    resumed: s.resumed,
    rpo: plan.rpo,
    rpoTotal: plan.rpoTotal,
    groups: s.groups.map((g) => ({ group: g.group, outcome: g.outcome, partitions: g.committed.length })),
    regions: s.regions,
  };
  lines.push('', 'Details (JSON):', JSON.stringify(details));
  return {
    subject: subjectLine(
      `[mm2-failover] ${plan.deployment}: switched to ${plan.to.cluster} (epoch ${plan.next.epoch})`,
    ),
    text: lines.join('\n'),
    attributes: { event: 'failover.switched', deployment: plan.deployment },
  };
}

export function refusedNotification(input: {
  deployment: string;
  reason: string;
  requestedBy: string;
  refusals: Finding[];
  warnings: Finding[];
}): Notification {
  const lines = [
    `Deployment ${input.deployment}: an automatic failover was requested and refused. Nothing was changed.`,
    '',
    `Why it was requested: ${input.reason}`,
    `Requested by:         ${input.requestedBy}`,
    '',
    'Refused because:',
    ...input.refusals.map((r) => `  - [${r.code}] ${r.message}`),
  ];
  if (input.warnings.length > 0) {
    lines.push('', 'Also noted:', ...input.warnings.map((w) => `  - [${w.code}] ${w.message}`));
  }
  lines.push(
    '',
    'To fail over by hand anyway, invoke the failover function with',
    `  { "action": "failover", "reason": "...", "requestedBy": "...", "force": true }`,
    'after a dry run ("dryRun": true) to see the plan.',
  );
  return {
    subject: subjectLine(`[mm2-failover] ${input.deployment}: automatic failover refused`),
    text: lines.join('\n'),
    attributes: { event: 'failover.refused', deployment: input.deployment },
  };
}

function rpoLines(rpo: TopicRpo[]): string[] {
  if (rpo.length === 0) return ['  (no topics)'];
  return rpo.map((t) => {
    const records = t.backlogRecords === null ? 'unknown' : `${t.backlogRecords} records`;
    const seconds = t.lagSeconds === null ? 'unknown' : `${t.lagSeconds} s`;
    return `  ${t.topic}: ${records}, ${seconds}${t.measuredAt ? ` (measured ${t.measuredAt})` : ''}`;
  });
}

function groupLines(groups: GroupOffsetOutcome[]): string[] {
  if (groups.length === 0) return ['  (no consumer groups configured)'];
  const say: Record<GroupOffsetOutcome['outcome'], (g: GroupOffsetOutcome) => string> = {
    committed: (g) => `offsets translated and committed on ${g.committed.length} partition(s)`,
    'up-to-date': () => "already at or past the translated offsets (MM2's offset sync)",
    'group-active': () => 'has active members on the secondary; left as is',
    'no-checkpoints': () => 'no MM2 checkpoints found; consumers start from their auto.offset.reset',
    error: (g) => `NOT translated (${g.error ?? 'error'})`,
  };
  return groups.map((g) => `  ${g.group}: ${say[g.outcome](g)}`);
}
