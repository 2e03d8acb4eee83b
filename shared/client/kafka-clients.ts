import {
  type ConsumerConfig,
  type ConsumerRunConfig,
  type ConsumerSubscribeTopics,
  Kafka,
  type KafkaConfig,
  type ProducerConfig,
  type ProducerRecord,
  type RecordMetadata,
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
}

export interface AdminLike {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  fetchTopicOffsets(
    topic: string,
  ): Promise<Array<{ partition: number; offset: string; high: string; low: string }>>;
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
