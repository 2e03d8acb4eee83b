import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { ValidationError } from '#shared/errors.ts';
import { failoverEnvironment } from '#shared/failover/dependencies.ts';
import { kafkaGroupOffsets } from '#shared/failover/kafka-group-offsets.ts';
import type { ClusterClient, FetchResult } from '#shared/kafka/cluster-client.ts';
import { encodeCheckpointKey, encodeCheckpointValue } from '#shared/kafka/mm2-records.ts';
import { SnsNotifier } from '#shared/notify/sns-notifier.ts';

const sns = mockClient(SNSClient);

describe('SnsNotifier', () => {
  beforeEach(() => sns.reset());

  it('publishes subject, text and attributes to the topic and returns the message id', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    const notifier = new SnsNotifier(new SNSClient({}), 'arn:aws:sns:eu-west-1:1:t');

    const out = await notifier.publish({
      subject: 's',
      text: 't',
      attributes: { event: 'failover.switched' },
    });

    expect(out).toEqual({ messageId: 'm-1' });
    expect(sns.commandCalls(PublishCommand)[0]?.args[0].input).toEqual({
      TopicArn: 'arn:aws:sns:eu-west-1:1:t',
      Subject: 's',
      Message: 't',
      MessageAttributes: { event: { DataType: 'String', StringValue: 'failover.switched' } },
    });
  });

  it('maps an SNS failure to the product error naming the topic', async () => {
    sns.on(PublishCommand).rejects(Object.assign(new Error('x'), { name: 'AuthorizationErrorException' }));

    await expect(
      new SnsNotifier(new SNSClient({}), 'arn:t').publish({ subject: 's', text: 't', attributes: {} }),
    ).rejects.toThrow('AWS call on SNS topic arn:t failed: AuthorizationErrorException');
  });
});

describe('failoverEnvironment', () => {
  it('names every missing variable', () => {
    const err = (() => {
      try {
        failoverEnvironment({});
      } catch (e: unknown) {
        return e as ValidationError;
      }
      return undefined;
    })();

    expect(err).toBeInstanceOf(ValidationError);
    expect(err?.problems.map((p) => p.path)).toEqual(['MM2_FAILOVER_TABLE', 'MM2_FAILOVER_TOPIC_ARN']);
  });
});

describe('kafkaGroupOffsets', () => {
  const checkpointRecord = (
    group: string,
    partition: number,
    upstream: bigint,
    downstream: bigint,
    offset: bigint,
  ) => ({
    offset,
    timestamp: 1,
    key: encodeCheckpointKey({ group, topic: 'primary.orders', partition }),
    value: encodeCheckpointValue({ upstreamOffset: upstream, downstreamOffset: downstream, metadata: '' }),
  });

  /** A one-partition checkpoints topic holding `records`, read the way MirrorClient reads it. */
  function cluster(
    records: ReturnType<typeof checkpointRecord>[],
  ): Pick<ClusterClient, 'metadata' | 'listOffsets' | 'fetch'> {
    const end = BigInt(records.length);
    return {
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
        partitions.map((p) => ({ ...p, offset: spec === 'earliest' ? 0n : end })),
      fetch: async (requests) =>
        requests.map(
          (r): FetchResult => ({
            topic: r.topic,
            partition: r.partition,
            highWatermark: end,
            nextOffset: end,
            records: records.filter((x) => x.offset >= r.offset),
          }),
        ),
    };
  }

  it('reads the last checkpoint per partition of the asked groups from the checkpoints topic', async () => {
    const offsets = kafkaGroupOffsets({
      admin: async () => {
        throw new Error('not needed');
      },
      cluster: async () =>
        cluster([
          checkpointRecord('billing', 0, 10n, 9n, 0n),
          checkpointRecord('other', 0, 5n, 5n, 1n),
          checkpointRecord('billing', 0, 20n, 19n, 2n),
        ]),
      checkpointsTopic: 'primary.checkpoints.internal',
    });

    const cps = await offsets.readCheckpoints(['billing']);

    expect(
      cps.map((c) => [c.group, c.partition, Number(c.upstreamOffset), Number(c.downstreamOffset)]),
    ).toEqual([['billing', 0, 20, 19]]);
  });

  it('describes, fetches and commits through the kafkajs admin, and reports a failure so clients are rebuilt', async () => {
    const calls: unknown[] = [];
    let failures = 0;
    const admin = {
      describeGroups: async (ids: string[]) => ({
        groups: ids.map((groupId) => ({
          groupId,
          state: 'Empty',
          members: [],
          protocol: '',
          protocolType: 'consumer',
          errorCode: 0,
        })),
      }),
      fetchOffsets: async (o: { groupId: string; topics?: string[] }) => {
        calls.push(['fetchOffsets', o]);
        return [{ topic: 'primary.orders', partitions: [{ partition: 0, offset: '-1', metadata: null }] }];
      },
      setOffsets: async (o: unknown) => {
        calls.push(['setOffsets', o]);
        throw new Error('The consumer group must have no running instances');
      },
    };
    const offsets = kafkaGroupOffsets({
      admin: async () => admin as never,
      cluster: async () => cluster([]),
      checkpointsTopic: 't',
      onFailure: () => {
        failures += 1;
      },
    });

    expect(await offsets.describeGroup('billing')).toEqual({ state: 'Empty', members: 0 });
    expect(await offsets.committedOffsets('billing', ['primary.orders'])).toEqual([
      { topic: 'primary.orders', partition: 0, offset: -1 },
    ]);
    await expect(
      offsets.commitOffsets('billing', 'primary.orders', [{ partition: 0, offset: 19 }]),
    ).rejects.toThrow('no running instances');
    expect(calls.at(-1)).toEqual([
      'setOffsets',
      { groupId: 'billing', topic: 'primary.orders', partitions: [{ partition: 0, offset: '19' }] },
    ]);
    expect(failures).toBe(1);
  });
});
