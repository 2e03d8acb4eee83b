import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { crc32c } from '#shared/kafka/crc32c.ts';
import { type BatchRecord, encodeRecordBatch } from '#shared/kafka/record-batch.ts';

// kafkajs' own decoder and checksum are the reference: the brokers accepted kafkajs' batches for years.
const require = createRequire(import.meta.url);
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (buf: Buffer) => unknown;
const decodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (
  decoder: unknown,
) => Promise<{
  producerId: string;
  producerEpoch: number;
  firstSequence: number;
  lastOffsetDelta: number;
  firstTimestamp: string;
  maxTimestamp: string;
  records: Array<{
    offset: string;
    timestamp: string;
    key: Buffer | null;
    value: Buffer | null;
    headers: Record<string, Buffer | Buffer[]>;
  }>;
}>;
const kafkajsCrc32c = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (buf: Buffer) => number;

describe('crc32c', () => {
  it('gives the standard check value of "123456789"', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
  });

  it("matches kafkajs' byte-at-a-time checksum for every length and alignment around the 8-byte steps", () => {
    const data = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 131 + 7) & 0xff));
    for (let start = 0; start < 9; start += 1) {
      for (let end = start; end <= 300; end += 13) {
        expect(crc32c(data, start, end)).toBe(kafkajsCrc32c(data.subarray(start, end)));
      }
    }
  });
});

describe('encodeRecordBatch', () => {
  const records: BatchRecord[] = Array.from({ length: 40 }, (_, i) => ({
    key: i % 7 === 0 ? null : Buffer.from(`k${i}`),
    value: i % 11 === 0 ? null : Buffer.alloc(i * 9, i),
    // Out of order and far apart: deltas from the smallest, larger than an int32 of milliseconds.
    timestamp: String(1_700_000_000_000 + (i % 3) * 3_000_000_000 - i),
    headers: (i % 4 === 0
      ? {}
      : {
          trace: Buffer.from(`t${i}`),
          'mm2-failover.source-offset': Buffer.from(String(i)),
          ünïcode: [Buffer.from('a'), Buffer.alloc(0)],
        }) as BatchRecord['headers'],
  }));

  it('writes a batch kafkajs decodes back to the same keys, values, headers, timestamps and offset deltas', async () => {
    const buf = encodeRecordBatch(records, {
      producerId: 12_345_678_901n,
      producerEpoch: 3,
      baseSequence: 77,
    });
    const batch = await decodeBatch(new Decoder(buf));

    expect(batch.producerId).toBe('12345678901');
    expect(batch.producerEpoch).toBe(3);
    expect(batch.firstSequence).toBe(77);
    expect(batch.lastOffsetDelta).toBe(39);
    expect(batch.firstTimestamp).toBe(String(1_700_000_000_000 - 39));
    expect(batch.maxTimestamp).toBe(String(1_700_000_000_000 + 2 * 3_000_000_000 - 2));
    expect(
      batch.records.map((r) => ({
        offset: Number(r.offset),
        timestamp: r.timestamp,
        key: r.key,
        value: r.value,
        headers: r.headers,
      })),
    ).toEqual(
      records.map((r, i) => ({
        offset: i,
        timestamp: r.timestamp,
        key: r.key,
        value: r.value,
        headers: r.headers,
      })),
    );
  });

  it('declares its length and checksums everything after the checksum field, as a broker verifies', () => {
    const buf = encodeRecordBatch(records, { producerId: 1n, producerEpoch: 0, baseSequence: 0 });

    expect(buf.readInt32BE(8)).toBe(buf.length - 12);
    expect(buf.readInt8(16)).toBe(2);
    expect(buf.readUInt32BE(17)).toBe(kafkajsCrc32c(buf.subarray(21)));
  });

  it('refuses an empty batch and a timestamp that is not a number of milliseconds', () => {
    expect(() => encodeRecordBatch([], { producerId: 1n, producerEpoch: 0, baseSequence: 0 })).toThrow(
      /at least one record/,
    );
    expect(() =>
      encodeRecordBatch([{ key: null, value: null, timestamp: 'soon', headers: {} }], {
        producerId: 1n,
        producerEpoch: 0,
        baseSequence: 0,
      }),
    ).toThrow(/expected a timestamp in milliseconds, got NaN/);
  });
});
