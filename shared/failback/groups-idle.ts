import { describeError } from '../errors.ts';
import type { PhaseContext } from './phase-context.ts';
import type { FailbackState } from './state.ts';

/** Pause between looks at the groups while waiting. */
const POLL_MS = 2_000;

export type GroupsIdle =
  | { kind: 'idle' }
  /** Waited `failback.groupIdleWaitSeconds`; these groups still have members on the primary. */
  | { kind: 'gave-up'; busy: string[] }
  /** The invocation's deadline came first: the next invocation continues the same wait. */
  | { kind: 'deadline'; busy: string[]; secondsLeft: number };

/**
 * Before consumers move back to the primary, wait until the deployment's consumer groups have no members there.
 * Failback translates a group's offsets back only for a group without members (committing under live members would
 * race them; MirrorMaker 2's own group-offset sync waits for the same), and a group left untranslated resumes from
 * its pre-failover offsets, which purge has deleted: it re-reads the topic from its start. The member found there is
 * usually a leftover, not a consumer: the one that was on the primary when it died, which the restarted group
 * coordinator keeps until its session times out. The wait is bounded by `failback.groupIdleWaitSeconds` from the
 * first look that found members (journaled, so a later invocation continues the same wait, not a new one).
 */
export async function awaitGroupsIdle(
  ctx: PhaseContext,
  sw: NonNullable<FailbackState['switch']>,
): Promise<GroupsIdle> {
  const { config, primary, clock, logger } = ctx.deps;
  const limitMs = config.failback.groupIdleWaitSeconds * 1000;
  for (;;) {
    const busy: string[] = [];
    for (const group of config.consumerGroups) {
      try {
        const { members } = await primary.describeGroup(group);
        if (members > 0) busy.push(`${group} (${members} member${members === 1 ? '' : 's'})`);
      } catch (e: unknown) {
        // Translation reports the group's error itself; an unanswered question is no reason to wait.
        logger.warn('failback switch: could not describe a consumer group on the primary', {
          group,
          error: describeError(e),
        });
      }
    }
    if (busy.length === 0) {
      if (sw.groupsWaitSince !== undefined) {
        logger.info('failback switch: consumer groups have no members on the primary now', {
          waitedSeconds: Math.round((clock.now() - Date.parse(sw.groupsWaitSince)) / 1000),
        });
      }
      return { kind: 'idle' };
    }
    if (sw.groupsWaitSince === undefined) {
      sw.groupsWaitSince = new Date(clock.now()).toISOString();
      logger.info('failback switch: waiting for consumer groups to have no members on the primary', {
        busy,
        upToSeconds: config.failback.groupIdleWaitSeconds,
      });
      await ctx.save();
    }
    const waited = clock.now() - Date.parse(sw.groupsWaitSince);
    if (waited >= limitMs) {
      logger.warn(
        'failback switch: consumer groups still have members on the primary; their offsets are not translated',
        { busy, waitedSeconds: Math.round(waited / 1000) },
      );
      return { kind: 'gave-up', busy };
    }
    const step = Math.min(POLL_MS, limitMs - waited);
    if (ctx.remainingMs() < step) {
      await ctx.save();
      return { kind: 'deadline', busy, secondsLeft: Math.ceil((limitMs - waited) / 1000) };
    }
    await ctx.pause(step);
  }
}
