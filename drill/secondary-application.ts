import type { HarnessInfo } from '#harness/info.ts';
import type { ActiveClientConfig } from '#shared/client/active-client-config.ts';
import type { ActiveConfigSource } from '#shared/client/active-config-watcher.ts';
import { Redacted } from '#shared/store/redacted.ts';
import { TOPIC } from './drill-config.ts';

/** Where the secondary's application numbers its records: far from the primary's, so the books tell them apart. */
export const SECONDARY_FIRST_NUMBER = 1_000_000;

/**
 * The configuration the secondary's own application uses in active-active: its home cluster, always. It is
 * never in the primary's deployment, so nothing the primary's failover or failback writes moves it. It is made
 * from the primary's configuration of epoch 0 (the harness gives both clusters the same certificates): the
 * secondary's address, and the topic mapping of a cluster's own application (produce and read the local topic;
 * the primary's copy is remote).
 */
export function secondaryHome(primaryHome: ActiveClientConfig, info: HarnessInfo): ActiveConfigSource {
  const secondary = info.clusters.secondary;
  const brokers = (secondary.tlsBootstrapServers ?? '').split(',');
  const remote = `${info.clusters.primary.alias}${info.mirror.direction.separator}${TOPIC}`;
  const config: ActiveClientConfig = {
    ...primaryHome,
    cluster: 'secondary',
    alias: secondary.alias,
    bootstrapServers: brokers,
    kafka: new Redacted({ ...primaryHome.kafka.reveal(), brokers }),
    topics: { [TOPIC]: { produce: TOPIC, subscribe: [TOPIC], remote: [remote] } },
    reason: "the secondary's own application: never moved",
  };
  return { current: () => config, subscribe: () => () => {}, maxPollDelayMs: 1_000 };
}
