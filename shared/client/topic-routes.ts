import type { TopicRoute } from '../config/contract.ts';

type Routes = Readonly<Record<string, TopicRoute>>;

/** The route of a logical topic, or `undefined` when the active configuration does not map it. */
export function routeOf(topics: Routes, logicalTopic: string): TopicRoute | undefined {
  return Object.hasOwn(topics, logicalTopic) ? topics[logicalTopic] : undefined;
}

/**
 * Every topic to subscribe to on the active cluster for these logical topics, in order, without duplicates
 * (active-active: `orders` and `K1.orders`). Logical topics the mapping lacks are returned in `unmapped`.
 */
export function subscriptionOf(
  topics: Routes,
  logicalTopics: readonly string[],
): { topics: string[]; unmapped: string[] } {
  const out: string[] = [];
  const unmapped: string[] = [];
  for (const logical of logicalTopics) {
    const route = routeOf(topics, logical);
    if (!route) {
      unmapped.push(logical);
      continue;
    }
    for (const t of route.subscribe) if (!out.includes(t)) out.push(t);
  }
  return { topics: out, unmapped };
}

/** The logical topic a subscribed topic belongs to (`primary.orders` → `orders`), or the topic itself. */
export function logicalTopicOf(topics: Routes, topic: string): string {
  for (const [logical, route] of Object.entries(topics)) {
    if (route.subscribe.includes(topic)) return logical;
  }
  return topic;
}
