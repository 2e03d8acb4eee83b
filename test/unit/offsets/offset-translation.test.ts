import { describe, expect, it } from 'vitest';
import { tpKey } from '#shared/kafka/topic-partition.ts';
import {
  commitGroupOffsets,
  latestCheckpoints,
  planGroupOffsets,
  secondarySideTopics,
} from '#shared/offsets/offset-translation.ts';
import { FakeSecondaryGroups, testConfig } from '../failover/fakes.ts';

const cp = (group: string, topic: string, partition: number, upstream: number, downstream: number) => ({
  group,
  topic,
  partition,
  upstreamOffset: upstream,
  downstreamOffset: downstream,
});

describe('secondarySideTopics', () => {
  it('names the mirrored topics under the default policy and the local ones too when active-active', () => {
    expect(secondarySideTopics(testConfig())).toEqual(['primary.orders', 'primary.payments']);
    expect(secondarySideTopics(testConfig({ replicationPolicy: 'identity' }))).toEqual([
      'orders',
      'payments',
    ]);
    expect(secondarySideTopics(testConfig({ mode: 'active-active' }))).toEqual([
      'orders',
      'primary.orders',
      'payments',
      'primary.payments',
    ]);
  });
});

describe('latestCheckpoints', () => {
  it('keeps the last checkpoint per group, topic and partition, as MirrorClient does', () => {
    const latest = latestCheckpoints([
      cp('g', 't', 0, 10, 8),
      cp('g', 't', 1, 5, 5),
      cp('g', 't', 0, 20, 18),
      cp('h', 't', 0, 1, 1),
    ]);

    expect([...latest.values()].map((c) => [c.group, c.partition, c.downstreamOffset])).toEqual([
      ['g', 0, 18],
      ['g', 1, 5],
      ['h', 0, 1],
    ]);
  });
});

describe('planGroupOffsets', () => {
  it('plans to commit the translated offset where the group is empty and has nothing committed', async () => {
    const groups = new FakeSecondaryGroups();
    groups.checkpoints = [
      cp('billing', 'primary.orders', 0, 100, 90),
      cp('billing', 'primary.orders', 0, 150, 140),
    ];

    const [plan] = await planGroupOffsets(testConfig(), groups);

    expect(plan).toEqual({
      group: 'billing',
      state: 'Dead',
      members: 0,
      decision: 'commit',
      partitions: [
        {
          topic: 'primary.orders',
          partition: 0,
          upstream: 150,
          translated: 140,
          committed: null,
          commit: true,
        },
      ],
    });
  });

  it('leaves partitions that MM2 already synced at or past the translation', async () => {
    const groups = new FakeSecondaryGroups();
    groups.checkpoints = [
      cp('billing', 'primary.orders', 0, 100, 90),
      cp('billing', 'primary.orders', 1, 60, 50),
    ];
    groups.states.set('billing', { state: 'Empty', members: 0 });
    groups.committed.set(
      'billing',
      new Map([
        [tpKey('primary.orders', 0), 90],
        [tpKey('primary.orders', 1), 40],
      ]),
    );

    const [plan] = await planGroupOffsets(testConfig(), groups);

    expect(plan?.decision).toBe('commit');
    expect(plan?.partitions.map((p) => [p.partition, p.committed, p.commit])).toEqual([
      [0, 90, false],
      [1, 40, true],
    ]);
  });

  it('says up-to-date when every partition is already at or past the translation', async () => {
    const groups = new FakeSecondaryGroups();
    groups.checkpoints = [cp('billing', 'primary.orders', 0, 100, 90)];
    groups.committed.set('billing', new Map([[tpKey('primary.orders', 0), 95]]));

    expect((await planGroupOffsets(testConfig(), groups))[0]?.decision).toBe('up-to-date');
  });

  it('commits nothing for a group with active members on the secondary', async () => {
    const groups = new FakeSecondaryGroups();
    groups.checkpoints = [cp('billing', 'primary.orders', 0, 100, 90)];
    groups.states.set('billing', { state: 'Stable', members: 2 });

    const [plan] = await planGroupOffsets(testConfig(), groups);

    expect(plan?.decision).toBe('group-active');
    expect(plan?.partitions.every((p) => !p.commit)).toBe(true);
  });

  it('says no-checkpoints for a group MM2 never checkpointed, and ignores topics outside the mapping', async () => {
    const groups = new FakeSecondaryGroups();
    groups.checkpoints = [cp('billing', 'primary.other', 0, 1, 1), cp('billing', 'orders', 0, 1, 1)];

    expect((await planGroupOffsets(testConfig(), groups))[0]?.decision).toBe('no-checkpoints');
  });

  it('reads the local and the mirrored topic of an active-active deployment', async () => {
    const groups = new FakeSecondaryGroups();
    groups.checkpoints = [cp('billing', 'orders', 0, 7, 7), cp('billing', 'primary.orders', 0, 9, 8)];

    const [plan] = await planGroupOffsets(testConfig({ mode: 'active-active' }), groups);

    expect(plan?.partitions.map((p) => p.topic)).toEqual(['orders', 'primary.orders']);
  });

  it('commits the translated offsets of the topic to drain into the drain group while the group itself is busy there (active-active)', async () => {
    // Arrange: the secondary's own consumers are members of billing there.
    const groups = new FakeSecondaryGroups();
    groups.states.set('billing', { state: 'Stable', members: 2 });
    groups.checkpoints = [cp('billing', 'orders', 0, 7, 7), cp('billing', 'primary.orders', 0, 9, 8)];

    // Act
    const plans = await planGroupOffsets(testConfig({ mode: 'active-active' }), groups);
    const outcomes = await commitGroupOffsets(plans, groups);

    // Assert
    expect(plans.map((p) => [p.group, p.decision, p.partitions.map((x) => x.topic)])).toEqual([
      ['billing', 'group-active', ['orders', 'primary.orders']],
      ['billing.drain', 'commit', ['primary.orders']],
    ]);
    expect(outcomes.map((o) => [o.group, o.outcome])).toEqual([
      ['billing', 'group-active'],
      ['billing.drain', 'committed'],
    ]);
    expect(groups.commits).toEqual([
      { group: 'billing.drain', topic: 'primary.orders', partitions: [{ partition: 0, offset: 8 }] },
    ]);
  });

  it("plans the drain group with failoverTopics 'local' and not with the mirrored default", async () => {
    const groups = new FakeSecondaryGroups();
    groups.checkpoints = [cp('billing', 'primary.orders', 0, 9, 8)];

    const local = await planGroupOffsets(testConfig({ failoverTopics: 'local' }), groups);
    const mirrored = await planGroupOffsets(testConfig(), groups);

    expect(local.map((p) => [p.group, p.decision])).toEqual([
      ['billing', 'commit'],
      ['billing.drain', 'commit'],
    ]);
    expect(mirrored.map((p) => p.group)).toEqual(['billing']);
  });

  it('reports a group that cannot be described as an error without failing the others', async () => {
    const groups = new FakeSecondaryGroups();
    groups.checkpoints = [
      cp('billing', 'primary.orders', 0, 1, 1),
      cp('shipping', 'primary.orders', 0, 1, 1),
    ];
    const describe = groups.describeGroup.bind(groups);
    groups.describeGroup = async (g) => {
      if (g === 'billing') throw new Error('coordinator not available');
      return describe(g);
    };

    const plans = await planGroupOffsets(testConfig({ consumerGroups: ['billing', 'shipping'] }), groups);

    expect(plans.map((p) => [p.group, p.decision, p.error])).toEqual([
      ['billing', 'error', 'Error: coordinator not available'],
      ['shipping', 'commit', undefined],
    ]);
  });

  it('plans nothing when no consumer groups are configured', async () => {
    expect(await planGroupOffsets(testConfig({ consumerGroups: [] }), new FakeSecondaryGroups())).toEqual([]);
  });
});

