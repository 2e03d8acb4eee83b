import type { TopicRoute } from '../config/contract.ts';

type Routes = Readonly<Record<string, TopicRoute>>;

/**
 * Which topics a consumer reads in normal running. `local` (the documented active-active model): each cluster's
 * consumers read the topic produced on their cluster, so each record is processed once, by the consumers of the
 * cluster it was produced on. `aggregate`: also the copies mirrored in from the other cluster (`K2.orders`), for
 * an application that wants the global view; every record is then processed on both sides.
 */
export type SubscriptionMode = 'local' | 'aggregate';

/** The route of a logical topic, or `undefined` when the active configuration does not map it. */
export function routeOf(topics: Routes, logicalTopic: string): TopicRoute | undefined {
  return Object.hasOwn(topics, logicalTopic) ? topics[logicalTopic] : undefined;
}

/**
 * Every topic to subscribe to on the active cluster for these logical topics, in order, without duplicates
 * (active-active, `aggregate`: `orders` and `K1.orders`). Logical topics the mapping lacks are returned in
 * `unmapped`.
 */
export function subscriptionOf(
  topics: Routes,
  logicalTopics: readonly string[],
  mode: SubscriptionMode = 'local',
): { topics: string[]; unmapped: string[] } {
  return collect(topics, logicalTopics, (route) =>
    mode === 'aggregate' ? [...route.subscribe, ...(route.remote ?? [])] : route.subscribe,
  );
}

/**
 * The topics a `local` consumer reads to their end before it joins its group on the subscription (the mirrored
 * copy of the cluster it moved away from). None for `aggregate`: it reads them as part of its subscription.
 */
export function drainTopicsOf(
  topics: Routes,
  logicalTopics: readonly string[],
  mode: SubscriptionMode,
): string[] {
  if (mode === 'aggregate') return [];
  return collect(topics, logicalTopics, (route) => route.drain ?? []).topics;
}

function collect(
  topics: Routes,
  logicalTopics: readonly string[],
  pick: (route: TopicRoute) => readonly string[],
): { topics: string[]; unmapped: string[] } {
  const out: string[] = [];
  const unmapped: string[] = [];
  for (const logical of logicalTopics) {
    const route = routeOf(topics, logical);
    if (!route) {
      unmapped.push(logical);
      continue;
    }
    for (const t of pick(route)) if (!out.includes(t)) out.push(t);
  }
  return { topics: out, unmapped };
}

/** The logical topic a read topic belongs to (`primary.orders`, `K1.orders` → `orders`), or the topic itself. */
export function logicalTopicOf(topics: Routes, topic: string): string {
  for (const [logical, route] of Object.entries(topics)) {
    if (route.subscribe.includes(topic) || route.remote?.includes(topic) || route.drain?.includes(topic)) {
      return logical;
    }
  }
  return topic;
}
