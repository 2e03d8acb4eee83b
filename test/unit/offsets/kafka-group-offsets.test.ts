import { describe, expect, it } from 'vitest';
import type { ClusterClient, FetchResult } from '#shared/kafka/cluster-client.ts';
import { encodeCheckpointKey, encodeCheckpointValue } from '#shared/kafka/mm2-records.ts';
import { kafkaGroupOffsets } from '#shared/offsets/kafka-group-offsets.ts';

describe('kafkaGroupOffsets', () => {
  const checkpointRecord = (
    group: string,
    partition: number,
    upstream: bigint,
    downstream: bigint,
    offset: number,
  ) => ({
    offset,
    timestamp: 1,
    key: encodeCheckpointKey({ group, topic: 'primary.orders', partition }),
    value: encodeCheckpointValue({ upstreamOffset: upstream, downstreamOffset: downstream, metadata: '' }),
  });

  /** A one-partition checkpoints topic holding `records`, read the way MirrorClient reads it. */
  function cluster(
    records: ReturnType<typeof checkpointRecord>[],
    commits: unknown[] = [],
  ): Pick<
    ClusterClient,
    'metadata' | 'listOffsets' | 'fetch' | 'commitGroupOffsets' | 'describeGroups' | 'groupOffsets'
  > {
    const end = records.length;
    return {
      describeGroups: async () => {
        throw new Error('not needed');
      },
      groupOffsets: async () => {
        throw new Error('not needed');
      },
      commitGroupOffsets: async (groupId, offsets) => {
        commits.push({ groupId, offsets });
        throw new Error('commit offsets of group billing: UNKNOWN_MEMBER_ID on 1 partition(s)');
      },
      metadata: async (topics) => ({
        clusterId: 'c',
        controllerId: 1,
        brokers: [{ nodeId: 1, host: 'h', port: 1, rack: null }],
        topics: new Map(
          topics.map((t) => [
            t,
            {
              topic: t,
              partitions: [{ partition: 0, leader: 1, replicas: [1], isr: [1], offlineReplicas: [] }],
            },
          ]),
        ),
      }),
      listOffsets: async (partitions, spec) =>
        partitions.map((p) => ({ ...p, offset: spec === 'earliest' ? 0 : end })),
      fetch: async (requests) =>
        requests.map(
          (r): FetchResult => ({
            topic: r.topic,
            partition: r.partition,
            highWatermark: end,
            nextOffset: end,
            records: records.filter((x) => x.offset >= r.offset).map((x) => ({ ...x, headers: {} })),
          }),
        ),
    };
  }

  it('reads the last checkpoint per partition of the asked groups from the checkpoints topic', async () => {
    const offsets = kafkaGroupOffsets({
      cluster: async () =>
        cluster([
          checkpointRecord('billing', 0, 10n, 9n, 0),
          checkpointRecord('other', 0, 5n, 5n, 1),
          checkpointRecord('billing', 0, 20n, 19n, 2),
        ]),
      checkpointsTopic: 'primary.checkpoints.internal',
    });

    const cps = await offsets.readCheckpoints(['billing']);

    expect(cps.map((c) => [c.group, c.partition, c.upstreamOffset, c.downstreamOffset])).toEqual([
      ['billing', 0, 20, 19],
    ]);
  });

  it('describes every group asked in one turn with one request, reads and commits at the coordinator, and reports a failure so clients are rebuilt', async () => {
    const described: string[][] = [];
    const commits: unknown[] = [];
    let failures = 0;
    const base = cluster([], commits);
    const offsets = kafkaGroupOffsets({
      cluster: async () => ({
        ...base,
        describeGroups: async (ids) => {
          described.push([...ids]);
          return ids.map((groupId) => ({
            groupId,
            state: groupId === 'billing' ? 'Empty' : 'Stable',
            members: groupId === 'billing' ? 0 : 2,
          }));
        },
        groupOffsets: async () => [
          { topic: 'primary.orders', partition: 0, offset: 7 },
          { topic: 'other', partition: 0, offset: 3 },
        ],
      }),
      checkpointsTopic: 't',
      onFailure: () => {
        failures += 1;
      },
    });

    expect(await Promise.all([offsets.describeGroup('billing'), offsets.describeGroup('shipping')])).toEqual([
      { state: 'Empty', members: 0 },
      { state: 'Stable', members: 2 },
    ]);
    expect(described).toEqual([['billing', 'shipping']]);
    expect(await offsets.committedOffsets('billing', ['primary.orders'])).toEqual([
      { topic: 'primary.orders', partition: 0, offset: 7 },
    ]);
    await expect(
      offsets.commitOffsets('billing', 'primary.orders', [{ partition: 0, offset: 19 }]),
    ).rejects.toThrow('UNKNOWN_MEMBER_ID');
    expect(commits).toEqual([
      { groupId: 'billing', offsets: [{ topic: 'primary.orders', partition: 0, offset: 19 }] },
    ]);
    expect(failures).toBe(1);
  });
});
