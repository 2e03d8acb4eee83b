import { writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Choice } from './model-scheduler.ts';
import { type Actor, runScenario, type Scenario } from './model-world.ts';

/**
 * The model-based test of the switch protocol: random schedules of concurrent failovers, repairs, credential
 * refreshes, probe cycles, client readers and hand edits, over the real code with fake stores, lock, journal and
 * epoch authority, with crashes, throttled and hung calls, late writes and leases running out (see model-world.ts
 * for the invariants). MODEL_RUNS raises the count (the bench runs 10,000); MODEL_SEED replays one seed;
 * MODEL_REPORT names a JSON file for the schedules run, their rate and any counterexample.
 */

const actorArb: fc.Arbitrary<Actor> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('failover' as const),
      attempts: fc.integer({ min: 1, max: 4 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('failback' as const),
      attempts: fc.integer({ min: 1, max: 5 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('refresh' as const), attempts: fc.integer({ min: 1, max: 4 }) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('repair' as const), attempts: fc.integer({ min: 1, max: 4 }) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('probe' as const), attempts: fc.integer({ min: 1, max: 4 }) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('reader' as const), polls: fc.integer({ min: 1, max: 4 }) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('hand-edit' as const),
      half: fc.constantFrom('parameter' as const, 'secret' as const),
      edit: fc.constantFrom('older' as const, 'other-cluster' as const, 'garbage' as const),
    }),
  },
);

const choiceArb: fc.Arbitrary<Choice> = fc.record({
  pick: fc.nat(7),
  fault: fc.oneof(
    { weight: 14, arbitrary: fc.constant('go' as const) },
    { weight: 1, arbitrary: fc.constant('crash' as const) },
    { weight: 1, arbitrary: fc.constant('throttle' as const) },
    { weight: 1, arbitrary: fc.constant('hang' as const) },
    { weight: 2, arbitrary: fc.constant('pause' as const) },
  ),
  tick: fc.oneof(
    { weight: 10, arbitrary: fc.constant(0 as const) },
    { weight: 2, arbitrary: fc.constant(1 as const) },
    { weight: 1, arbitrary: fc.constant(2 as const) },
    { weight: 1, arbitrary: fc.constant(3 as const) },
  ),
  land: fc.boolean(),
  hungLands: fc.boolean(),
});

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  start: fc.constantFrom('primary' as const, 'secondary' as const),
  // Two hand edits that move both halves to the other cluster write a configuration of their own, which no reader
  // can tell from a real one: a schedule holds at most one such edit.
  actors: fc
    .array(actorArb, { minLength: 1, maxLength: 6 })
    .filter(
      (actors) => actors.filter((a) => a.kind === 'hand-edit' && a.edit === 'other-cluster').length <= 1,
    ),
  choices: fc.array(choiceArb, { maxLength: 160, size: 'medium' }),
  ending: fc.constantFrom('probe' as const, 'failover' as const),
});

const runs = Number(process.env.MODEL_RUNS ?? 500);
const seed = process.env.MODEL_SEED === undefined ? 20261121 : Number(process.env.MODEL_SEED);

describe('the switch protocol under random schedules (model)', () => {
  it(
    `keeps its invariants in ${runs} schedules with crashes, faults, expired leases and hand edits`,
    async () => {
      const started = performance.now();
      let schedules = 0;
      const failbackStages = { holdback: 0, final: 0 };
      let failure: { seed: number; path?: string; counterexample: unknown; error: string } | undefined;
      const result = await fc.check(
        fc.asyncProperty(scenarioArb, async (scenario) => {
          schedules++;
          const outcome = await runScenario(scenario);
          if (outcome.failbackStages.holdback) failbackStages.holdback++;
          if (outcome.failbackStages.final) failbackStages.final++;
          if (outcome.violations.length > 0) {
            throw new Error(
              `${outcome.violations.join('\n')}\nschedule (${outcome.steps} steps):\n  ${outcome.trace.join('\n  ')}`,
            );
          }
        }),
        { numRuns: runs, seed, endOnFailure: process.env.MODEL_SHRINK === '0' },
      );
      const elapsedMs = performance.now() - started;
      if (result.failed) {
        failure = {
          seed: result.seed,
          ...(result.counterexamplePath ? { path: result.counterexamplePath } : {}),
          counterexample: result.counterexample?.[0],
          error:
            result.errorInstance instanceof Error
              ? result.errorInstance.message
              : String(result.errorInstance),
        };
      }
      if (process.env.MODEL_REPORT) {
        writeFileSync(
          process.env.MODEL_REPORT,
          JSON.stringify({
            schedules: result.numRuns,
            executed: schedules,
            elapsedMs: Math.round(elapsedMs),
            schedulesPerSecond: Math.round((result.numRuns / elapsedMs) * 1000),
            violations: result.failed ? 1 : 0,
            failbackStages,
            ...(failure ? { counterexample: failure } : {}),
          }),
        );
      }
      expect(
        failure,
        failure === undefined
          ? ''
          : `seed ${failure.seed}, path ${failure.path}: replay with MODEL_SEED=${failure.seed}\nshrunk scenario: ${JSON.stringify(failure.counterexample)}\n${failure.error}`,
      ).toBeUndefined();
      // The failback actor must reach both of its stages in some schedules, or its invariants were never at stake.
      if (runs >= 100) {
        expect(failbackStages.holdback, 'schedules with a held-back first stage').toBeGreaterThan(0);
        expect(failbackStages.final, "schedules with failback's second stage").toBeGreaterThan(0);
      }
    },
    // The bench's 10,000 schedules on a loaded machine: about 15 ms a schedule at worst.
    Math.max(120_000, runs * 15),
  );
});
