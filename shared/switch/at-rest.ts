import { type ActiveConfig, activeConfigSchema, activeCredentialsSchema } from '../config/contract.ts';
import type { DeploymentPaths } from '../config/paths.ts';
import { activeParameterText, type Stores } from '../store/active-config.ts';
import type { CallOptions } from '../store/stores.ts';
import type { AuthorityRecord } from './epoch-authority.ts';

/**
 * What the active configuration's stores hold right now, read leniently: a half that does not parse (edited by
 * hand, truncated) is reported as `corrupt`, never thrown, because finding and repairing it is the point.
 */
type Half =
  | { state: 'absent' }
  | { state: 'corrupt' }
  | { state: 'ok'; epoch: number; cluster: 'primary' | 'secondary' };

export interface AtRest {
  parameter: Half;
  secret: Half;
  /** The parameter's configuration when it parses. */
  config?: ActiveConfig;
  /** The plain bootstrap parameter equals the parameter's servers. */
  plainMatches: boolean;
}

export async function inspectAtRest(
  stores: Stores,
  paths: DeploymentPaths,
  options: CallOptions = {},
): Promise<AtRest> {
  const [param, secret, plain] = await Promise.all([
    stores.parameters.get(paths.activeParameter, options),
    stores.secrets.get(paths.activeCredentialsSecret, options),
    stores.parameters.get(paths.activeBootstrapParameter, options),
  ]);
  let parameter: Half = { state: 'absent' };
  let config: ActiveConfig | undefined;
  if (param !== undefined) {
    const parsed = activeConfigSchema.safeParse(parseJson(param.value));
    if (parsed.success) {
      config = parsed.data;
      parameter = { state: 'ok', epoch: config.epoch, cluster: config.cluster };
    } else {
      parameter = { state: 'corrupt' };
    }
  }
  let secretHalf: Half = { state: 'absent' };
  if (secret !== undefined) {
    const parsed = activeCredentialsSchema.safeParse(parseJson(secret.reveal()));
    secretHalf = parsed.success
      ? { state: 'ok', epoch: parsed.data.epoch, cluster: parsed.data.cluster }
      : { state: 'corrupt' };
  }
  const plainMatches = config !== undefined && plain?.value === config.bootstrapServers.join(',');
  return { parameter, secret: secretHalf, ...(config ? { config } : {}), plainMatches };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * How what is at rest stands against the authority:
 * - `ok`: both halves (and the plain parameter) hold the authority's epoch and configuration (with no authority yet:
 *   both halves agree);
 * - `not-initialised`: nothing claimed and nothing at rest;
 * - `switch-in-flight`: the authority's epoch is claimed, not yet written, and the claim is younger than a switch
 *   takes: readers wait, nobody repairs;
 * - `unclaimed`: the stores disagree and nothing was ever claimed (written by a version before the authority): no
 *   repair can know the intended epoch; the next switch supersedes it;
 * - `needs-repair`: anything else (torn halves, a corrupt half, an epoch older than the authority's - a late write
 *   of a stalled writer - or newer, or the right epoch with other content: a hand edit).
 */
export type Judgement =
  | { state: 'ok'; epoch: number; cluster: 'primary' | 'secondary' }
  | { state: 'not-initialised' }
  | { state: 'switch-in-flight'; epoch: number; cluster: 'primary' | 'secondary'; claimedAt: string }
  | { state: 'unclaimed'; detail: string }
  | { state: 'needs-repair'; epoch: number; cluster: 'primary' | 'secondary'; detail: string };

export interface JudgeOptions {
  now: number;
  /** How long a claimed switch may take before what is at rest counts as torn (default 60 s). */
  switchMaxMs?: number;
}

export function judgeAtRest(
  atRest: AtRest,
  authority: AuthorityRecord | undefined,
  options: JudgeOptions,
): Judgement {
  if (authority === undefined) {
    const { parameter, secret } = atRest;
    if (parameter.state === 'absent' && secret.state === 'absent') return { state: 'not-initialised' };
    const agree =
      parameter.state === 'ok' &&
      secret.state === 'ok' &&
      parameter.epoch === secret.epoch &&
      parameter.cluster === secret.cluster &&
      atRest.plainMatches;
    if (agree) return { state: 'ok', epoch: parameter.epoch, cluster: parameter.cluster };
    return { state: 'unclaimed', detail: describeAtRest(atRest) };
  }
  const { epoch, cluster } = authority;
  if (matchesAuthority(atRest, authority)) return { state: 'ok', epoch, cluster };
  const age = options.now - Date.parse(authority.claimedAt);
  if (authority.state === 'claimed' && age < (options.switchMaxMs ?? 60_000)) {
    return { state: 'switch-in-flight', epoch, cluster, claimedAt: authority.claimedAt };
  }
  return {
    state: 'needs-repair',
    epoch,
    cluster,
    detail: `the authority holds epoch ${epoch} (${cluster}); at rest: ${describeAtRest(atRest)}`,
  };
}

/** Every half holds the authority's epoch, cluster and (for the parameter) exact configuration. */
export function matchesAuthority(atRest: AtRest, authority: AuthorityRecord): boolean {
  const { parameter, secret, config } = atRest;
  return (
    parameter.state === 'ok' &&
    secret.state === 'ok' &&
    secret.epoch === authority.epoch &&
    secret.cluster === authority.cluster &&
    config !== undefined &&
    activeParameterText(config) === activeParameterText(authority.config) &&
    atRest.plainMatches
  );
}

/** The highest epoch any parseable half holds (a writer's next epoch must be above it). */
export function highestEpochAtRest(atRest: AtRest): number | undefined {
  const epochs = [atRest.parameter, atRest.secret].flatMap((h) => (h.state === 'ok' ? [h.epoch] : []));
  return epochs.length === 0 ? undefined : Math.max(...epochs);
}

export function describeAtRest(atRest: AtRest): string {
  const half = (name: string, h: Half) =>
    h.state === 'ok' ? `${name} epoch ${h.epoch} (${h.cluster})` : `${name} ${h.state}`;
  const plain =
    atRest.config !== undefined && !atRest.plainMatches ? ', plain bootstrap parameter differs' : '';
  return `${half('parameter', atRest.parameter)}, ${half('secret', atRest.secret)}${plain}`;
}
