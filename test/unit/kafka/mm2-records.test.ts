import { describe, expect, it } from 'vitest';
import { Mm2RecordError } from '#shared/errors.ts';
import {
  decodeCheckpointKey,
  decodeCheckpointValue,
  decodeHeartbeatKey,
  decodeHeartbeatValue,
  decodeOffsetSyncKey,
  decodeOffsetSyncValue,
  encodeCheckpointKey,
  encodeCheckpointValue,
  encodeHeartbeatKey,
  encodeHeartbeatValue,
  encodeOffsetSyncKey,
  encodeOffsetSyncValue,
} from '#shared/kafka/mm2-records.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const ascii = (s: string): string => Buffer.from(s, 'utf8').toString('hex');

describe('mm2-records', () => {
  describe('checkpoint', () => {
    // group "g1", topic "primary.orders", partition 3
    const keyBytes = hex(`0002 ${ascii('g1')} 000e ${ascii('primary.orders')} 00000003`);
    // version 0, upstream 1000, downstream 990, metadata ""
    const valueBytes = hex('0000 00000000000003e8 00000000000003de 0000');

    it('encodes the key as group, topic, partition when given a checkpoint key', () => {
      expect(encodeCheckpointKey({ group: 'g1', topic: 'primary.orders', partition: 3 })).toEqual(keyBytes);
    });

    it('decodes the key bytes Kafka writes', () => {
      expect(decodeCheckpointKey(keyBytes)).toEqual({ group: 'g1', topic: 'primary.orders', partition: 3 });
    });

    it('encodes the value as version 0, upstream, downstream and metadata', () => {
      expect(encodeCheckpointValue({ upstreamOffset: 1000n, downstreamOffset: 990n })).toEqual(valueBytes);
    });

    it('decodes the value with offsets as bigints', () => {
      expect(decodeCheckpointValue(valueBytes)).toEqual({
        version: 0,
        upstreamOffset: 1000n,
        downstreamOffset: 990n,
        metadata: '',
      });
    });

    it('round-trips offsets beyond 2^53 and multi-byte metadata', () => {
      const value = { upstreamOffset: 2n ** 60n + 7n, downstreamOffset: 2n ** 59n, metadata: 'zé' };
      expect(decodeCheckpointValue(encodeCheckpointValue(value))).toEqual({ version: 0, ...value });
      // 'zé' is 3 UTF-8 bytes: the STRING length counts bytes, not characters.
      expect(encodeCheckpointValue(value).subarray(18, 20)).toEqual(hex('0003'));
    });

    it('throws Mm2RecordError naming the field when the value is cut short', () => {
      expect(() => decodeCheckpointValue(valueBytes.subarray(0, 12))).toThrowError(Mm2RecordError);
      expect(() => decodeCheckpointValue(valueBytes.subarray(0, 12))).toThrowError(
        /checkpoint value: short buffer reading downstreamOffset: expected 8 more bytes at offset 10, found 2/,
      );
    });

    it('throws on an unknown version instead of guessing the layout', () => {
      const v1 = Buffer.from(valueBytes);
      v1.writeInt16BE(1, 0);
      expect(() => decodeCheckpointValue(v1)).toThrowError(/unknown version 1, expected 0/);
    });

    it('throws on trailing bytes', () => {
      expect(() => decodeCheckpointKey(Buffer.concat([keyBytes, hex('00')]))).toThrowError(
        /checkpoint key: 1 trailing byte after the last field/,
      );
    });

    it('throws on a negative string length (MM2 strings are never null)', () => {
      expect(() => decodeCheckpointKey(hex('ffff'))).toThrowError(/group has length -1/);
    });

    it('throws on a null value (a tombstone is not a checkpoint)', () => {
      expect(() => decodeCheckpointValue(null)).toThrowError(/checkpoint value: expected bytes, got null/);
    });

    it('throws when asked to encode a partition that is not an INT32', () => {
      expect(() => encodeCheckpointKey({ group: 'g', topic: 't', partition: 2 ** 31 })).toThrowError(
        Mm2RecordError,
      );
    });
  });

  describe('heartbeat', () => {
    const keyBytes = hex(`0007 ${ascii('primary')} 0009 ${ascii('secondary')}`);
    const valueBytes = hex('0000 0000018bcfe56800'); // 1700000000000 ms

    it('encodes and decodes the key as source alias then target alias', () => {
      const key = { sourceClusterAlias: 'primary', targetClusterAlias: 'secondary' };
      expect(encodeHeartbeatKey(key)).toEqual(keyBytes);
      expect(decodeHeartbeatKey(keyBytes)).toEqual(key);
    });

    it('encodes and decodes the value as version 0 and a millisecond timestamp', () => {
      expect(encodeHeartbeatValue({ timestamp: 1_700_000_000_000 })).toEqual(valueBytes);
      expect(decodeHeartbeatValue(valueBytes)).toEqual({ version: 0, timestamp: 1_700_000_000_000n });
    });

    it('throws on a value missing its timestamp', () => {
      expect(() => decodeHeartbeatValue(hex('0000'))).toThrowError(
        /heartbeat value: short buffer reading timestamp/,
      );
    });

    it('throws on a one-byte buffer before reading the version', () => {
      expect(() => decodeHeartbeatValue(hex('00'))).toThrowError(/short buffer reading version/);
    });
  });

  describe('offset sync', () => {
    const keyBytes = hex(`0006 ${ascii('orders')} 00000000`);
    const valueBytes = hex('0000000000000064 0000000000000032'); // upstream 100, downstream 50

    it('encodes and decodes the key as topic and partition', () => {
      expect(encodeOffsetSyncKey({ topic: 'orders', partition: 0 })).toEqual(keyBytes);
      expect(decodeOffsetSyncKey(keyBytes)).toEqual({ topic: 'orders', partition: 0 });
    });

    it('encodes and decodes the value without a version field', () => {
      expect(encodeOffsetSyncValue({ upstreamOffset: 100n, downstreamOffset: 50n })).toEqual(valueBytes);
      expect(decodeOffsetSyncValue(valueBytes)).toEqual({ upstreamOffset: 100n, downstreamOffset: 50n });
    });

    it('throws on a checkpoint value read as an offset sync (trailing bytes)', () => {
      const checkpoint = encodeCheckpointValue({ upstreamOffset: 1n, downstreamOffset: 1n });
      expect(() => decodeOffsetSyncValue(checkpoint)).toThrowError(Mm2RecordError);
    });

    it('reads from a Uint8Array view at a non-zero offset', () => {
      const backing = new Uint8Array(4 + valueBytes.length);
      backing.set(valueBytes, 4);
      expect(decodeOffsetSyncValue(backing.subarray(4))).toEqual({
        upstreamOffset: 100n,
        downstreamOffset: 50n,
      });
    });
  });
});
