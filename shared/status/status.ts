import { automationSchema } from '../config/contract.ts';
import type { DeploymentPaths } from '../config/paths.ts';
import type { DeploymentConfig } from '../config/schema.ts';
import { parseJsonOrThrow } from '../config/validate.ts';
import { describeError } from '../errors.ts';
import { probeResultSchema } from '../health/probe-result.ts';
import { lastReadiness, type StoredReadiness } from '../readiness/stored-readiness.ts';
import { readActiveOnce, type Stores } from '../store/active-config.ts';
import type { JournalEntry, RunJournal } from '../store/dynamo-journal.ts';

/**
 * What the `status` function (and `mm2-failover status`) reports: which cluster is active, the epoch, the last
 * probe and replication lag, and any failover or failback in progress. Every section is read on its own, so one
 * unreadable store shows as that section's `error` and the rest still answers.
 */

type Section<T> = T | { error: string };

interface ActiveSection {
  state: 'active' | 'switch-in-flight' | 'not-initialised';
  cluster?: 'primary' | 'secondary';
  alias?: string;
  epoch?: number;
  bootstrapServers?: string[];
  switchedAt?: string;
  reason?: string;
  /** During a staged failback switch: the role still on the other cluster until the next epoch. */
  holdback?: { role: 'producers' | 'consumers'; cluster: 'primary' | 'secondary'; alias: string };
  parameterEpoch?: number;
  secretEpoch?: number;
}

interface ProbeSection {
  at: string;
  ageSeconds: number;
  clusters: Record<'primary' | 'secondary', { verdict: string; reasons: string[]; brokersAlive: number }>;
  replication: Array<{
    source: string;
    target: string;
    lagSeconds?: number;
    backlogRecords?: number;
    reasons: string[];
  }>;
}

/** The probe's last complete standby readiness audit (shared/readiness), with its age. */
interface ReadinessSection {
  at: string;
  ageSeconds: number;
  ready: boolean;
  counts: StoredReadiness['counts'];
  findings: StoredReadiness['findings'];
  findingsOmitted?: number;
}

interface OperationSection {
  runId: string;
  status: string;
  startedAt: string;
  startedBy: string;
  updatedAt: string;
  completedAt?: string;
  /** Names of the completed steps (phases for a failback), in order. */
  steps: string[];
}

export interface DeploymentStatus {
  deployment: string;
  mode: DeploymentConfig['mode'];
  replicationPolicy: DeploymentConfig['replicationPolicy'];
  active: Section<ActiveSection>;
  automation: Section<'enabled' | 'disabled' | 'unset'>;
  lastProbe: Section<ProbeSection | null>;
  /** `null` until the probe has stored an audit. */
  readiness: Section<ReadinessSection | null>;
  failover: Section<OperationSection | null>;
  failback: Section<OperationSection | null>;
}

export interface StatusDeps {
  stores: Stores;
  paths: DeploymentPaths;
  failoverJournal: Pick<RunJournal, 'latest'>;
  failbackJournal: Pick<RunJournal, 'latest'>;
  now?: () => number;
}

async function section<T>(read: () => Promise<T>): Promise<Section<T>> {
  try {
    return await read();
  } catch (e: unknown) {
    return { error: describeError(e) };
  }
}

function operation(entry: JournalEntry | undefined): OperationSection | null {
  if (!entry) return null;
  // The failback journal re-records its `state` step after every unit of progress: list each name once.
  const steps = [...new Set(entry.steps.map((s) => s.name))].filter((n) => n !== 'state');
  return {
    runId: entry.runId,
    status: entry.status,
    startedAt: entry.startedAt,
    startedBy: entry.startedBy,
    updatedAt: entry.updatedAt,
    ...(entry.completedAt ? { completedAt: entry.completedAt } : {}),
    steps,
  };
}

export async function deploymentStatus(
  config: DeploymentConfig,
  deps: StatusDeps,
): Promise<DeploymentStatus> {
  const now = deps.now ?? Date.now;
  const readReadiness = lastReadiness(deps.stores.parameters, deps.paths);
  const [active, automation, lastProbe, readiness, failover, failback] = await Promise.all([
    section(async (): Promise<ActiveSection> => {
      const read = await readActiveOnce(deps.stores, deps.paths);
      if (read.kind === 'absent') return { state: 'not-initialised' };
      if (read.kind === 'torn') {
        return {
          state: 'switch-in-flight',
          parameterEpoch: read.parameterEpoch,
          secretEpoch: read.secretEpoch,
        };
      }
      const c = read.config;
      return {
        state: 'active',
        cluster: c.cluster,
        alias: c.alias,
        epoch: c.epoch,
        bootstrapServers: c.bootstrapServers,
        switchedAt: c.switchedAt,
        reason: c.reason,
        ...(c.holdback
          ? { holdback: { role: c.holdback.role, cluster: c.holdback.cluster, alias: c.holdback.alias } }
          : {}),
      };
    }),
    section(async () => {
      const p = await deps.stores.parameters.get(deps.paths.automationParameter);
      if (!p) return 'unset' as const;
      const parsed = automationSchema.safeParse(p.value.trim());
      if (!parsed.success) {
        throw new Error(`parameter ${deps.paths.automationParameter}: expected 'enabled' or 'disabled'`);
      }
      return parsed.data;
    }),
    section(async (): Promise<ProbeSection | null> => {
      const p = await deps.stores.parameters.get(deps.paths.lastProbeParameter);
      if (!p) return null;
      const r = parseJsonOrThrow(probeResultSchema, p.value, `parameter ${deps.paths.lastProbeParameter}`);
      const cluster = (h: (typeof r.clusters)['primary']) => ({
        verdict: h.verdict,
        reasons: [...h.reasons],
        brokersAlive: h.brokersAlive,
      });
      return {
        at: r.startedAt,
        ageSeconds: Math.max(0, Math.round((now() - Date.parse(r.startedAt)) / 1000)),
        clusters: { primary: cluster(r.clusters.primary), secondary: cluster(r.clusters.secondary) },
        replication: r.replication.map((x) => ({
          source: x.sourceAlias,
          target: x.targetAlias,
          ...(x.lagSeconds === undefined ? {} : { lagSeconds: x.lagSeconds }),
          ...(x.backlogRecords === undefined ? {} : { backlogRecords: x.backlogRecords }),
          reasons: [...x.reasons],
        })),
      };
    }),
    section(async (): Promise<ReadinessSection | null> => {
      const r = await readReadiness();
      if (!r) return null;
      return {
        at: r.auditedAt,
        ageSeconds: Math.max(0, Math.round((now() - Date.parse(r.auditedAt)) / 1000)),
        ready: r.ready,
        counts: r.counts,
        findings: r.findings,
        ...(r.findingsOmitted === undefined ? {} : { findingsOmitted: r.findingsOmitted }),
      };
    }),
    section(async () => operation(await deps.failoverJournal.latest())),
    section(async () => operation(await deps.failbackJournal.latest())),
  ]);
  return {
    deployment: config.name,
    mode: config.mode,
    replicationPolicy: config.replicationPolicy,
    active,
    automation,
    lastProbe,
    readiness,
    failover,
    failback,
  };
}
