import { type Notification, regionOutcomeText, subjectLine } from '../notify/notification.ts';
import type { ExecutablePhase } from './payload.ts';
import type { FailbackState } from './state.ts';

/**
 * What operators receive from failback (the same SNS topic and message shape as failover). Built from the
 * journal state only (counts, offsets, epochs, per-region outcomes), which holds no credential.
 */
export function failbackNotification(
  event: 'switched' | 'completed',
  deployment: string,
  state: FailbackState,
  ran: ReadonlyArray<{ phase: ExecutablePhase; summary: unknown }>,
): Notification {
  const salvaged = Object.values(state.salvage?.partitions ?? {}).reduce((n, p) => n + p.copied, 0);
  const purged = Object.values(state.purge?.partitions ?? {}).reduce((n, p) => n + p.deleted, 0);
  const epochs = state.switch?.epochs ?? [];
  const lines = [
    event === 'switched'
      ? `Failback ${state.runId} of ${deployment} moved the clients back to the primary (epochs ${epochs.join(', ')}).`
      : `Failback ${state.runId} of ${deployment} completed.`,
    `Requested by ${state.requestedBy}: ${state.reason}`,
    `Mode: ${state.mode}; started ${state.startedAt}${state.finishedAt ? `, finished ${state.finishedAt}` : ''}.`,
    `Phases done: ${state.completed.join(' → ') || 'none'}; this invocation ran ${ran.map((r) => r.phase).join(', ') || 'nothing'}.`,
  ];
  if (state.mode === 'active-passive') {
    lines.push(
      `Salvaged into ${state.salvage?.quarantineTopic ?? 'quarantine'}: ${salvaged} record(s) the secondary never received.`,
      `Purged on the primary: ${purged} stale record(s).`,
    );
  }
  for (const g of state.switch?.groups ?? []) {
    lines.push(
      `Group ${g.group}: ${g.committed} partition offset(s) committed on the primary${g.skipped ? ` (${g.skipped})` : ''}.`,
    );
  }
  const regions = state.switch?.regions ?? [];
  for (const r of regions) {
    lines.push(`Extra region ${r.region}, epoch ${r.epoch} (stage ${r.stage}/2): ${regionOutcomeText(r)}.`);
  }
  const behind = [...new Set(regions.filter((r) => r.stage === 2 && !r.ok).map((r) => r.region))];
  if (behind.length > 0) {
    lines.push(
      `Clients in ${behind.join(', ')} still read an earlier epoch there: copy the active parameter and secret from the home region by hand.`,
    );
  }
  if (state.restore) {
    lines.push(
      `Forward mirror restarted; records reaching the secondary twice: ${state.restore.duplicatesOnSecondary ?? 'unknown'}${
        state.restore.secondaryRebuilt ? ' (the secondary was rebuilt from the primary)' : ''
      }.`,
    );
  }
  const subject = `mm2-failover ${deployment}: failback ${event === 'switched' ? 'switched clients to the primary' : 'completed'}`;
  return {
    subject: subjectLine(subject),
    text: lines.join('\n'),
    attributes: { event: `failback-${event}`, deployment },
  };
}
