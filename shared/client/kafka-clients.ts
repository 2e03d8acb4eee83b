import {
  type ConsumerConfig,
  type ConsumerCrashEvent,
  type ConsumerGroupJoinEvent,
  type ConsumerRunConfig,
  type ConsumerSubscribeTopics,
  Kafka,
  type KafkaConfig,
  type ProducerConfig,
  type ProducerRecord,
  type RecordMetadata,
  type TopicPartitionOffset,
} from 'kafkajs';

/**
 * The parts of kafkajs the following producer and consumer use. kafkajs' own classes satisfy them; unit tests
 * pass small fakes.
 */
export interface ProducerLike {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  send(record: ProducerRecord): Promise<RecordMetadata[]>;
}

export interface ConsumerLike {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  subscribe(subscription: ConsumerSubscribeTopics): Promise<void>;
  run(config?: ConsumerRunConfig): Promise<void>;
  /** The group-join event tells which partitions this member was given. */
  on(eventName: 'consumer.group_join', listener: (event: ConsumerGroupJoinEvent) => void): () => void;
  /** The crash event tells whether kafkajs restarts the consumer (`payload.restart`) or leaves it dead. */
  on(eventName: 'consumer.crash', listener: (event: ConsumerCrashEvent) => void): () => void;
  seek(topicPartitionOffset: TopicPartitionOffset): void;
}

export interface AdminLike {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  fetchTopicOffsets(
    topic: string,
  ): Promise<Array<{ partition: number; offset: string; high: string; low: string }>>;
  /** Per partition, the first offset at or after `timestamp` (the high watermark when there is none). */
  fetchTopicOffsetsByTimestamp(
    topic: string,
    timestamp?: number,
  ): Promise<Array<{ partition: number; offset: string }>>;
  fetchOffsets(options: {
    groupId: string;
    topics?: string[];
  }): Promise<Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }>>;
}

export interface KafkaLike {
  producer(config?: ProducerConfig): ProducerLike;
  consumer(config: ConsumerConfig): ConsumerLike;
  admin(): AdminLike;
}

/** Builds a kafkajs client for one cluster; replaced in unit tests. */
export type KafkaFactory = (config: KafkaConfig) => KafkaLike;

export const kafkajsFactory: KafkaFactory = (config) => new Kafka(config);
