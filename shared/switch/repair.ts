import type { DeploymentPaths } from '../config/paths.ts';
import {
  type ActiveWriteCredentials,
  type ActiveWriteStep,
  activeParameterText,
  type Stores,
} from '../store/active-config.ts';
import {
  type AtRest,
  describeAtRest,
  highestEpochAtRest,
  inspectAtRest,
  matchesAuthority,
} from './at-rest.ts';
import type { AuthorityRecord, Claim, CredentialSources } from './epoch-authority.ts';
import { type FencedWriteDeps, writeClaimed } from './fenced-write.ts';

/**
 * Repair: make what is at rest equal to what the authority says, rolling forward. The caller holds the deployment
 * lock.
 *
 * - What is at rest is the authority's epoch and configuration: nothing to write (a claim left `claimed` by a
 *   writer that stopped right after its last write is marked written).
 * - Every half at rest is at or below the authority's epoch, and none contradicts it (a switch stopped half-way,
 *   or a stalled writer's late write of an older epoch): the missing or older halves are written again at the
 *   authority's epoch, fenced like any switch.
 * - Something at rest is newer than the authority, or holds its epoch with other content (an edit by hand): a
 *   new epoch above everything seen is claimed for the authority's cluster and configuration, so that readers who
 *   saw the stray epoch move on too (they never accept an older one).
 */

export interface RepairDeps extends FencedWriteDeps {
  /** The credentials named by the authority (copied from the operator's cluster secrets). */
  readCredentials(sources: CredentialSources): Promise<ActiveWriteCredentials>;
}

export type RepairResult =
  | { status: 'consistent'; epoch: number; cluster: 'primary' | 'secondary' }
  | {
      status: 'repaired';
      epoch: number;
      cluster: 'primary' | 'secondary';
      /** What was at rest before. */
      found: string;
      /** The authority's epoch was rewritten (false) or a new epoch claimed above a stray one (true). */
      newEpoch: boolean;
      written: ActiveWriteStep[];
    }
  | { status: 'nothing-claimed'; found: string };

export async function repairActive(
  run: { holder: string; runId: string },
  deps: RepairDeps & { paths: DeploymentPaths; stores: Stores },
): Promise<RepairResult> {
  const [record, atRest] = await Promise.all([deps.authority.read(), inspectAtRest(deps.stores, deps.paths)]);
  if (record === undefined) return { status: 'nothing-claimed', found: describeAtRest(atRest) };
  if (matchesAuthority(atRest, record)) {
    if (record.state === 'claimed') {
      const claim = await deps.authority.takeOver(record, run.holder);
      await deps.authority.complete(claim, new Date(deps.clock.now()).toISOString());
    }
    return { status: 'consistent', epoch: record.epoch, cluster: record.cluster };
  }
  const found = describeAtRest(atRest);
  const stray = contradicts(atRest, record);
  let claim: Claim;
  if (stray) {
    const epoch = Math.max(record.epoch, highestEpochAtRest(atRest) ?? 0) + 1;
    claim = await deps.authority.claim({
      expected: record.epoch,
      epoch,
      writer: { kind: 'repair', runId: run.runId },
      holder: run.holder,
      config: { ...record.config, epoch },
      credentials: record.credentials,
    });
  } else {
    claim = await deps.authority.takeOver(record, run.holder);
  }
  const done = stray ? new Set<ActiveWriteStep>() : alreadyRight(atRest, record);
  const written: ActiveWriteStep[] = [];
  const credentials = await deps.readCredentials(record.credentials);
  const result = await writeClaimed(
    {
      claim,
      credentials,
      done,
      onStep: async (step) => {
        written.push(step);
      },
    },
    deps,
  );
  return {
    status: 'repaired',
    epoch: result.claim.record.epoch,
    cluster: result.claim.record.cluster,
    found,
    newEpoch: stray,
    written,
  };
}

/** Something at rest claims the authority's epoch or a later one with content the authority did not claim. */
function contradicts(atRest: AtRest, record: AuthorityRecord): boolean {
  const { parameter, secret, config } = atRest;
  const parameterStray =
    parameter.state === 'ok' &&
    (parameter.epoch > record.epoch ||
      (parameter.epoch === record.epoch &&
        (config === undefined || activeParameterText(config) !== activeParameterText(record.config))));
  const secretStray =
    secret.state === 'ok' &&
    (secret.epoch > record.epoch || (secret.epoch === record.epoch && secret.cluster !== record.cluster));
  return parameterStray || secretStray;
}

/** Steps whose store already holds the authority's epoch (they are not written again). */
function alreadyRight(atRest: AtRest, record: AuthorityRecord): Set<ActiveWriteStep> {
  const done = new Set<ActiveWriteStep>();
  if (atRest.secret.state === 'ok' && atRest.secret.epoch === record.epoch) done.add('secret');
  if (atRest.parameter.state === 'ok' && atRest.parameter.epoch === record.epoch) {
    done.add('parameter');
    if (atRest.plainMatches) done.add('plain-parameters');
  }
  return done;
}
