import * as z from 'zod';
import type { DeploymentPaths } from '../config/paths.ts';
import { describeError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Stores } from '../store/active-config.ts';
import type { SecretVersions } from '../store/stores.ts';
import { describeAtRest, inspectAtRest, judgeAtRest } from '../switch/at-rest.ts';
import type { EpochAuthority } from '../switch/epoch-authority.ts';
import { rotatedSecrets } from '../switch/refresh-credentials.ts';

/**
 * The probe's look at the active configuration, every cycle: what the stores hold against what the epoch
 * authority says. A torn, regressed or hand-edited state at rest is reported within one cycle (in the stored
 * result, which the status function reads, and as the `ActiveConfigConsistent` metric) and repaired: the probe asks
 * the failover function for a `repair`. A rotated cluster secret (its Secrets Manager version moved since the
 * authority copied it) is republished the same way, with `refresh-credentials`.
 */

export const activeObservationSchema = z
  .object({
    /** `ok` | `not-initialised` | `switch-in-flight` | `unclaimed` | `needs-repair`, or `unknown` when unreadable. */
    state: z.enum(['ok', 'not-initialised', 'switch-in-flight', 'unclaimed', 'needs-repair', 'unknown']),
    epoch: z.int().min(0).optional(),
    cluster: z.enum(['primary', 'secondary']).optional(),
    /** What the stores hold, when it is not what the authority says (never a credential). */
    detail: z.string().max(300).optional(),
    /** A cluster secret the authority copied has a newer version: the active credentials are out of date. */
    rotated: z.boolean().optional(),
    /** The maintenance the probe asked the failover function for in this cycle. */
    requested: z.enum(['repair', 'refresh-credentials']).optional(),
  })
  .strict();
export type ActiveObservation = z.output<typeof activeObservationSchema>;

export type MaintenanceAsk = (request: {
  action: 'repair' | 'refresh-credentials';
  reason: string;
}) => Promise<void>;

export interface ActiveWatchDeps {
  stores: Stores;
  versions: SecretVersions;
  authority: Pick<EpochAuthority, 'read'>;
  paths: DeploymentPaths;
  /** Asks the failover function (asynchronously) for a maintenance write; absent: the probe only reports. */
  ask?: MaintenanceAsk;
  logger: Pick<Logger, 'warn'>;
}

export class ActiveWatch {
  readonly #deps: ActiveWatchDeps;
  readonly #switchMaxMs: number;
  readonly #askEveryMs: number;
  #lastAsk = Number.NEGATIVE_INFINITY;

  /**
   * `switchMaxMs`: how long a claimed switch may take before what is at rest counts as torn. `askEveryMs`: at most
   * one maintenance request per this many ms (a container probes every few seconds; the repair takes a moment).
   */
  constructor(deps: ActiveWatchDeps, options: { switchMaxMs?: number; askEveryMs?: number } = {}) {
    this.#deps = deps;
    this.#switchMaxMs = options.switchMaxMs ?? 60_000;
    this.#askEveryMs = options.askEveryMs ?? 60_000;
  }

  async observe(now: number): Promise<ActiveObservation> {
    const { stores, authority, paths } = this.#deps;
    let observation: ActiveObservation;
    try {
      const [record, atRest] = await Promise.all([authority.read(), inspectAtRest(stores, paths)]);
      const judged = judgeAtRest(atRest, record, { now, switchMaxMs: this.#switchMaxMs });
      observation = {
        state: judged.state,
        ...('epoch' in judged ? { epoch: judged.epoch, cluster: judged.cluster } : {}),
        ...(judged.state === 'ok' || judged.state === 'not-initialised'
          ? {}
          : { detail: describeAtRest(atRest).slice(0, 300) }),
      };
      if (record !== undefined && judged.state === 'ok') {
        observation.rotated = (await rotatedSecrets(record, this.#deps.versions)).rotated.length > 0;
      }
    } catch (e: unknown) {
      this.#deps.logger.warn('probe could not read the active configuration', { error: describeError(e) });
      return { state: 'unknown', detail: describeError(e).slice(0, 300) };
    }
    const ask =
      observation.state === 'needs-repair'
        ? 'repair'
        : observation.rotated
          ? 'refresh-credentials'
          : undefined;
    if (ask !== undefined && this.#deps.ask !== undefined && now - this.#lastAsk >= this.#askEveryMs) {
      this.#lastAsk = now;
      try {
        await this.#deps.ask({
          action: ask,
          reason:
            ask === 'repair'
              ? `the probe found the active configuration not consistent: ${observation.detail ?? ''}`.slice(
                  0,
                  500,
                )
              : 'the probe found a rotated cluster secret',
        });
        observation.requested = ask;
      } catch (e: unknown) {
        this.#deps.logger.warn('probe could not ask the failover function', {
          action: ask,
          error: describeError(e),
        });
      }
    }
    return observation;
  }
}
