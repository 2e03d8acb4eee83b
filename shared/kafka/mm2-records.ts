import { Mm2RecordError } from '../errors.ts';

/**
 * Codecs for MirrorMaker 2's own records, byte for byte as `org.apache.kafka.connect.mirror.{Heartbeat,
 * Checkpoint,OffsetSync}` write them (unchanged since Kafka 2.4): big-endian integers, STRING = INT16 length +
 * UTF-8 bytes (never null). The `version` is the first two bytes of the record *value*, not a header.
 *
 * | record     | key                                  | value                                               |
 * |------------|--------------------------------------|-----------------------------------------------------|
 * | Heartbeat  | sourceClusterAlias, targetClusterAlias | version INT16 (0), timestamp INT64 ms              |
 * | Checkpoint | group, topic (target-side), partition INT32 | version INT16 (0), upstreamOffset, offset, metadata |
 * | OffsetSync | topic (source-side), partition INT32 | upstreamOffset INT64, offset INT64 (no version)      |
 *
 * Decoders refuse anything Kafka would not have written (short buffer, unknown version, bytes left over) with
 * an {@link Mm2RecordError}, so a foreign record on an internal topic is an error, not garbage offsets.
 */

export interface HeartbeatKey {
  sourceClusterAlias: string;
  targetClusterAlias: string;
}
export interface HeartbeatValue {
  version: number;
  /** Milliseconds since the epoch when the heartbeat connector emitted it. */
  timestamp: bigint;
}
export interface CheckpointKey {
  /** Consumer group id. */
  group: string;
  /** The topic as named on the target cluster (`primary.orders` with the default policy). */
  topic: string;
  partition: number;
}
export interface CheckpointValue {
  version: number;
  /** The group's committed offset on the source cluster. */
  upstreamOffset: bigint;
  /** The translated offset on the target cluster: where the group resumes after a failover. */
  downstreamOffset: bigint;
  metadata: string;
}
export interface OffsetSyncKey {
  /** The topic as named on the source cluster. */
  topic: string;
  partition: number;
}
export interface OffsetSyncValue {
  upstreamOffset: bigint;
  downstreamOffset: bigint;
}

/** The only value version Kafka has written so far for heartbeats and checkpoints. */
const MM2_RECORD_VERSION = 0;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

