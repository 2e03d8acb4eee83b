import * as z from 'zod';
import { mappingMoveSchema } from '../switch/event-source-mappings.ts';
import { type ExecutablePhase, mirrorSteps } from './payload.ts';

/**
 * What the failback journal holds between invocations. It is read back from DynamoDB, so it passes this schema
 * at the edge like any other outside input: a journal edited by hand is refused, not half-trusted.
 */

const offset = z.int().min(-1);
const executablePhase = z.enum(['prepare', 'salvage', 'reverse', 'purge', 'catch-up', 'switch', 'restore']);

const salvageRange = z
  .object({
    /**
     * `tail`: never reached the secondary. `unproven`: replicated, but the secondary cannot be proven to still hold
     * the copies (its log start is past the lowest downstream offset the offset syncs prove), so it is copied too.
     */
    kind: z.enum(['tail', 'unproven']),
    from: z.int().min(0),
    to: z.int().min(0),
    /** Every offset in [from, next) is accounted for: copied, proven absent by the broker, or lost. */
    next: z.int().min(0),
  })
  .strict();
export type SalvageRange = z.output<typeof salvageRange>;

const offsetRange = z.object({ from: z.int().min(0), to: z.int().min(0) }).strict();

const salvagePartitionNow = z
  .object({
    topic: z.string(),
    partition: z.int().min(0),
    /** Upstream offset of the last record that reached the secondary; -1 when none did. */
    lastReplicated: offset,
    /** How `lastReplicated` was learnt: exact (MM2's Connect source offsets) or from offset syncs (conservative). */
    source: z.enum(['connect-offsets', 'offset-syncs', 'none']),
    /** The primary's log start and log end when measured (the log end moves on if records arrive later). */
    logStart: z.int().min(0),
    logEnd: z.int().min(0),
    /** What salvage copies, in order; the tail range always ends at `logEnd`. */
    ranges: z.array(salvageRange),
    /** Records copied so far. */
    copied: z.int().min(0),
    /** Offsets the broker proved hold nothing to copy (transaction markers, compaction gaps, aborted records). */
    absent: z.int().min(0),
    /** Offsets the primary deleted (retention) before salvage read them: in neither cluster nor quarantine. */
    lost: z.array(offsetRange),
    /** The secondary's log start when salvage measured (absent: the partition was missing there). */
    secondaryLogStart: z.int().min(0).optional(),
    /**
     * Forward offset syncs salvage read (a sample: any subset still bounds from below), kept for purge's proof.
     * Read again after the reverse mirror started, the same topics could hold the reverse flow's syncs too.
     */
    forwardSyncs: z.array(z.object({ upstreamOffset: offset, downstreamOffset: offset }).strict()),
    /** Quarantine partition these records go to, and its log end after the last journaled batch. */
    quarantinePartition: z.int().min(0),
    quarantineMark: z.int().min(0),
  })
  .strict();

/**
 * A partition journaled before salvage kept ranges (`next` only, and an empty read counted as the end) is
 * salvaged again from the start of its tail: the re-run finds what is already in quarantine by its provenance
 * headers, from the start of the quarantine partition, and copies only what is missing.
 */
const salvagePartition = z.preprocess((raw) => {
  if (raw === null || typeof raw !== 'object' || 'ranges' in raw || !('next' in raw)) return raw;
  const { next: _untrusted, ...old } = raw as unknown as Record<string, unknown> & {
    lastReplicated: number;
    logStart: number;
    logEnd: number;
  };
  const from = Math.min(Math.max(old.lastReplicated + 1, old.logStart), old.logEnd);
  return {
    ...old,
    ranges: [{ kind: 'tail', from, to: old.logEnd, next: from }],
    copied: 0,
    absent: 0,
    lost: [],
    forwardSyncs: [],
    quarantineMark: 0,
  };
}, salvagePartitionNow);
export type SalvagePartition = z.output<typeof salvagePartition>;

const copyBackRange = z
  .object({
    from: z.int().min(0),
    to: z.int().min(0),
    /** Every offset in [from, next) is accounted for: copied, proven absent by the broker, or lost. */
    next: z.int().min(0),
  })
  .strict();
export type CopyBackRange = z.output<typeof copyBackRange>;

/** One partition copied back from the secondary into the deployment's topic on the primary (copy-back.ts). */
const copyBackPartition = z
  .object({
    /** The deployment's topic on the primary, written to. */
    topic: z.string(),
    partition: z.int().min(0),
    /** Where the clients wrote on the secondary after the failover (`<primary alias>.<topic>`, or a local topic). */
    sourceTopic: z.string(),
    /** The source offset where the clients' records begin (MM2's first run ends there). */
    from: z.int().min(0),
    /** What is copied, in order; MM2's later records (`mm2After`) lie between the ranges; the last grows. */
    ranges: z.array(copyBackRange),
    mm2After: z.array(offsetRange),
    copied: z.int().min(0),
    absent: z.int().min(0),
    lost: z.array(offsetRange),
    /** The primary partition's log end before the first copy, and after the last journaled batch. */
    targetStart: z.int().min(0),
    targetMark: z.int().min(0),
    /** Batch starts: the record at `source` was written at `target` (translates group offsets, from below). */
    samples: z.array(
      z
        .object({
          source: z.int().min(0),
          target: z.int().min(0),
          /** The batch held this many records at consecutive source offsets from `source`: translated exactly. */
          dense: z.int().min(1).optional(),
        })
        .strict(),
    ),
  })
  .strict();
export type CopyBackPartition = z.output<typeof copyBackPartition>;

const purgePartition = z
  .object({
    topic: z.string(),
    partition: z.int().min(0),
    /** Records before this offset are deleted: the primary's log end measured before the reverse mirror started. */
    deleteBefore: z.int().min(0),
    logStartBefore: z.int().min(0),
    deleted: z.int().min(0),
    done: z.boolean(),
    /** The operator accepted (`acceptLoss`) that this partition lost records purge could not account for. */
    acceptedLoss: z.boolean().default(false),
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
    /** Copy-back: partitions whose offset on the primary was already at or past the translation. */
    alreadyAt: z.array(z.string()).optional(),
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
    copyBack: z
      .object({
        forwardStopped: z.boolean(),
        /** When the failover switched clients to the secondary: MM2's offset syncs written later are its resumption. */
        failoverAt: z.iso.datetime(),
        partitions: z.record(z.string(), copyBackPartition),
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
        /**
         * The secondary's log start per partition right before the reverse mirror was asked for: it copies from
         * there, so purge can check the secondary deleted nothing the mirror had not copied yet.
         */
        secondaryLogStart: z.record(z.string(), z.int().min(0)).optional(),
        /** When the reverse flow was first asked for: its offset syncs are the ones written since. */
        requestedAt: z.iso.datetime().optional(),
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
        /** Each Lambda event source mapping moved with the consumers' stage; one with an outcome is not moved again. */
        eventSourceMappings: z.array(mappingMoveSchema).optional(),
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
        /** The operator confirmed that restore may empty the secondary's copies (a controller without offsets). */
        rebuildConfirmed: z.boolean().default(false),
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
