// vitest global setup for the integration project: one harness (default policy, MM2 in Connect mode,
// mTLS listener, moto) for every test file, torn down after the run. Test files reach it through
// `harness()` in client.ts.
import type { TestProject } from 'vitest/node';
import { type Harness, startHarness } from '#harness/harness.ts';
import { fixRequestQueueTimer } from '#shared/kafka/request-queue-timer-fix.ts';

// The harness's own kafkajs clients run in this process, which imports nothing else of the product: without the
// fix every integration run's log would start with kafkajs' TimeoutNegativeWarning.
fixRequestQueueTimer();

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const harness: Harness = await startHarness({ log: (line) => console.error(`[harness] ${line}`) });
  project.provide('harness', harness.info);
  return () => harness.stop();
}