class Writer {
  readonly #parts: Buffer[] = [];
  readonly #record: string;
  constructor(record: string) {
    this.#record = record;
  }
  int16(v: number, field: string): this {
    if (!Number.isInteger(v) || v < -32768 || v > 32767) {
      throw new Mm2RecordError(this.#record, `${field} must be an INT16, got ${v}`);
    }
    const b = Buffer.alloc(2);
    b.writeInt16BE(v);
    this.#parts.push(b);
    return this;
  }
  int32(v: number, field: string): this {
    if (!Number.isInteger(v) || v < -(2 ** 31) || v > 2 ** 31 - 1) {
      throw new Mm2RecordError(this.#record, `${field} must be an INT32, got ${v}`);
    }
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    this.#parts.push(b);
    return this;
  }
  int64(v: bigint, field: string): this {
    if (v < INT64_MIN || v > INT64_MAX) {
      throw new Mm2RecordError(this.#record, `${field} must be an INT64, got ${v}`);
    }
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(v);
    this.#parts.push(b);
    return this;
  }
  string(v: string, field: string): this {
    const bytes = Buffer.from(v, 'utf8');
    if (bytes.length > 32767) {
      throw new Mm2RecordError(
        this.#record,
        `${field} is ${bytes.length} bytes, a STRING holds at most 32767`,
      );
    }
    this.int16(bytes.length, field);
    this.#parts.push(bytes);
    return this;
  }
  done(): Buffer {
    return Buffer.concat(this.#parts);
  }
}

class Reader {
  readonly #buf: Buffer;
  readonly #record: string;
  #pos = 0;
  constructor(buf: Buffer | Uint8Array | null | undefined, record: string) {
    if (buf === null || buf === undefined) throw new Mm2RecordError(record, 'expected bytes, got null');
    this.#buf = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    this.#record = record;
  }
  #need(n: number, field: string): void {
    const left = this.#buf.length - this.#pos;
    if (left < n) {
      throw new Mm2RecordError(
        this.#record,
        `short buffer reading ${field}: expected ${n} more byte${n === 1 ? '' : 's'} at offset ${this.#pos}, found ${left}`,
      );
    }
  }
  int16(field: string): number {
    this.#need(2, field);
    const v = this.#buf.readInt16BE(this.#pos);
    this.#pos += 2;
    return v;
  }
  int32(field: string): number {
    this.#need(4, field);
    const v = this.#buf.readInt32BE(this.#pos);
    this.#pos += 4;
    return v;
  }
  int64(field: string): bigint {
    this.#need(8, field);
    const v = this.#buf.readBigInt64BE(this.#pos);
    this.#pos += 8;
    return v;
  }
  string(field: string): string {
    const length = this.int16(`${field} length`);
    if (length < 0) {
      throw new Mm2RecordError(this.#record, `${field} has length ${length}; MM2 strings are never null`);
    }
    this.#need(length, field);
    const s = this.#buf.toString('utf8', this.#pos, this.#pos + length);
    this.#pos += length;
    return s;
  }
  version(): number {
    const v = this.int16('version');
    if (v !== MM2_RECORD_VERSION) {
      throw new Mm2RecordError(this.#record, `unknown version ${v}, expected ${MM2_RECORD_VERSION}`);
    }
    return v;
  }
  end(): void {
    const left = this.#buf.length - this.#pos;
    if (left !== 0) {
      throw new Mm2RecordError(
        this.#record,
        `${left} trailing byte${left === 1 ? '' : 's'} after the last field (read ${this.#pos} of ${this.#buf.length})`,
      );
    }
  }
}

type Bytes = Buffer | Uint8Array | null | undefined;

export function encodeHeartbeatKey(key: HeartbeatKey): Buffer {
  return new Writer('heartbeat key')
    .string(key.sourceClusterAlias, 'sourceClusterAlias')
    .string(key.targetClusterAlias, 'targetClusterAlias')
    .done();
}

export function decodeHeartbeatKey(buf: Bytes): HeartbeatKey {
  const r = new Reader(buf, 'heartbeat key');
  const key = {
    sourceClusterAlias: r.string('sourceClusterAlias'),
    targetClusterAlias: r.string('targetClusterAlias'),
  };
  r.end();
  return key;
}

export function encodeHeartbeatValue(value: { timestamp: bigint | number }): Buffer {
  return new Writer('heartbeat value')
    .int16(MM2_RECORD_VERSION, 'version')
    .int64(BigInt(value.timestamp), 'timestamp')
    .done();
}

export function decodeHeartbeatValue(buf: Bytes): HeartbeatValue {
  const r = new Reader(buf, 'heartbeat value');
  const value = { version: r.version(), timestamp: r.int64('timestamp') };
  r.end();
  return value;
}

export function encodeCheckpointKey(key: CheckpointKey): Buffer {
  return new Writer('checkpoint key')
    .string(key.group, 'group')
    .string(key.topic, 'topic')
    .int32(key.partition, 'partition')
    .done();
}

export function decodeCheckpointKey(buf: Bytes): CheckpointKey {
  const r = new Reader(buf, 'checkpoint key');
  const key = { group: r.string('group'), topic: r.string('topic'), partition: r.int32('partition') };
  r.end();
  return key;
}

export function encodeCheckpointValue(value: {
  upstreamOffset: bigint;
  downstreamOffset: bigint;
  metadata?: string;
}): Buffer {
  return new Writer('checkpoint value')
    .int16(MM2_RECORD_VERSION, 'version')
    .int64(value.upstreamOffset, 'upstreamOffset')
    .int64(value.downstreamOffset, 'downstreamOffset')
    .string(value.metadata ?? '', 'metadata')
    .done();
}

export function decodeCheckpointValue(buf: Bytes): CheckpointValue {
  const r = new Reader(buf, 'checkpoint value');
  const value = {
    version: r.version(),
    upstreamOffset: r.int64('upstreamOffset'),
    downstreamOffset: r.int64('downstreamOffset'),
    metadata: r.string('metadata'),
  };
  r.end();
  return value;
}

export function encodeOffsetSyncKey(key: OffsetSyncKey): Buffer {
  return new Writer('offset-sync key').string(key.topic, 'topic').int32(key.partition, 'partition').done();
}

export function decodeOffsetSyncKey(buf: Bytes): OffsetSyncKey {
  const r = new Reader(buf, 'offset-sync key');
  const key = { topic: r.string('topic'), partition: r.int32('partition') };
  r.end();
  return key;
}

export function encodeOffsetSyncValue(value: OffsetSyncValue): Buffer {
  return new Writer('offset-sync value')
    .int64(value.upstreamOffset, 'upstreamOffset')
    .int64(value.downstreamOffset, 'downstreamOffset')
    .done();
}

export function decodeOffsetSyncValue(buf: Bytes): OffsetSyncValue {
  const r = new Reader(buf, 'offset-sync value');
  const value = { upstreamOffset: r.int64('upstreamOffset'), downstreamOffset: r.int64('downstreamOffset') };
  r.end();
  return value;
}
