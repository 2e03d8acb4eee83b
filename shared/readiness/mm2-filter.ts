/**
 * MirrorMaker 2's include/exclude lists, as `DefaultTopicFilter` and `DefaultGroupFilter` read them: a
 * comma-separated list of Java regular expressions, each trimmed, joined into one pattern that must match the
 * whole name; a name passes when it matches the include list and not the exclude list. The default excludes are
 * MM2's (Kafka 3.x and 4.x). The patterns MM2 users write (`.*`, `orders|payments`, `app\..*`) mean the same in
 * JavaScript; one that does not compile here is reported as such, not guessed at.
 */
export const DEFAULT_TOPICS_EXCLUDE = '.*[\\-\\.]internal, .*\\.replica, __.*';
export const DEFAULT_GROUPS_EXCLUDE = 'console-consumer-.*, connect-.*, __.*';

export interface Mm2Filter {
  include: string;
  exclude: string;
}

export type FilterVerdict = { covered: true } | { covered: false; why: string };

/** Whether `name` passes the filter, and if not, which list stops it. */
export function filterCovers(filter: Mm2Filter, name: string): FilterVerdict {
  if (!matches(filter.include, name)) return { covered: false, why: `not matched by '${filter.include}'` };
  if (matches(filter.exclude, name)) return { covered: false, why: `excluded by '${filter.exclude}'` };
  return { covered: true };
}

/** The list's entries, as MM2 splits them. */
export function filterEntries(list: string): string[] {
  return list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function matches(list: string, name: string): boolean {
  const entries = filterEntries(list);
  if (entries.length === 0) return false;
  return new RegExp(`^(?:${entries.join('|')})$`).test(name);
}

/** A regex that matches exactly `name` (for adding one topic to an include list). */
export function literalPattern(name: string): string {
  return name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
