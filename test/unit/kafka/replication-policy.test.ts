import { describe, expect, it } from 'vitest';
import { remoteTopicName } from '#shared/config/topic-mapping.ts';
import { offsetSyncsTopic, replicationPolicy } from '#shared/kafka/replication-policy.ts';

describe('replicationPolicy', () => {
  describe('default', () => {
    const policy = replicationPolicy({ kind: 'default' });

    it('prefixes the source alias and the separator when formatting a remote topic', () => {
      expect(policy.formatRemoteTopic('primary', 'orders')).toBe('primary.orders');
    });

    it('reads the source and upstream topic back from a remote name', () => {
      expect(policy.topicSource('primary.orders')).toBe('primary');
      expect(policy.upstreamTopic('primary.orders')).toBe('orders');
    });

    it('keeps everything after the first separator as the upstream topic when names contain dots', () => {
      expect(policy.topicSource('primary.orders.v2')).toBe('primary');
      expect(policy.upstreamTopic('primary.orders.v2')).toBe('orders.v2');
    });

    it('treats a topic without a separator as local', () => {
      expect(policy.topicSource('orders')).toBeUndefined();
      expect(policy.upstreamTopic('orders')).toBeUndefined();
    });

    it("treats a trailing separator as local, as Java's split drops trailing empty parts", () => {
      expect(policy.topicSource('orders.')).toBeUndefined();
    });

    it('follows every hop to the original topic when a topic was mirrored twice', () => {
      expect(policy.originalTopic('K2.K1.orders')).toBe('orders');
      expect(policy.originalTopic('orders')).toBe('orders');
    });

    it('names the internal topics as MM2 does', () => {
      expect(policy.checkpointsTopic('primary')).toBe('primary.checkpoints.internal');
      expect(policy.offsetSyncsTopicName('secondary')).toBe('mm2-offset-syncs.secondary.internal');
      expect(policy.heartbeatsTopic()).toBe('heartbeats');
    });

    it('recognises checkpoints, heartbeats and internal topics', () => {
      expect(policy.isCheckpointsTopic('primary.checkpoints.internal')).toBe(true);
      expect(policy.isCheckpointsTopic('primary.orders')).toBe(false);
      expect(policy.isHeartbeatsTopic('primary.heartbeats')).toBe(true);
      expect(policy.isHeartbeatsTopic('heartbeats')).toBe(true);
      expect(policy.isHeartbeatsTopic('primary.orders')).toBe(false);
      expect(policy.isInternalTopic('__consumer_offsets')).toBe(true);
      expect(policy.isInternalTopic('mm2-offsets.primary.internal')).toBe(true);
      expect(policy.isInternalTopic('connect-configs-internal')).toBe(true);
      expect(policy.isInternalTopic('orders')).toBe(false);
    });

    it('uses a custom separator for remote and internal topics when one is configured', () => {
      const dash = replicationPolicy({ replicationPolicy: 'default', separator: '_' });
      expect(dash.formatRemoteTopic('primary', 'orders')).toBe('primary_orders');
      expect(dash.upstreamTopic('primary_orders')).toBe('orders');
      expect(dash.checkpointsTopic('primary')).toBe('primary_checkpoints_internal');
      expect(dash.offsetSyncsTopicName('secondary')).toBe('mm2-offset-syncs_secondary_internal');
    });

    it("uses '.' in internal topics when the internal separator is disabled", () => {
      const p = replicationPolicy({ kind: 'default', separator: '_', internalTopicSeparatorEnabled: false });
      expect(p.checkpointsTopic('primary')).toBe('primary.checkpoints.internal');
      expect(p.formatRemoteTopic('primary', 'orders')).toBe('primary_orders');
    });
  });

  describe('identity', () => {
    const policy = replicationPolicy({ kind: 'identity' });

    it('keeps topic names when formatting a remote topic', () => {
      expect(policy.formatRemoteTopic('primary', 'orders')).toBe('orders');
      expect(policy.upstreamTopic('orders')).toBe('orders');
      expect(policy.originalTopic('orders')).toBe('orders');
    });

    it('still prefixes heartbeats, so heartbeats of different clusters stay apart', () => {
      expect(policy.formatRemoteTopic('primary', 'heartbeats')).toBe('primary.heartbeats');
      expect(policy.topicSource('primary.heartbeats')).toBe('primary');
      expect(policy.upstreamTopic('primary.heartbeats')).toBe('heartbeats');
    });

    it('cannot tell the source from the name unless source.cluster.alias is configured', () => {
      expect(policy.topicSource('orders')).toBeUndefined();
      expect(
        replicationPolicy({ kind: 'identity', sourceClusterAlias: 'primary' }).topicSource('orders'),
      ).toBe('primary');
    });

    it('names checkpoints like the default policy', () => {
      expect(policy.checkpointsTopic('primary')).toBe('primary.checkpoints.internal');
    });
  });

  describe('offsetSyncsTopic', () => {
    const policy = replicationPolicy({ kind: 'default' });

    it('puts offset syncs on the source, named after the target, by default location', () => {
      expect(
        offsetSyncsTopic(policy, { sourceAlias: 'primary', targetAlias: 'secondary', location: 'source' }),
      ).toEqual({ cluster: 'source', topic: 'mm2-offset-syncs.secondary.internal' });
    });

    it('puts offset syncs on the target, named after the source, when location is target (KIP-716)', () => {
      expect(
        offsetSyncsTopic(policy, { sourceAlias: 'primary', targetAlias: 'secondary', location: 'target' }),
      ).toEqual({ cluster: 'target', topic: 'mm2-offset-syncs.primary.internal' });
    });
  });

  describe('remoteTopicName (config/topic-mapping)', () => {
    it('delegates to the configured policy', () => {
      expect(remoteTopicName({ replicationPolicy: 'default', separator: '.' }, 'primary', 'orders')).toBe(
        'primary.orders',
      );
      expect(remoteTopicName({ replicationPolicy: 'identity', separator: '.' }, 'primary', 'orders')).toBe(
        'orders',
      );
    });
  });
});