describe('commitGroupOffsets', () => {
  it('commits the planned partitions and reports them per group', async () => {
    const groups = new FakeSecondaryGroups();
    groups.checkpoints = [
      cp('billing', 'primary.orders', 0, 100, 90),
      cp('billing', 'primary.orders', 1, 50, 45),
    ];
    const plans = await planGroupOffsets(testConfig(), groups);

    const outcomes = await commitGroupOffsets(plans, groups);

    expect(groups.commits).toEqual([
      {
        group: 'billing',
        topic: 'primary.orders',
        partitions: [
          { partition: 0, offset: 90 },
          { partition: 1, offset: 45 },
        ],
      },
    ]);
    expect(outcomes).toEqual([
      {
        group: 'billing',
        outcome: 'committed',
        committed: [
          { topic: 'primary.orders', partition: 0, offset: 90, previous: null },
          { topic: 'primary.orders', partition: 1, offset: 45, previous: null },
        ],
      },
    ]);
  });

  it('never moves an offset backwards when MM2 synced further between plan and commit', async () => {
    const groups = new FakeSecondaryGroups();
    groups.checkpoints = [cp('billing', 'primary.orders', 0, 100, 90)];
    const plans = await planGroupOffsets(testConfig(), groups);
    groups.committed.set('billing', new Map([[tpKey('primary.orders', 0), 120]]));

    const outcomes = await commitGroupOffsets(plans, groups);

    expect(groups.commits).toEqual([]);
    expect(outcomes[0]?.outcome).toBe('up-to-date');
  });

  it('does not commit for a group whose consumers joined between plan and commit', async () => {
    const groups = new FakeSecondaryGroups();
    groups.checkpoints = [cp('billing', 'primary.orders', 0, 100, 90)];
    const plans = await planGroupOffsets(testConfig(), groups);
    groups.states.set('billing', { state: 'Stable', members: 1 });

    const outcomes = await commitGroupOffsets(plans, groups);

    expect(groups.commits).toEqual([]);
    expect(outcomes[0]?.outcome).toBe('group-active');
  });

  it('reports a failed commit as an error of that group', async () => {
    const groups = new FakeSecondaryGroups();
    groups.checkpoints = [cp('billing', 'primary.orders', 0, 100, 90)];
    const plans = await planGroupOffsets(testConfig(), groups);
    groups.commitOffsets = async () => {
      throw new Error('NOT_COORDINATOR');
    };

    const outcomes = await commitGroupOffsets(plans, groups);

    expect(outcomes[0]).toMatchObject({ outcome: 'error', error: 'Error: NOT_COORDINATOR' });
  });

  it('is idempotent: committing the same plan twice commits once', async () => {
    const groups = new FakeSecondaryGroups();
    groups.checkpoints = [cp('billing', 'primary.orders', 0, 100, 90)];
    const plans = await planGroupOffsets(testConfig(), groups);

    await commitGroupOffsets(plans, groups);
    const second = await commitGroupOffsets(plans, groups);

    expect(groups.commits).toHaveLength(1);
    expect(second[0]?.outcome).toBe('up-to-date');
  });
});
