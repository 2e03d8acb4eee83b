import * as z from 'zod';
import type { DeploymentPaths } from '../config/paths.ts';
import { parseJsonOrThrow } from '../config/validate.ts';
import type { ParameterStore } from '../store/stores.ts';
import type { ReadinessReport } from './audit.ts';
import { findingCodes } from './finding-codes.ts';

/**
 * The last complete audit as the probe stores it (`readinessParameter`) for the status function and the
 * failover preflight: the verdict, a count per finding kind, and as many findings as fit in an SSM Standard
 * parameter (errors first; fixes and actions left out, `audit --fix` recomputes those).
 */
const storedReadinessSchema = z.object({
  version: z.literal(1),
  deployment: z.string(),
  auditedAt: z.string(),
  durationMs: z.number(),
  ready: z.boolean(),
  counts: z.partialRecord(z.enum(findingCodes), z.int().min(1)),
  findings: z.array(
    z.object({
      code: z.enum(findingCodes),
      severity: z.enum(['error', 'warning', 'info']),
      topic: z.string().optional(),
      expected: z.string(),
      found: z.string(),
    }),
  ),
  findingsOmitted: z.int().min(1).optional(),
});
export type StoredReadiness = z.output<typeof storedReadinessSchema>;

/** SSM Standard parameters hold 4 KB. */
const MAX_BYTES = 4096;
/** One finding's words are cut here, so that one long finding cannot crowd out the others. */
const MAX_TEXT = 300;
const RANK = { error: 0, warning: 1, info: 2 } as const;

export function toStoredReadiness(report: ReadinessReport, maxBytes = MAX_BYTES): string {
  const counts: StoredReadiness['counts'] = {};
  for (const f of report.findings) counts[f.code] = (counts[f.code] ?? 0) + 1;
  const ranked = [...report.findings].sort((a, b) => RANK[a.severity] - RANK[b.severity]);
  const stored: StoredReadiness = {
    version: 1,
    deployment: report.deployment,
    auditedAt: report.auditedAt,
    durationMs: report.durationMs,
    ready: report.ready,
    counts,
    findings: [],
  };
  const size = (s: StoredReadiness) => Buffer.byteLength(JSON.stringify(s));
  for (const [i, f] of ranked.entries()) {
    const candidate: StoredReadiness = {
      ...stored,
      findings: [
        ...stored.findings,
        {
          code: f.code,
          severity: f.severity,
          ...(f.topic === undefined ? {} : { topic: f.topic }),
          expected: cut(f.expected),
          found: cut(f.found),
        },
      ],
    };
    const omitted = ranked.length - i - 1;
    if (size(omitted > 0 ? { ...candidate, findingsOmitted: omitted } : candidate) > maxBytes) {
      return JSON.stringify({ ...stored, findingsOmitted: ranked.length - i });
    }
    stored.findings = candidate.findings;
  }
  return JSON.stringify(stored);
}

/** The last stored audit, or `undefined` when the probe has stored none yet. */
export function lastReadiness(
  parameters: Pick<ParameterStore, 'get'>,
  paths: Pick<DeploymentPaths, 'readinessParameter'>,
): () => Promise<StoredReadiness | undefined> {
  const name = paths.readinessParameter;
  return async () => {
    const stored = await parameters.get(name);
    return stored === undefined
      ? undefined
      : parseJsonOrThrow(storedReadinessSchema, stored.value, `parameter ${name}`);
  };
}

function cut(s: string): string {
  return s.length <= MAX_TEXT ? s : `${s.slice(0, MAX_TEXT - 1)}…`;
}
