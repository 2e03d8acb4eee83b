import type { Admin } from 'kafkajs';
import { describeError, KafkaOperationError } from '../errors.ts';

/**
 * The broker-side write fence of a planned switchover: every watched topic on the primary gets
 * `max.message.bytes=0`, so the broker rejects every produce batch (a batch is never smaller than its 61-byte
 * header) with MESSAGE_TOO_LARGE, whoever sends it and whatever its acks: the library's producers and everyone
 * else's. Replication and consumers are untouched (followers and fetches are not validated against it), and MM2's
 * own producers write to the secondary, so the mirror drains what is left. Why this fence and not ACLs: see
 * docs/design.md ("Planned switchover").
 *
 * kafkajs has only the non-incremental AlterConfigs, which replaces a topic's whole set of overrides: the fence
 * therefore reads every override first, raises with them plus the fence, and lowers by writing them back exactly.
 */

const FENCE_CONFIG = 'max.message.bytes';
const FENCED_VALUE = '0';

/** A topic's own configuration overrides before the fence (what lowering writes back). */
export interface TopicOverrides {
  topic: string;
  overrides: Record<string, string>;
}

export interface WriteFence {
  /** Every override of `topics` as the broker holds them now. */
  read(topics: readonly string[]): Promise<TopicOverrides[]>;
  /** Fence the topics: their overrides plus `max.message.bytes=0`. Idempotent. */
  raise(before: readonly TopicOverrides[]): Promise<void>;
  /** Write the overrides back as they were before the fence. Idempotent. */
  lower(before: readonly TopicOverrides[]): Promise<void>;
  /** Which of `topics` carry the fence now (on the secondary: a fence MM2's topic-config sync copied there). */
  fenced(topics: readonly string[]): Promise<string[]>;
}

/** kafkajs' ConfigResourceTypes.TOPIC and ConfigSource.TOPIC_CONFIG (numbers kafkajs exports as enums). */
const TOPIC_RESOURCE = 2;
const TOPIC_CONFIG_SOURCE = 1;

type FenceAdmin = Pick<Admin, 'describeConfigs' | 'alterConfigs'>;

/** The fence on a cluster reached through a kafkajs admin (obtained per call: a cached one is rebuilt on failure). */
export function topicConfigFence(admin: () => Promise<FenceAdmin>): WriteFence {
  const alter = async (what: string, wanted: readonly TopicOverrides[]): Promise<void> => {
    if (wanted.length === 0) return;
    try {
      await (await admin()).alterConfigs({
        validateOnly: false,
        resources: wanted.map((t) => ({
          type: TOPIC_RESOURCE,
          name: t.topic,
          configEntries: Object.entries(t.overrides).map(([name, value]) => ({ name, value })),
        })),
      });
    } catch (e: unknown) {
      throw new KafkaOperationError(
        'fence-failed',
        `could not ${what} on the primary's topics ${wanted.map((t) => t.topic).join(', ')}: ${describeError(e)}`,
        { cause: e },
      );
    }
  };
  const describe = async (topics: readonly string[]) => {
    try {
      return await (await admin()).describeConfigs({
        includeSynonyms: false,
        resources: topics.map((name) => ({ type: TOPIC_RESOURCE, name })),
      });
    } catch (e: unknown) {
      throw new KafkaOperationError(
        'fence-failed',
        `could not read the configuration of topics ${topics.join(', ')}: ${describeError(e)}`,
        { cause: e },
      );
    }
  };
  return {
    async fenced(topics) {
      if (topics.length === 0) return [];
      const described = await describe(topics);
      return described.resources
        .filter((r) =>
          r.configEntries.some(
            (e) =>
              e.configName === FENCE_CONFIG &&
              e.configSource === TOPIC_CONFIG_SOURCE &&
              e.configValue === FENCED_VALUE,
          ),
        )
        .map((r) => r.resourceName);
    },
    async read(topics) {
      if (topics.length === 0) return [];
      const described = await describe(topics);
      return topics.map((topic) => {
        const resource = described.resources.find((r) => r.resourceName === topic);
        if (resource?.errorCode !== 0) {
          throw new KafkaOperationError(
            'fence-failed',
            `expected the configuration of topic '${topic}' on the primary, got ${resource ? `error ${resource.errorCode}: ${resource.errorMessage}` : 'no answer for it'}`,
          );
        }
        const overrides: Record<string, string> = {};
        for (const entry of resource.configEntries) {
          if (entry.configSource === TOPIC_CONFIG_SOURCE && !entry.isSensitive) {
            overrides[entry.configName] = entry.configValue;
          }
        }
        // A fence found already up (a run interrupted between raising and journaling it) is not an override to
        // restore: lowering removes it.
        if (overrides[FENCE_CONFIG] === FENCED_VALUE) delete overrides[FENCE_CONFIG];
        return { topic, overrides };
      });
    },
    raise: (before) =>
      alter(
        'raise the write fence',
        before.map((t) => ({ topic: t.topic, overrides: { ...t.overrides, [FENCE_CONFIG]: FENCED_VALUE } })),
      ),
    lower: (before) => alter('lower the write fence', before),
  };
}
