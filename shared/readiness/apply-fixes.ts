import type { ClusterRole } from '../config/schema.ts';
import { describeError, MirrorControlError } from '../errors.ts';
import { type Fetch, httpJson } from '../failback/http-json.ts';
import type { Redacted } from '../store/redacted.ts';
import type { FixCall, FixPlan } from './fix-plan.ts';
import type { ReadinessAdmin } from './readiness-cluster.ts';

/** What applying a plan needs: an admin per cluster, and HTTP for Kafka Connect and Aiven. */
export interface FixDeps {
  admins: Record<ClusterRole, ReadinessAdmin>;
  fetch?: Fetch;
  /** The Aiven API token, for flows; absent when the mirror is not on Aiven. */
  aivenToken?: () => Promise<Redacted<string>>;
}

export interface AppliedCall {
  request: string;
  outcome: 'applied' | 'failed';
  error?: string;
}

/**
 * Make the plan's calls in order. A failed call is reported and the next ones still run: they fix other
 * findings, and the audit that follows says what is left.
 */
export async function applyFixes(plan: FixPlan, deps: FixDeps): Promise<AppliedCall[]> {
  const results: AppliedCall[] = [];
  for (const { call, request } of plan.calls) {
    try {
      await apply(call, deps);
      results.push({ request, outcome: 'applied' });
    } catch (e: unknown) {
      results.push({ request, outcome: 'failed', error: describeError(e) });
    }
  }
  return results;
}

async function apply(c: FixCall, deps: FixDeps): Promise<void> {
  const http = (
    method: 'GET' | 'PUT' | 'POST',
    url: string,
    body: unknown,
    what: string,
    headers?: Record<string, string>,
  ) =>
    httpJson(method, url, body, {
      what,
      ...(headers ? { headers } : {}),
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
    });
  switch (c.kind) {
    case 'create-topics':
      return deps.admins[c.cluster].createTopics(c.topics);
    case 'create-partitions':
      return deps.admins[c.cluster].createPartitions(c.items);
    case 'alter-topic-configs':
      return deps.admins[c.cluster].alterTopicConfigs(c.items);
    case 'create-acls':
      return deps.admins[c.cluster].createAcls(c.acls);
    case 'patch-connector': {
      // The current config is read now, not copied from the audit: it may hold credentials, and may have changed.
      const path = `${c.url}/connectors/${encodeURIComponent(c.connector)}/config`;
      const current = await http('GET', path, undefined, 'Kafka Connect (read the connector config)');
      if (current.body === null || typeof current.body !== 'object' || Array.isArray(current.body)) {
        throw new MirrorControlError(`GET ${path}: expected the connector's config as a JSON object`, {
          retriable: false,
        });
      }
      const { name: _name, ...config } = current.body as Record<string, string>;
      await http('PUT', path, { ...config, ...c.set }, 'Kafka Connect (update the connector config)');
      return;
    }
    case 'restart-connector':
      await http(
        'POST',
        `${c.url}/connectors/${encodeURIComponent(c.connector)}/restart?includeTasks=true&onlyFailed=true`,
        undefined,
        'Kafka Connect (restart the failed connector and tasks)',
      );
      return;
    case 'resume-connector':
      await http(
        'PUT',
        `${c.url}/connectors/${encodeURIComponent(c.connector)}/resume`,
        undefined,
        'Kafka Connect (resume the connector)',
      );
      return;
    case 'patch-aiven-flow': {
      if (deps.aivenToken === undefined) {
        throw new MirrorControlError('cannot update an Aiven flow: the mirror is not configured as Aiven', {
          retriable: false,
        });
      }
      const token = await deps.aivenToken();
      await http('PUT', c.url, c.set, 'Aiven API (update the replication flow)', {
        authorization: `aivenv1 ${token.reveal()}`,
      });
      return;
    }
  }
}
