import { describe, expect, it } from 'vitest';
import { lostRecords } from '#drill/books.ts';
import { type Ack, progressLine } from '#drill/workload.ts';

describe('drill books', () => {
  it('counts an acknowledged record as lost only when it is neither on the primary nor in quarantine', () => {
    const lost = lostRecords([1, 2, 3, 4], new Set([1, 2]), new Set([3]));

    expect(lost).toEqual([4]);
  });

  it('says what the application produced, consumed and where it writes, and failed sends only when any', () => {
    const acks = new Map<number, Ack>([
      [0, { n: 0, cluster: 'primary', atMs: 1 }],
      [1, { n: 1, cluster: 'secondary', atMs: 2 }],
    ]);
    const books = {
      acks,
      produced: acks.size,
      consumed: new Map([[0, 2]]),
      duplicates: 1,
      failedSends: [] as number[],
      lastError: undefined,
    };

    expect(progressLine(books)).toBe('  ... produced 2, consumed 1 (+1 dup), writing to secondary');
    expect(progressLine({ ...books, failedSends: [7], lastError: 'SendFailedError: timeout' })).toBe(
      '  ... produced 2, consumed 1 (+1 dup), writing to secondary, 1 sends failed (last: SendFailedError: timeout)',
    );
    expect(progressLine({ ...books, acks: new Map(), produced: 0 })).toContain('writing to -');
  });
});
