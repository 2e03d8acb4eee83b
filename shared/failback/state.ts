import * as z from 'zod';
import { type ExecutablePhase, mirrorSteps } from './payload.ts';

/**
 * What the failback journal holds between invocations. It is read back from DynamoDB, so it passes this schema
 * at the edge like any other outside input: a journal edited by hand is refused, not half-trusted.
 */

const offset = z.int().min(-1);
const executablePhase = z.enum(['prepare', 'salvage', 'reverse', 'purge', 'catch-up', 'switch', 'restore']);

const salvagePartition = z
  .object({
    topic: z.string(),
    partition: z.int().min(0),
    /** Upstream offset of the last record that reached the secondary; -1 when none did. */
    lastReplicated: offset,
    /** How `lastReplicated` was learnt: exact (MM2's Connect source offsets) or from offset syncs (conservative). */
    source: z.enum(['connect-offsets', 'offset-syncs', 'none']),
    /** The primary's log start and log end when measured; the tail is [max(lastReplicated+1, logStart), logEnd). */
    logStart: z.int().min(0),
    logEnd: z.int().min(0),
    /** Next primary offset to copy into quarantine. */
    next: z.int().min(0),
    /** Records copied so far. */
    copied: z.int().min(0),
    /** Quarantine partition these records go to, and its log end after the last journaled batch. */
    quarantinePartition: z.int().min(0),
    quarantineMark: z.int().min(0),
  })
  .strict();
export type SalvagePartition = z.output<typeof salvagePartition>;

const purgePartition = z
  .object({
    topic: z.string(),
    partition: z.int().min(0),
    /** Records before this offset are deleted: the primary's log end measured before the reverse mirror started. */
    deleteBefore: z.int().min(0),
    logStartBefore: z.int().min(0),
    deleted: z.int().min(0),
    done: z.boolean(),
  })
  .strict();

/** One stage's write of the active configuration to an extra region (best effort, see runSwitch). */
const regionWrite = z
  .object({
    region: z.string(),
    stage: z.int().min(1).max(2),
    epoch: z.int().min(0),
    ok: z.boolean(),
    /** Why it was not written: the error's name and message (never a value that was to be written). */
    error: z.string().optional(),
    at: z.iso.datetime(),
  })
  .strict();
export type RegionWrite = z.output<typeof regionWrite>;

const progressSample = z.object({ at: z.iso.datetime(), remaining: z.int().min(0) }).strict();

const groupResult = z
  .object({
    group: z.string(),
    committed: z.int().min(0),
    untranslated: z.array(z.string()),
    skipped: z.string().optional(),
  })
  .strict();

export const failbackStateSchema = z
  .object({
    runId: z.string().min(1),
    mode: z.enum(['active-passive', 'active-active']),
    startedAt: z.iso.datetime(),
    requestedBy: z.string(),
    reason: z.string(),
    /** Epoch of the active configuration (secondary) when the failback started. */
    startEpoch: z.int().min(0),
    completed: z.array(executablePhase),
    /** Manual mirror steps an operator confirmed. */
    mirrorConfirmed: z.array(z.enum(mirrorSteps)).default([]),
    prepare: z
      .object({ checkedAt: z.iso.datetime(), primaryHealthySince: z.iso.datetime() })
      .strict()
      .optional(),
    salvage: z
      .object({
        forwardStopped: z.boolean(),
        quarantineTopic: z.string(),
        partitions: z.record(z.string(), salvagePartition),
      })
      .strict()
      .optional(),
    reverse: z
      .object({
        /** Primary log ends right before the reverse mirror started: everything below is stale. */
        staleEnd: z.record(z.string(), z.int().min(0)),
        started: z.boolean(),
        /** The reverse flow was asked for (journaled before asking): one found on a retry is this run's. */
        requested: z.boolean().default(false),
      })
      .strict()
      .optional(),
    purge: z
      .object({ partitions: z.record(z.string(), purgePartition) })
      .strict()
      .optional(),
    catchUp: z
      .object({
        first: progressSample,
        last: progressSample,
        directions: z.record(z.string(), z.int().min(0)),
      })
      .strict()
      .optional(),
    switch: z
      .object({
        /** Stages written so far (1: the first role moved; 2: everyone). */
        stagesWritten: z.int().min(0).max(2),
        epochs: z.array(z.int().min(0)),
        firstStageAt: z.iso.datetime().optional(),
        /** Primary log ends when producers moved: the forward mirror restarts from here. */
        producerCut: z.record(z.string(), z.int().min(0)).optional(),
        /** The reverse mirror's last copied offsets at the cut, to count what it copied after. */
        reverseAtCut: z.record(z.string(), z.int().min(-1)).optional(),
        groups: z.array(groupResult),
        /** When the switch first found members of the consumer groups on the primary and began waiting. */
        groupsWaitSince: z.iso.datetime().optional(),
        /** Each stage's outcome per extra region; a region with an outcome for a stage is not written again. */
        regions: z.array(regionWrite).default([]),
      })
      .strict()
      .optional(),
    restore: z
      .object({
        reverseStopped: z.boolean(),
        forwardOffsetsSet: z.boolean(),
        forwardStarted: z.boolean(),
        /** Records the reverse mirror copied after the producer cut: they reach the secondary twice. */
        duplicatesOnSecondary: z.int().min(0).nullable(),
        /** The forward mirror could not be positioned, so the secondary's stale copies were emptied to rebuild. */
        secondaryRebuilt: z.boolean(),
      })
      .strict()
      .optional(),
    finishedAt: z.iso.datetime().optional(),
  })
  .strict();
export type FailbackState = z.output<typeof failbackStateSchema>;

// The journal's phase names and the payload's must never drift apart.
const _phasesAgree: ExecutablePhase extends z.output<typeof executablePhase>
  ? z.output<typeof executablePhase> extends ExecutablePhase
    ? true
    : never
  : never = true;
void _phasesAgree;
