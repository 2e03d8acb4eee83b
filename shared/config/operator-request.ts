import * as z from 'zod';

/** Fields every manual invocation carries (failover, failback): why, and who, for the journal and the record. */

/** Why; it goes into the active configuration, the journal and the notification. */
export const reasonSchema = z
  .string()
  .trim()
  .min(3, 'expected a reason of at least 3 characters')
  .max(500, 'expected at most 500 characters');

/** Who; a person or a system, for the record. */
export const requestedBySchema = z
  .string()
  .trim()
  .min(1, 'expected who is asking')
  .max(128, 'expected at most 128 characters')
  .regex(/^\P{Cc}*$/u, 'expected no control characters');
