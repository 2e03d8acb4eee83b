import type { ClientRole } from '../config/contract.ts';
import { configFingerprint } from '../kafka/client-factory.ts';
import type { ActiveClientConfig } from './active-client-config.ts';

/**
 * The configuration one role uses in this epoch: the held-back cluster (its address, credentials and topic
 * routes) when the active configuration holds this role back during a staged failback switch, the active
 * cluster otherwise. The result has no `holdback`: it is what a producer (`'producers'`) or a consumer
 * (`'consumers'`) connects to.
 *
 * @example
 * ```ts
 * const active = await loadActiveConfig({ deployment: 'orders-dr', stores, kafka: { clientId: 'report' } });
 * const view = roleView(active, 'consumers');
 * const consumer = new Kafka(view.kafka.reveal()).consumer({ groupId: 'report' });
 * await consumer.subscribe({ topics: routeOf(view, 'orders')?.subscribe ?? [] });
 * ```
 */
export function roleView(config: ActiveClientConfig, role: ClientRole): ActiveClientConfig {
  const { holdback, ...rest } = config;
  if (holdback === undefined || holdback.role !== role) return rest;
  const { role: _role, sasl, ...cluster } = holdback;
  const { sasl: _activeSasl, ...withoutSasl } = rest;
  return { ...withoutSasl, ...cluster, ...(sasl ? { sasl } : {}) };
}

/**
 * Whether a client built for `a` serves `b` as it is: the same cluster, brokers, protocol, SASL settings and
 * credentials (compared through a digest that is never kept or printed). A new epoch that leaves a role where it
 * was (held back) is then followed without reconnecting.
 */
export function sameConnection(a: ActiveClientConfig, b: ActiveClientConfig): boolean {
  return (
    sameCluster(a, b) &&
    a.securityProtocol === b.securityProtocol &&
    JSON.stringify(a.sasl ?? null) === JSON.stringify(b.sasl ?? null) &&
    configFingerprint(a.kafka.reveal()) === configFingerprint(b.kafka.reveal())
  );
}

/**
 * Whether `a` and `b` point at the same cluster (role, alias and brokers), whatever credentials they carry. A
 * client that reconnects from one to the other finds its group's committed offsets and its topics where it left
 * them: an epoch that only rotated the credentials (`refresh-credentials`) needs a reconnect, not a switch.
 */
export function sameCluster(a: ActiveClientConfig, b: ActiveClientConfig): boolean {
  return (
    a.cluster === b.cluster &&
    a.alias === b.alias &&
    JSON.stringify(a.bootstrapServers) === JSON.stringify(b.bootstrapServers)
  );
}
