import { activeConfigSchema, automationSchema } from '../config/contract.ts';
import type { DeploymentPaths } from '../config/paths.ts';
import type { DeploymentConfig } from '../config/schema.ts';
import { parseJsonOrThrow } from '../config/validate.ts';
import { describeError } from '../errors.ts';
import { probeResultSchema } from '../health/probe-result.ts';
import { lastReadiness, type StoredReadiness } from '../readiness/stored-readiness.ts';
import { activeParameterText, type Stores } from '../store/active-config.ts';
import type { JournalEntry, RunJournal } from '../store/dynamo-journal.ts';
import type { EpochAuthority } from '../switch/epoch-authority.ts';

/**
 * What the `status` function (and `mm2-failover status`) reports: which cluster is active, the epoch, the last
 * probe and replication lag, and any failover or failback in progress. Every section is read on its own, so one
 * unreadable store shows as that section's `error` and the rest still answers.
 */

type Section<T> = T | { error: string };

interface ActiveSection {
  /**
   * `torn`: the stores do not hold what the epoch authority says (or disagree with each other when nothing was
   * ever claimed) for longer than a switch takes; `mm2-failover repair` (or the probe's request) rolls it forward.
   */
  state: 'active' | 'switch-in-flight' | 'torn' | 'not-initialised';
  cluster?: 'primary' | 'secondary';
  alias?: string;
  epoch?: number;
  bootstrapServers?: string[];
  switchedAt?: string;
  reason?: string;
  /** During a staged failback switch: the role still on the other cluster until the next epoch. */
  holdback?: { role: 'producers' | 'consumers'; cluster: 'primary' | 'secondary'; alias: string };
  /** The active parameter's epoch, when it differs from the authority's or the parameter is not readable. */
  parameterEpoch?: number;
  /** The epoch the authority holds. */
  authorityEpoch?: number;
  /** What is wrong, when the state is `torn` (from the parameter, or from the probe, which also reads the secret). */
  detail?: string;
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
  /** The last planned switchover (shared/planned), when the wiring reads its journal. */
  planned?: Section<OperationSection | null>;
}

export interface StatusDeps {
  /** Only parameters are read: the status function is never granted the active credentials secret. */
  stores: Pick<Stores, 'parameters'>;
  paths: DeploymentPaths;
  authority: Pick<EpochAuthority, 'read'>;
  failoverJournal: Pick<RunJournal, 'latest'>;
  failbackJournal: Pick<RunJournal, 'latest'>;
  plannedJournal?: Pick<RunJournal, 'latest'>;
  now?: () => number;
}

async function section<T>(read: () => Promise<T>): Promise<Section<T>> {
  try {
    return await read();
  } catch (e: unknown) {
    return { error: describeError(e) };
  }
}

/**
 * The active configuration as the epoch authority holds it, checked against the active parameter. The secret is
 * not read here (it holds a private key or a password): the probe reads it every cycle and stores what it found,
 * so a torn secret shows here through the last probe result.
 */
async function activeSection(deps: StatusDeps, now: number): Promise<ActiveSection> {
  const [record, param, probe] = await Promise.all([
    deps.authority.read(),
    deps.stores.parameters.get(deps.paths.activeParameter),
    lastActiveObservation(deps),
  ]);
  const parsed = param === undefined ? undefined : activeConfigSchema.safeParse(parseJson(param.value));
  const config = parsed?.success ? parsed.data : undefined;
  if (record === undefined && param === undefined) return { state: 'not-initialised' };
  const shown = record?.config ?? config;
  const described: Omit<ActiveSection, 'state'> = shown
    ? {
        cluster: shown.cluster,
        alias: shown.alias,
        epoch: shown.epoch,
        bootstrapServers: shown.bootstrapServers,
        switchedAt: shown.switchedAt,
        reason: shown.reason,
        ...(shown.holdback
          ? {
              holdback: {
                role: shown.holdback.role,
                cluster: shown.holdback.cluster,
                alias: shown.holdback.alias,
              },
            }
          : {}),
        ...(record ? { authorityEpoch: record.epoch } : {}),
      }
    : {};
  const parameterText = config ? activeParameterText(config) : undefined;
  if (record !== undefined && parameterText !== activeParameterText(record.config)) {
    const found = config ? `parameter epoch ${config.epoch} (${config.cluster})` : 'parameter not readable';
    const inFlight = record.state === 'claimed' && now - Date.parse(record.claimedAt) < SWITCH_MAX_MS;
    return {
      ...described,
      state: inFlight ? 'switch-in-flight' : 'torn',
      ...(config ? { parameterEpoch: config.epoch } : {}),
      detail: `the authority holds epoch ${record.epoch} (${record.cluster}); ${found}`,
    };
  }
  if (record === undefined && config === undefined) {
    return { ...described, state: 'torn', detail: 'parameter not readable, nothing claimed' };
  }
  // The parameter holds the authority's epoch: only the probe, which reads the secret, can say it is torn.
  if (probe !== undefined && (probe.state === 'needs-repair' || probe.state === 'unclaimed')) {
    return { ...described, state: 'torn', detail: `the probe found: ${probe.detail ?? probe.state}` };
  }
  return { ...described, state: 'active' };
}

/** How long a claimed switch may take before what is at rest counts as torn (the probe uses the same). */
const SWITCH_MAX_MS = 60_000;

async function lastActiveObservation(deps: StatusDeps) {
  const p = await deps.stores.parameters.get(deps.paths.lastProbeParameter).catch(() => undefined);
  if (!p) return undefined;
  const parsed = probeResultSchema.safeParse(parseJson(p.value));
  return parsed.success ? parsed.data.active : undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
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
    section(() => activeSection(deps, now())),
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
  const { plannedJournal } = deps;
  const planned = plannedJournal
    ? await section(async () => operation(await plannedJournal.latest()))
    : undefined;
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
    ...(planned ? { planned } : {}),
  };
}
