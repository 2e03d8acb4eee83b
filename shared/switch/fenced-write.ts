import type { ActiveConfig, ActiveCredentials } from '../config/contract.ts';
import { activeCredentialsSchema } from '../config/contract.ts';
import type { DeploymentPaths } from '../config/paths.ts';
import { Mm2FailoverError } from '../errors.ts';
import {
  type ActiveWriteCredentials,
  type ActiveWriteStep,
  activeParameterText,
  activeWriteOrder,
  type Stores,
  writeActiveStep,
} from '../store/active-config.ts';
import type { CallOptions } from '../store/stores.ts';
import type { Claim, EpochAuthority } from './epoch-authority.ts';

/**
 * Write a claimed epoch to the stores, fenced: before each write the claim and the lease are checked (one
 * transaction, then the write, one after the other, never in parallel), each write has a deadline well inside the
 * lease just renewed, and each write is read back. A writer that loses its claim or its lease stops before its next
 * write. What a stalled writer still had on the wire may land late; at-rest.ts finds it and repair.ts undoes it.
 *
 * Order (the fencing order readers rely on): the secret, then the parameter, then the plain parameter. A reader that
 * sees the new parameter can already read the matching secret; one that sees them disagree waits.
 */

export interface FencedWriteDeps {
  authority: EpochAuthority;
  stores: Stores;
  paths: DeploymentPaths;
  clock: { now(): number };
  /**
   * The longest one store call may take (default 10 s). With the lock's two-minute lease, renewed by the check
   * right before each call, a write that hangs is abandoned long before anyone else could claim the lock.
   */
  callTimeoutMs?: number;
  /** A call must end at least this long before the lease does (default 30 s, at most a quarter of the lease left). */
  leaseMarginMs?: number;
}

export interface FencedWriteInput {
  claim: Claim;
  credentials: ActiveWriteCredentials;
  /** Steps of this claim an earlier invocation wrote and read back (from its journal). */
  done?: ReadonlySet<ActiveWriteStep>;
  /** Called after each step was written and read back (to journal it). */
  onStep?(step: ActiveWriteStep, claim: Claim): Promise<void>;
}

export interface FencedWriteResult {
  claim: Claim;
  /** What the parameter holds now: the claim's configuration, `switchedAt` set at the parameter write. */
  config: ActiveConfig;
}

/** A store write that did not finish in its deadline, or read back something else than was written. */
export class FencedWriteError extends Mm2FailoverError {
  readonly step: ActiveWriteStep;
  readonly epoch: number;
  constructor(step: ActiveWriteStep, epoch: number, message: string, options: { cause?: unknown } = {}) {
    super(
      `writing the active configuration's ${step} at epoch ${epoch}: ${message}; the epoch stays claimed and the ` +
        'next invocation (or mm2-failover repair) rolls it forward',
      { ...options, retriable: true },
    );
    this.name = 'FencedWriteError';
    this.step = step;
    this.epoch = epoch;
  }
}

const DEFAULT_CALL_TIMEOUT_MS = 10_000;
const DEFAULT_LEASE_MARGIN_MS = 30_000;
/** Attempts per step: a read-back that finds another value (a late write of an older writer) writes once more. */
const ATTEMPTS = 2;

export async function writeClaimed(
  input: FencedWriteInput,
  deps: FencedWriteDeps,
): Promise<FencedWriteResult> {
  let claim = input.claim;
  const done = input.done ?? new Set<ActiveWriteStep>();
  for (const step of activeWriteOrder) {
    if (done.has(step)) continue;
    for (let attempt = 1; ; attempt++) {
      claim =
        step === 'parameter'
          ? await deps.authority.restamp(claim, new Date(deps.clock.now()).toISOString())
          : await deps.authority.check(claim);
      const next = claim.record.config;
      await bounded(step, claim, deps, (options) =>
        writeActiveStep(deps.stores, deps.paths, step, next, input.credentials, options),
      );
      const found = await bounded(step, claim, deps, (options) => readBack(step, next, deps, options));
      if (found === undefined) break;
      if (attempt >= ATTEMPTS) throw new FencedWriteError(step, next.epoch, `read back ${found}`);
    }
    await input.onStep?.(step, claim);
  }
  claim = await deps.authority.complete(claim, new Date(deps.clock.now()).toISOString());
  return { claim, config: claim.record.config };
}

/** Run one store call with a deadline inside the lease the last check renewed. */
async function bounded<T>(
  step: ActiveWriteStep,
  claim: Claim,
  deps: FencedWriteDeps,
  call: (options: CallOptions) => Promise<T>,
): Promise<T> {
  const leaseLeft = claim.leaseUntil - deps.clock.now();
  // The margin is a quarter of what is left for a short lease (tests, a lease shortened by configuration).
  const margin = Math.min(deps.leaseMarginMs ?? DEFAULT_LEASE_MARGIN_MS, leaseLeft / 4);
  const budget = Math.floor(Math.min(deps.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS, leaseLeft - margin));
  if (budget <= 0) {
    throw new FencedWriteError(
      step,
      claim.record.epoch,
      'the lease ends too soon to start another store call',
    );
  }
  const signal = AbortSignal.timeout(budget);
  try {
    return await call({ signal });
  } catch (e: unknown) {
    if (signal.aborted) {
      throw new FencedWriteError(step, claim.record.epoch, `no answer within ${budget} ms`, { cause: e });
    }
    throw e;
  }
}

/** `undefined` when the store holds what this step wrote; otherwise a description of what it holds. */
async function readBack(
  step: ActiveWriteStep,
  next: ActiveConfig,
  deps: Pick<FencedWriteDeps, 'stores' | 'paths'>,
  options: CallOptions,
): Promise<string | undefined> {
  const { stores, paths } = deps;
  switch (step) {
    case 'secret': {
      const secret = await stores.secrets.get(paths.activeCredentialsSecret, options);
      if (secret === undefined) return 'no secret';
      const found = parseCredentials(secret.reveal());
      if (found === undefined) return 'a secret that does not parse';
      const holdbackMatches = (found.holdback?.cluster ?? null) === (next.holdback?.cluster ?? null);
      return found.epoch === next.epoch && found.cluster === next.cluster && holdbackMatches
        ? undefined
        : `a secret of epoch ${found.epoch} (${found.cluster})`;
    }
    case 'parameter': {
      const p = await stores.parameters.get(paths.activeParameter, options);
      if (p === undefined) return 'no parameter';
      return p.value === activeParameterText(next) ? undefined : describeParameter(p.value);
    }
    case 'plain-parameters': {
      const p = await stores.parameters.get(paths.activeBootstrapParameter, options);
      const expected = next.bootstrapServers.join(',');
      return p?.value === expected ? undefined : `bootstrap servers '${p?.value ?? '(none)'}'`;
    }
  }
}

function parseCredentials(text: string): ActiveCredentials | undefined {
  try {
    const parsed = activeCredentialsSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function describeParameter(text: string): string {
  try {
    const epoch = (JSON.parse(text) as { epoch?: unknown }).epoch;
    return typeof epoch === 'number' ? `a parameter of epoch ${epoch}` : 'a parameter without an epoch';
  } catch {
    // Never the parser's message: it quotes the text.
    return 'a parameter that does not parse as JSON';
  }
}
