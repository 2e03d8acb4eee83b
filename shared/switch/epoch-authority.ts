import * as z from 'zod';
import { activeConfigSchema } from '../config/contract.ts';
import { Mm2FailoverError } from '../errors.ts';

/**
 * The one authority over the active configuration's epoch.
 *
 * SSM and Secrets Manager have no compare-and-set, so the epoch written there cannot fence writers by itself.
 * Every writer of the active configuration (the first activation, a failover, each stage of a failback's switch,
 * a credentials refresh, a repair) first *claims* epoch N+1 here, with a conditional write that also renews its
 * lease on the deployment lock, and before each store write it *checks* that the claim and the lease still hold.
 * A writer that lost either stops before its next write; a write that was already on the wire when it stalled
 * (a Lambda sandbox frozen mid-call) can still land late, and is found and repaired by comparing what is at rest
 * with this record (see at-rest.ts and repair.ts).
 *
 * The record also holds the configuration the epoch must have at rest (never a secret: the credentials are named
 * by the secret they are copied from), so that a switch left half-written can be rolled forward by anyone holding
 * the lock, without the journal of the writer that began it.
 */

const writerKinds = ['init', 'adopt', 'failover', 'failback', 'refresh', 'repair'] as const;
type WriterKind = (typeof writerKinds)[number];

const credentialSourceSchema = z
  .object({
    /** The operator's cluster secret the active credentials are copied from (name or ARN). */
    secret: z.string().min(1),
    /** Its Secrets Manager version when copied, so a rotation can be noticed (absent when unknown). */
    version: z.string().min(1).optional(),
  })
  .strict();

export const authorityRecordSchema = z
  .object({
    epoch: z.int().min(0),
    cluster: z.enum(['primary', 'secondary']),
    writer: z.object({ kind: z.enum(writerKinds), runId: z.string().min(1) }).strict(),
    /** The lock holder that claimed (or took over) this epoch; the only one allowed to write it. */
    holder: z.string().min(1),
    claimedAt: z.iso.datetime(),
    /** `claimed`: the writer may be writing; `written`: every store holds this epoch, read back. */
    state: z.enum(['claimed', 'written']),
    writtenAt: z.iso.datetime().optional(),
    /** What the active parameter must hold for this epoch. */
    config: activeConfigSchema,
    /** Where this epoch's credentials come from: the active cluster's secret, and the held-back role's. */
    credentials: z
      .object({ active: credentialSourceSchema, holdback: credentialSourceSchema.optional() })
      .strict(),
  })
  .strict();
export type AuthorityRecord = z.output<typeof authorityRecordSchema>;
export type CredentialSources = AuthorityRecord['credentials'];

/** What a writer asks for: the epoch it saw (or none yet), and what it will write at the next one. */
export interface ClaimRequest {
  /** The authority's epoch the writer decided on; `undefined` when it found no record at all. */
  expected: number | undefined;
  /** Normally `expected + 1`; equal to `expected` only to adopt what is at rest or to repair it. */
  epoch: number;
  writer: { kind: WriterKind; runId: string };
  holder: string;
  config: AuthorityRecord['config'];
  credentials: CredentialSources;
}

/** A claim that is held: the record as written, and until when the lease renewed with it lasts. */
export interface Claim {
  record: AuthorityRecord;
  leaseUntil: number;
}

export interface EpochAuthority {
  /** The current record, read consistently; `undefined` when nothing was ever claimed. */
  read(): Promise<AuthorityRecord | undefined>;
  /**
   * Claim `request.epoch` if the authority still stands at `request.expected` and `request.holder` holds the lock
   * (both in one conditional transaction that also renews the lease). Throws {@link EpochClaimLostError} when the
   * epoch moved, or the lock's own error when the lease was lost.
   */
  claim(request: ClaimRequest): Promise<Claim>;
  /** Take over the current epoch (to repair it): same epoch, same config, a new holder. Fails if it moved. */
  takeOver(current: AuthorityRecord, holder: string): Promise<Claim>;
  /** Renew the lease and verify the claim still holds, in one transaction: call it before every store write. */
  check(claim: Claim): Promise<Claim>;
  /**
   * {@link check}, and set the claimed configuration's `switchedAt`: done right before the parameter write, so that
   * `switchedAt` (where consumers rewind to) is when the parameter was written, not when the plan was made.
   */
  restamp(claim: Claim, switchedAt: string): Promise<Claim>;
  /** Mark the claimed epoch written (every store read back). Fails like {@link check}. */
  complete(claim: Claim, writtenAt: string): Promise<Claim>;
}

/** The authority moved on from what a writer saw or claimed: another writer holds a newer epoch. */
export class EpochClaimLostError extends Mm2FailoverError {
  readonly expected: number | undefined;
  readonly found: number | undefined;
  constructor(what: string, expected: number | undefined, found: number | undefined) {
    super(
      `${what}: expected the epoch authority at ${expected ?? 'none'}, found ${found ?? 'none'}; ` +
        'another writer switched the active configuration since: decide again from what is there now',
      { retriable: false },
    );
    this.name = 'EpochClaimLostError';
    this.expected = expected;
    this.found = found;
  }
}
