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
 * Every topic to subscribe to on the active cluster for these logical topics, in order, without duplicates
 * (active-active: `orders` and `K1.orders`). Logical topics the mapping lacks are returned in `unmapped`.
 */
export function subscriptionOf(
  routes: TopicRoutes,
  logicalTopics: readonly string[],
): { topics: string[]; unmapped: string[] } {
  const out: string[] = [];
  const unmapped: string[] = [];
  for (const logical of logicalTopics) {
    const route = routeOf(routes, logical);
    if (!route) {
      unmapped.push(logical);
      continue;
    }
    for (const t of route.subscribe) if (!out.includes(t)) out.push(t);
  }
  return { topics: out, unmapped };
}

/** The logical topic a subscribed topic belongs to (`primary.orders` → `orders`), or the topic itself. */
export function logicalTopicOf(routes: TopicRoutes, topic: string): string {
  for (const [logical, route] of Object.entries(routes.topics ?? {})) {
    if (route.subscribe.includes(topic)) return logical;
  }
  // The longest prefix first: `primary.` before the local topic's empty prefix.
  const prefixes = [...(routes.routing?.subscribePrefixes ?? [])].sort((a, b) => b.length - a.length);
  const prefix = prefixes.find((p) => p.length > 0 && topic.startsWith(p) && topic.length > p.length);
  return prefix === undefined ? topic : topic.slice(prefix.length);
}
