import { crc32c } from './crc32c.ts';

/**
 * Encode records as one uncompressed Kafka record batch (magic 2) of an idempotent producer, in one buffer of the
 * exact size. kafkajs builds every record and every header in a buffer of its own (512 bytes zeroed, then grown
 * and copied), so a copy that adds provenance headers spent most of its time allocating; here sizes are counted
 * first and everything is written once.
 *
 * Layout (Kafka's DefaultRecordBatch): baseOffset int64, batchLength int32, partitionLeaderEpoch int32, magic int8,
 * crc uint32 (CRC-32C of everything after it), attributes int16, lastOffsetDelta int32, baseTimestamp int64,
 * maxTimestamp int64, producerId int64, producerEpoch int16, baseSequence int32, record count int32, records. A
 * record: length, attributes int8, timestamp delta (varlong), offset delta, key, value (each length-prefixed, -1
 * for null), header count, then each header's key and value; lengths and counts are zigzag varints.
 */
export interface BatchRecord {
  key: Buffer | null;
  value: Buffer | null;
  /** Milliseconds since the epoch (kafkajs' string form accepted). */
  timestamp: string | number;
  headers: Readonly<Record<string, Buffer | readonly Buffer[]>>;
}

export interface BatchProducer {
  producerId: bigint;
  producerEpoch: number;
  /** Sequence number of the first record; the broker rejects a gap and drops a batch it already has. */
  baseSequence: number;
}

const HEADER_BYTES = 61;
const CRC_AT = 17;
const ATTRIBUTES_AT = 21;

export function encodeRecordBatch(records: readonly BatchRecord[], producer: BatchProducer): Buffer {
  if (records.length === 0) throw new RangeError('a record batch needs at least one record');
  const times = records.map((r) => Number(r.timestamp));
  let base = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const t of times) {
    if (!Number.isSafeInteger(t)) throw new RangeError(`expected a timestamp in milliseconds, got ${t}`);
    base = Math.min(base, t);
    max = Math.max(max, t);
  }
  const keys = new Map<string, Buffer>();
  const keyOf = (k: string): Buffer => {
    let b = keys.get(k);
    if (b === undefined) {
      b = Buffer.from(k, 'utf8');
      keys.set(k, b);
    }
    return b;
  };
  const bodies = new Array<number>(records.length);
  let total = HEADER_BYTES;
  for (let i = 0; i < records.length; i += 1) {
    const r = records[i] as BatchRecord;
    let size =
      1 +
      sizeOfVarLong((times[i] as number) - base) +
      sizeOfVarInt(i) +
      sizeOfBytes(r.key) +
      sizeOfBytes(r.value);
    let count = 0;
    for (const k in r.headers) {
      const v = r.headers[k] as Buffer | readonly Buffer[];
      const kb = keyOf(k).length;
      for (const b of Buffer.isBuffer(v) ? [v] : v) {
        size += sizeOfVarInt(kb) + kb + sizeOfBytes(b);
        count += 1;
      }
    }
    size += sizeOfVarInt(count);
    bodies[i] = size;
    total += sizeOfVarInt(size) + size;
  }

  const buf = Buffer.allocUnsafe(total);
  buf.writeBigInt64BE(0n, 0);
  buf.writeInt32BE(total - 12, 8);
  buf.writeInt32BE(-1, 12);
  buf.writeInt8(2, 16);
  buf.writeInt16BE(0, ATTRIBUTES_AT);
  buf.writeInt32BE(records.length - 1, 23);
  buf.writeBigInt64BE(BigInt(base), 27);
  buf.writeBigInt64BE(BigInt(max), 35);
  buf.writeBigInt64BE(producer.producerId, 43);
  buf.writeInt16BE(producer.producerEpoch, 51);
  buf.writeInt32BE(producer.baseSequence, 53);
  buf.writeInt32BE(records.length, 57);
  let at = HEADER_BYTES;
  const varint = (n: number): void => {
    at = writeUnsignedVarLong(buf, at, n >= 0 ? n * 2 : -n * 2 - 1);
  };
  const bytes = (b: Buffer | null): void => {
    if (b === null) {
      varint(-1);
      return;
    }
    varint(b.length);
    at += b.copy(buf, at);
  };
  for (let i = 0; i < records.length; i += 1) {
    const r = records[i] as BatchRecord;
    varint(bodies[i] as number);
    buf[at] = 0;
    at += 1;
    varint((times[i] as number) - base);
    varint(i);
    bytes(r.key);
    bytes(r.value);
    let count = 0;
    for (const k in r.headers) {
      const v = r.headers[k] as Buffer | readonly Buffer[];
      count += Buffer.isBuffer(v) ? 1 : v.length;
    }
    varint(count);
    for (const k in r.headers) {
      const v = r.headers[k] as Buffer | readonly Buffer[];
      for (const b of Buffer.isBuffer(v) ? [v] : v) {
        bytes(keyOf(k));
        bytes(b);
      }
    }
  }
  if (at !== total) throw new Error(`record batch encoding: expected ${total} bytes, wrote ${at}`);
  buf.writeUInt32BE(crc32c(buf, ATTRIBUTES_AT, total), CRC_AT);
  return buf;
}

function sizeOfBytes(b: Buffer | null): number {
  return b === null ? 1 : sizeOfVarInt(b.length) + b.length;
}

function sizeOfVarInt(n: number): number {
  return sizeOfUnsigned(n >= 0 ? n * 2 : -n * 2 - 1);
}

const sizeOfVarLong = sizeOfVarInt;

function sizeOfUnsigned(u: number): number {
  let size = 1;
  for (let v = u; v >= 128; v = Math.floor(v / 128)) size += 1;
  return size;
}

/** Unsigned base-128 varint of a non-negative safe integer (division, not bit operations: it may exceed 2^31). */
function writeUnsignedVarLong(buf: Buffer, at: number, u: number): number {
  let v = u;
  let i = at;
  while (v >= 128) {
    buf[i] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
    i += 1;
  }
  buf[i] = v;
  return i + 1;
}
