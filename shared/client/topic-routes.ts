import type { TopicRoute, TopicRouting } from '../config/contract.ts';
import { routeByRule } from '../config/topic-mapping.ts';

/**
 * A cluster's routes as the active parameter states them: the rule (`routing`, format 2) and routes listed one by
 * one (`topics`: format 1 lists every topic, format 2 only a topic that departs from the rule).
 */
export interface TopicRoutes {
  readonly routing?: TopicRouting | undefined;
  readonly topics?: Readonly<Record<string, TopicRoute>> | undefined;
}

/**
 * The route of a logical topic, or `undefined` when the active configuration does not map it (only a format 1
 * parameter, which lists its topics, can leave one unmapped; a rule maps every name).
 */
export function routeOf(routes: TopicRoutes, logicalTopic: string): TopicRoute | undefined {
  const listed = routes.topics;
  if (listed !== undefined && Object.hasOwn(listed, logicalTopic)) return listed[logicalTopic];
  return routes.routing === undefined ? undefined : routeByRule(routes.routing, logicalTopic);
}

/** The topics a format 1 parameter lists, for a refusal to name (a rule leaves nothing unmapped). */
export function listedTopics(routes: TopicRoutes): string {
  return Object.keys(routes.topics ?? {}).join(', ') || 'none';
}

/**
 * Which topics a consumer reads in normal running. `local` (the documented active-active model): each cluster's
 * consumers read the topic produced on their cluster, so each record is processed once, by the consumers of the
 * cluster it was produced on. `aggregate`: also the copies mirrored in from the other cluster (`K2.orders`), for
 * an application that wants the global view; every record is then processed on both sides.
 */
export type SubscriptionMode = 'local' | 'aggregate';

/**
 * Every topic to subscribe to on the active cluster for these logical topics, in order, without duplicates
 * (active-active, `aggregate`: `orders` and `K1.orders`). Logical topics the mapping lacks are returned in
 * `unmapped`.
 */
export function subscriptionOf(
  routes: TopicRoutes,
  logicalTopics: readonly string[],
  mode: SubscriptionMode = 'local',
): { topics: string[]; unmapped: string[] } {
  return collect(routes, logicalTopics, (route) =>
    mode === 'aggregate' ? [...route.subscribe, ...(route.remote ?? [])] : route.subscribe,
  );
}

/**
 * The topics a `local` consumer reads to their end before it joins its group on the subscription (the mirrored
 * copy of the cluster it moved away from). None for `aggregate`: it reads them as part of its subscription.
 */
export function drainTopicsOf(
  routes: TopicRoutes,
  logicalTopics: readonly string[],
  mode: SubscriptionMode,
): string[] {
  if (mode === 'aggregate') return [];
  return collect(routes, logicalTopics, (route) => route.drain ?? []).topics;
}

function collect(
  routes: TopicRoutes,
  logicalTopics: readonly string[],
  pick: (route: TopicRoute) => readonly string[],
): { topics: string[]; unmapped: string[] } {
  const out: string[] = [];
  const unmapped: string[] = [];
  for (const logical of logicalTopics) {
    const route = routeOf(routes, logical);
    if (!route) {
      unmapped.push(logical);
      continue;
    }
    for (const t of pick(route)) if (!out.includes(t)) out.push(t);
  }
  return { topics: out, unmapped };
}

/** The logical topic a read topic belongs to (`primary.orders`, `K1.orders` → `orders`), or the topic itself. */
export function logicalTopicOf(routes: TopicRoutes, topic: string): string {
  for (const [logical, route] of Object.entries(routes.topics ?? {})) {
    if (route.subscribe.includes(topic) || route.remote?.includes(topic) || route.drain?.includes(topic)) {
      return logical;
    }
  }
  // The longest prefix first: `primary.` before the local topic's empty prefix.
  const prefixes = [
    ...new Set([
      ...(routes.routing?.subscribePrefixes ?? []),
      ...(routes.routing?.remotePrefixes ?? []),
      ...(routes.routing?.drainPrefixes ?? []),
    ]),
  ].sort((a, b) => b.length - a.length);
  const prefix = prefixes.find((p) => p.length > 0 && topic.startsWith(p) && topic.length > p.length);
  return prefix === undefined ? topic : topic.slice(prefix.length);
}
