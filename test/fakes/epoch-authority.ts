import {
  type AuthorityRecord,
  authorityRecordSchema,
  type Claim,
  type ClaimRequest,
  type EpochAuthority,
  EpochClaimLostError,
} from '#shared/switch/epoch-authority.ts';

/** What the fake authority needs of a lock: the same check and renewal the DynamoDB transaction makes. */
export interface RenewableLock {
  /** Throws LockHeldError when `holder` no longer holds the lock; otherwise renews its lease. */
  renew(holder: string): void;
  readonly leaseMs: number;
}

/**
 * The DynamoDB authority's semantics in memory: every call renews the caller's lease and fails as the
 * transaction would (lease lost first, then the epoch condition), records round-trip through their schema.
 */
export class MemoryEpochAuthority implements EpochAuthority {
  record: AuthorityRecord | undefined;
  readonly calls: string[] = [];
  readonly #lock: RenewableLock;
  readonly #clock: { now(): number };

  constructor(lock: RenewableLock, clock: { now(): number }) {
    this.#lock = lock;
    this.#clock = clock;
  }

  async read(): Promise<AuthorityRecord | undefined> {
    await Promise.resolve();
    this.calls.push('read');
    return this.record === undefined ? undefined : structuredClone(this.record);
  }

  async claim(request: ClaimRequest): Promise<Claim> {
    return this.#transact(request.holder, 'claim', () => {
      if (this.record?.epoch !== request.expected) {
        throw new EpochClaimLostError('epoch authority claim', request.expected, this.record?.epoch);
      }
      return authorityRecordSchema.parse({
        epoch: request.epoch,
        cluster: request.config.cluster,
        writer: request.writer,
        holder: request.holder,
        claimedAt: new Date(this.#clock.now()).toISOString(),
        state: 'claimed',
        config: request.config,
        credentials: request.credentials,
      });
    });
  }

  async takeOver(current: AuthorityRecord, holder: string): Promise<Claim> {
    return this.#transact(holder, 'takeOver', () => {
      if (this.record?.epoch !== current.epoch) {
        throw new EpochClaimLostError('epoch authority take over', current.epoch, this.record?.epoch);
      }
      const { writtenAt: _w, ...rest } = current;
      return { ...rest, holder, state: 'claimed' as const };
    });
  }

  async check(claim: Claim): Promise<Claim> {
    return this.#transact(claim.record.holder, 'check', () => {
      this.#guard(claim, 'check');
      return this.record as AuthorityRecord;
    });
  }

  async restamp(claim: Claim, switchedAt: string): Promise<Claim> {
    return this.#transact(claim.record.holder, 'restamp', () => {
      this.#guard(claim, 'restamp');
      const r = this.record as AuthorityRecord;
      return { ...r, config: { ...r.config, switchedAt } };
    });
  }

  async complete(claim: Claim, writtenAt: string): Promise<Claim> {
    return this.#transact(claim.record.holder, 'complete', () => {
      this.#guard(claim, 'complete');
      return { ...(this.record as AuthorityRecord), state: 'written' as const, writtenAt };
    });
  }

  #guard(claim: Claim, what: string): void {
    const r = this.record;
    if (r?.epoch !== claim.record.epoch || r.holder !== claim.record.holder) {
      throw new EpochClaimLostError(`epoch authority ${what}`, claim.record.epoch, r?.epoch);
    }
  }

  async #transact(holder: string, what: string, next: () => AuthorityRecord): Promise<Claim> {
    await Promise.resolve();
    this.calls.push(what);
    this.#lock.renew(holder);
    const record = next();
    this.record = structuredClone(record);
    return { record: structuredClone(record), leaseUntil: this.#clock.now() + this.#lock.leaseMs };
  }
}
