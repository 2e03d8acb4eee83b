import { parseOrThrow } from '../config/validate.ts';
import type { RunJournal } from '../store/dynamo-journal.ts';
import { type FailbackState, failbackStateSchema } from './state.ts';

/**
 * Failback's progress in the same journal (and under the same lock) as failover: one run per failback, kind
 * `failback`. The run's `plan` is the state at the start; the step `state` is overwritten with the newest state
 * after every unit of progress, and each finished phase also records a `phase:<name>` step with its summary for
 * the audit trail. Every write renews the lock's lease, so a holder that lost the lock can record nothing.
 */
type JournalView =
  | { kind: 'none' }
  | { kind: 'in-progress'; state: FailbackState }
  | { kind: 'finished'; state: FailbackState; status: 'completed' | 'abandoned' };

export interface FailbackJournal {
  load(): Promise<JournalView>;
  begin(state: FailbackState, holder: string): Promise<void>;
  save(state: FailbackState, holder: string): Promise<void>;
  recordPhase(state: FailbackState, phase: string, summary: unknown, holder: string): Promise<void>;
  finish(state: FailbackState, outcome: unknown, holder: string): Promise<void>;
  /** Close the run as abandoned, with what it leaves behind as its outcome. */
  abandon(state: FailbackState, outcome: unknown, holder: string): Promise<void>;
}

/** The failback journal over the shared {@link RunJournal} (DynamoDB in production, moto in tests). */
export function failbackJournal(journal: RunJournal): FailbackJournal {
  const parse = (value: unknown): FailbackState =>
    parseOrThrow(failbackStateSchema, value, 'failback journal state');
  return {
    async load() {
      const entry = await journal.latest();
      if (!entry) return { kind: 'none' };
      const latestState = [...entry.steps].reverse().find((s) => s.name === 'state')?.result ?? entry.plan;
      const state = parse(latestState);
      if (entry.status === 'in-progress') return { kind: 'in-progress', state };
      return { kind: 'finished', state, status: entry.status };
    },
    begin: (state, holder) => journal.begin(state.runId, parse(state), holder),
    save: (state, holder) => journal.recordStep(state.runId, 'state', parse(state), holder),
    async recordPhase(state, phase, summary, holder) {
      await journal.recordStep(state.runId, 'state', parse(state), holder);
      await journal.recordStep(state.runId, `phase:${phase}`, summary, holder);
    },
    async finish(state, outcome, holder) {
      await journal.recordStep(state.runId, 'state', parse(state), holder);
      await journal.finish(state.runId, 'completed', outcome, holder);
    },
    abandon: (state, outcome, holder) => journal.finish(state.runId, 'abandoned', outcome, holder),
  };
}
