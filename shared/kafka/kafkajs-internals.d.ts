/**
 * Types for the few kafkajs 2.2.4 internals that shared/kafka/cluster-client.ts and request-queue-timer-fix.ts use
 * (kafkajs ships no types for them). kafkajs is unmaintained and pinned, so these do not move;
 * test/unit/kafka/kafkajs-internals.test.ts fails loudly if an install ever brings a different shape.
 */

declare module 'kafkajs/src/cluster/index.js' {
  interface KafkajsLogger {
    namespace(name: string): KafkajsLogger;
    info(message: string, extra?: object): void;
    error(message: string, extra?: object): void;
    warn(message: string, extra?: object): void;
    debug(message: string, extra?: object): void;
  }
  type RequestBuilder = (args: object) => {
    request: object;
    response: { decode(data: Buffer): Promise<unknown>; parse(data: unknown): Promise<unknown> };
  };
  interface KafkajsBroker {
    nodeId: number | null;
    versions: object | null;
    connectionPool: { host: string; port: number; send(protocolRequest: object): Promise<unknown> };
    lookupRequest(apiKey: number, definition: object): RequestBuilder;
    metadata(topics?: string[]): Promise<unknown>;
    disconnect(): Promise<void>;
    isConnected(): boolean;
  }
  interface KafkajsBrokerPool {
    metadata: unknown;
    brokers: Record<string, KafkajsBroker>;
    createBroker: (options: object) => KafkajsBroker;
    refreshMetadata(topics: string[]): Promise<void>;
    findBroker(options: { nodeId: number | string }): Promise<KafkajsBroker>;
    findConnectedBroker(): Promise<KafkajsBroker>;
  }
  class Cluster {
    constructor(options: object);
    brokerPool: KafkajsBrokerPool;
    connect(): Promise<void>;
    disconnect(): Promise<void>;
    isConnected(): boolean;
    findGroupCoordinator(options: { groupId: string }): Promise<KafkajsBroker>;
  }
  export = Cluster;
}

declare module 'kafkajs/src/loggers/index.js' {
  export function createLogger(options: { level: number; logCreator: unknown }): unknown;
}

declare module 'kafkajs/src/loggers/console.js' {
  const LoggerConsole: unknown;
  export = LoggerConsole;
}

declare module 'kafkajs/src/network/socketFactory.js' {
  function defaultSocketFactory(): unknown;
  export = defaultSocketFactory;
}

declare module 'kafkajs/src/protocol/requests/index.js' {
  export const requests: Record<
    | 'Metadata'
    | 'ListOffsets'
    | 'Fetch'
    | 'Produce'
    | 'InitProducerId'
    | 'CreateTopics'
    | 'OffsetFetch'
    | 'OffsetCommit'
    | 'DescribeGroups',
    object
  >;
}

declare module 'kafkajs/src/protocol/requests/apiKeys.js' {
  const apiKeys: Record<
    | 'Metadata'
    | 'ListOffsets'
    | 'Fetch'
    | 'Produce'
    | 'InitProducerId'
    | 'CreateTopics'
    | 'OffsetFetch'
    | 'OffsetCommit'
    | 'DescribeGroups',
    number
  >;
  export = apiKeys;
}

declare module 'kafkajs/src/protocol/error.js' {
  export const errorCodes: { type: string; code: number; retriable: boolean; message: string }[];
}

// The per-connection request queue, for request-queue-timer-fix.ts: only the members the fix reads and calls.
declare module 'kafkajs/src/network/requestQueue/index.js' {
  interface RequestQueue {
    pending: unknown[];
    throttledUntil: number;
    throttleCheckTimeoutId: ReturnType<typeof setTimeout> | null;
    checkPendingRequests(): void;
    scheduleCheckPendingRequests(): void;
  }
  const RequestQueue: { prototype: RequestQueue };
  export = RequestQueue;
}
