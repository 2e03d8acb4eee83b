import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { DeploymentConfig } from '#shared/config/schema.ts';

/**
 * The product's Lambda functions, in a fixed order. The stack creates a function for each one whose
 * `functions/<name>/handler.ts` exists, so it can be deployed (and tested) while some are still being written.
 */
export const functionNames = ['probe', 'failover', 'failback', 'status'] as const;
export type FunctionName = (typeof functionNames)[number];

export interface FunctionSpec {
  name: FunctionName;
  description: string;
  memoryMb: number;
  timeoutSeconds: number;
  /** 1 serializes the function: two switches must never run side by side (the DynamoDB lock is the second guard). */
  reservedConcurrency?: number;
  /** Async retries (EventBridge targets, on-demand `Event` invocations). */
  retryAttempts: number;
}

/** The probe runs once a minute (EventBridge's finest schedule) and loops its cycles inside the invocation. */
export const probeScheduleSeconds = 60;

/** Lambda's ceiling for one invocation. */
const lambdaMaxTimeoutSeconds = 900;

/**
 * The probe loop starts a cycle only while a whole cycle deadline plus its 2 s margin still fits in the remaining
 * time (shared/health/probe-loop.ts). With a timeout of one schedule period plus one cycle deadline, its last
 * cycle starts just before the minute is over and ends before the timeout: consecutive invocations (started on
 * time by EventBridge) neither overlap nor leave a gap.
 */
export function probeTimeoutSeconds(config: DeploymentConfig): number {
  return probeScheduleSeconds + Math.ceil(config.detection.cycleDeadlineMs / 1000);
}

/**
 * Failover re-probes the primary `confirmProbes` times (each bounded by the cycle deadline), then translates
 * offsets and writes a handful of parameters and secrets: minutes, not seconds. 5 minutes is the floor; a
 * slower confirmation policy gets its confirmation time plus two minutes, never more than Lambda allows.
 */
export function failoverTimeoutSeconds(config: DeploymentConfig): number {
  const d = config.detection;
  const confirmSeconds = Math.ceil((d.confirmProbes * (d.cycleDeadlineMs + d.confirmIntervalMs)) / 1000);
  return Math.min(lambdaMaxTimeoutSeconds, Math.max(300, confirmSeconds + 120));
}

export function functionSpecs(config: DeploymentConfig): Record<FunctionName, FunctionSpec> {
  return {
    probe: {
      name: 'probe',
      description: `mm2-failover ${config.name}: probes both clusters and MM2 every ${config.detection.probeIntervalSeconds} s`,
      memoryMb: 512,
      timeoutSeconds: probeTimeoutSeconds(config),
      // A retried probe run would report a minute that has passed; the next scheduled run comes anyway.
      retryAttempts: 0,
    },
    failover: {
      name: 'failover',
      description: `mm2-failover ${config.name}: moves clients to the secondary (alarm-triggered or on demand)`,
      memoryMb: 1024,
      timeoutSeconds: failoverTimeoutSeconds(config),
      reservedConcurrency: 1,
      // A crashed or throttled run resumes from its journal; the lock makes a retry harmless.
      retryAttempts: 2,
    },
    failback: {
      name: 'failback',
      description: `mm2-failover ${config.name}: resumable, phased failback to the primary (manual)`,
      memoryMb: 1024,
      // Phases are journaled, so a long failback is several invocations of at most Lambda's 15 minutes.
      timeoutSeconds: lambdaMaxTimeoutSeconds,
      reservedConcurrency: 1,
      retryAttempts: 0,
    },
    status: {
      name: 'status',
      description: `mm2-failover ${config.name}: reports the active cluster, last probe and journal`,
      memoryMb: 256,
      timeoutSeconds: 30,
      retryAttempts: 0,
    },
  };
}

/** `functions/<name>/handler.ts` for each function that exists under `projectRoot`, in catalog order. */
export function discoverFunctionEntries(projectRoot: string): Partial<Record<FunctionName, string>> {
  const entries: Partial<Record<FunctionName, string>> = {};
  for (const name of functionNames) {
    const entry = join(projectRoot, 'functions', name, 'handler.ts');
    if (existsSync(entry)) entries[name] = entry;
  }
  return entries;
}
