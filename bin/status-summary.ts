/**
 * `mm2-failover status` for a person: the status function's answer (shared/status) as a few aligned lines, in the
 * order on-call asks: which cluster is active at which epoch, are both clusters healthy, how far behind is the
 * mirror, is the standby ready, is a switch running. `--json` prints the answer itself for scripts.
 */
import * as z from 'zod';

/** A section the status function could not read: shown as such, the rest still printed. */
const unreadable = z.object({ error: z.string() });

const activeSchema = z.object({
  state: z.string(),
  cluster: z.string().optional(),
  alias: z.string().optional(),
  epoch: z.number().optional(),
  bootstrapServers: z.array(z.string()).optional(),
  switchedAt: z.string().optional(),
  reason: z.string().optional(),
  holdback: z.object({ role: z.string(), cluster: z.string(), alias: z.string() }).optional(),
  detail: z.string().optional(),
});

const probeSchema = z.object({
  at: z.string(),
  ageSeconds: z.number(),
  clusters: z.record(
    z.string(),
    z.object({ verdict: z.string(), reasons: z.array(z.string()), brokersAlive: z.number() }),
  ),
  replication: z.array(
    z.object({
      source: z.string(),
      target: z.string(),
      lagSeconds: z.number().optional(),
      backlogRecords: z.number().optional(),
      reasons: z.array(z.string()),
    }),
  ),
});

const readinessSchema = z.object({
  ageSeconds: z.number(),
  ready: z.boolean(),
  findings: z.array(
    z.object({ code: z.string(), severity: z.string(), topic: z.string().optional(), found: z.string() }),
  ),
  findingsOmitted: z.number().optional(),
});

const operationSchema = z.object({
  runId: z.string(),
  status: z.string(),
  startedAt: z.string(),
  startedBy: z.string(),
  updatedAt: z.string(),
  completedAt: z.string().optional(),
  steps: z.array(z.string()),
});

const statusAnswerSchema = z.object({
  deployment: z.string(),
  mode: z.string(),
  replicationPolicy: z.string(),
  active: z.union([unreadable, activeSchema]),
  automation: z.union([unreadable, z.string()]),
  lastProbe: z.union([unreadable, probeSchema, z.null()]),
  readiness: z.union([unreadable, readinessSchema, z.null()]),
  failover: z.union([unreadable, operationSchema, z.null()]),
  failback: z.union([unreadable, operationSchema, z.null()]),
});

type StatusAnswer = z.output<typeof statusAnswerSchema>;
type Operation = z.output<typeof operationSchema>;

const isUnreadable = (v: unknown): v is { error: string } =>
  typeof v === 'object' && v !== null && 'error' in v;

/**
 * The summary, or undefined when the answer is not a status (an error answer, a function of another version):
 * the caller prints the raw answer then, rather than a summary that would hide what came back.
 */
export function statusSummary(answer: unknown): string | undefined {
  const parsed = statusAnswerSchema.safeParse(answer);
  if (!parsed.success) return undefined;
  const s = parsed.data;
  const rows: Array<[string, string]> = [
    ['deployment', `${s.deployment} (${s.mode}, ${s.replicationPolicy} replication)`],
    ['active', activeLine(s.active)],
    ['automation', isUnreadable(s.automation) ? `unreadable: ${s.automation.error}` : s.automation],
    ...healthRows(s.lastProbe),
    ['readiness', readinessLine(s.readiness)],
    ['failover', operationLine(s.failover, 'steps')],
    ['failback', operationLine(s.failback, 'phases')],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, text]) => `${label.padEnd(width)}  ${text}`).join('\n');
}

function activeLine(active: StatusAnswer['active']): string {
  if (isUnreadable(active)) return `unreadable: ${active.error}`;
  if (active.state === 'not-initialised') {
    return "not initialised: no active configuration yet (run 'mm2-failover init' after cdk deploy)";
  }
  const who = active.cluster
    ? `${active.cluster} '${active.alias ?? '?'}', epoch ${active.epoch ?? '?'}`
    : 'no readable configuration';
  const since = active.switchedAt ? ` since ${active.switchedAt}` : '';
  const holdback = active.holdback
    ? `; ${active.holdback.role} still on ${active.holdback.cluster} '${active.holdback.alias}' (staged switch)`
    : '';
  const state =
    active.state === 'active'
      ? ''
      : ` [${active.state.toUpperCase()}${active.detail ? `: ${active.detail}` : ''}]`;
  return `${who}${since}${holdback}${state}`;
}

function healthRows(probe: StatusAnswer['lastProbe']): Array<[string, string]> {
  if (probe === null) return [['health', 'no probe result yet (the probe runs every minute)']];
  if (isUnreadable(probe)) return [['health', `unreadable: ${probe.error}`]];
  const age = `probe ${probe.ageSeconds} s ago`;
  const cluster = (name: string) => {
    const c = probe.clusters[name];
    if (!c) return `${name} not probed`;
    const reasons = c.reasons.length > 0 ? ` (${c.reasons.join('; ')})` : '';
    return `${name} ${c.verdict}, ${c.brokersAlive} broker${c.brokersAlive === 1 ? '' : 's'} alive${reasons}`;
  };
  const lag =
    probe.replication.length === 0
      ? 'not measured'
      : probe.replication
          .map((r) => {
            const figures = [
              r.lagSeconds === undefined ? undefined : `${r.lagSeconds} s behind`,
              r.backlogRecords === undefined ? undefined : `${r.backlogRecords} records backlog`,
            ].filter((f) => f !== undefined);
            const reasons = r.reasons.length > 0 ? ` (${r.reasons.join('; ')})` : '';
            return `${r.source} -> ${r.target}: ${figures.join(', ') || 'unknown'}${reasons}`;
          })
          .join('; ');
  return [
    ['health', `${cluster('primary')}; ${cluster('secondary')} (${age})`],
    ['lag', lag],
  ];
}

function readinessLine(readiness: StatusAnswer['readiness']): string {
  if (readiness === null) return 'no audit yet (the probe audits the standby)';
  if (isUnreadable(readiness)) return `unreadable: ${readiness.error}`;
  const age = `audit ${readiness.ageSeconds} s ago`;
  if (readiness.ready && readiness.findings.length === 0) return `standby ready (${age})`;
  const shown = readiness.findings
    .slice(0, 3)
    .map((f) => `${f.severity} ${f.code}${f.topic ? ` ${f.topic}` : ''}: ${f.found}`);
  const more = readiness.findings.length - shown.length + (readiness.findingsOmitted ?? 0);
  return `${readiness.ready ? 'standby ready' : 'standby NOT READY'} (${age}): ${shown.join('; ')}${
    more > 0 ? `; ${more} more` : ''
  }`;
}

function operationLine(op: Operation | { error: string } | null, stepsAre: string): string {
  if (op === null) return 'none recorded';
  if (isUnreadable(op)) return `unreadable: ${op.error}`;
  const steps = op.steps.length > 0 ? op.steps.join(', ') : 'none';
  const run = `run ${op.runId} by ${op.startedBy}`;
  if (op.status === 'in-progress') {
    return `IN PROGRESS since ${op.startedAt}, ${run}; ${stepsAre} done: ${steps} (updated ${op.updatedAt})`;
  }
  return `last ${op.status} ${op.completedAt ?? op.updatedAt}, ${run}; ${stepsAre}: ${steps}`;
}
