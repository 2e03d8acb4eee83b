import { RefusedError } from '../errors.ts';
import type { FailbackJournal } from './journal.ts';
import type { FailbackState } from './state.ts';

/**
 * Abandoning a failback: the run is journaled as abandoned and the next failback starts afresh from whatever is
 * active then. Nothing is undone (undoing could itself lose data); instead the answer lists what the run leaves
 * behind, phase by phase, for the operator to put right by hand or with a new failback.
 */

export async function abandonFailback(
  journal: FailbackJournal,
  holder: string,
  reason: string,
): Promise<{ state: FailbackState; leftBehind: string[] }> {
  const view = await journal.load();
  if (view.kind !== 'in-progress') {
    throw new RefusedError('failback --abandon', [
      { code: 'nothing-to-abandon', message: 'no failback is in progress: there is nothing to abandon' },
    ]);
  }
  const leftBehind = leftBehindBy(view.state);
  await journal.abandon(view.state, { reason, leftBehind }, holder);
  return { state: view.state, leftBehind };
}

/** What each phase changed that abandoning leaves as it is. */
function leftBehindBy(state: FailbackState): string[] {
  const left: string[] = [];
  const salvage = state.salvage;
  if (salvage?.forwardStopped && !state.restore?.forwardStarted) {
    left.push(
      'the forward mirror (primary → secondary) is stopped: start it again when the primary is the source',
    );
  }
  if (salvage !== undefined) {
    const copied = Object.values(salvage.partitions).reduce((n, p) => n + p.copied, 0);
    if (copied > 0) {
      left.push(
        `${copied} salvaged record(s) stay in the quarantine topic ${salvage.quarantineTopic} on the secondary`,
      );
    }
  }
  if (state.reverse?.started && !state.restore?.reverseStopped) {
    left.push(
      'the reverse mirror (secondary → primary) is running: remove it before the forward mirror runs again',
    );
  }
  if (state.purge !== undefined) {
    const deleted = Object.values(state.purge.partitions).filter((p) => p.done);
    if (deleted.length > 0) {
      left.push(
        `the primary's stale records were deleted in ${deleted.length} partition(s) (below the offsets in the journal)`,
      );
    }
  }
  const stages = state.switch?.stagesWritten ?? 0;
  if (stages === 1) {
    left.push(
      `clients are split: stage 1 of the switch (epoch ${state.startEpoch + 1}) moved one role to the primary`,
    );
  } else if (stages === 2) {
    left.push(`clients were switched back to the primary (epoch ${state.startEpoch + 2})`);
  }
  if (left.length === 0) left.push('nothing: the run changed nothing yet');
  return left;
}
