import { describe, expect, it } from 'vitest';
import { probeResultSchema, toLastProbeJson } from '#shared/health/probe-result.ts';
import { sampleResult } from './fixtures.ts';

describe('probeResultSchema', () => {
  it('accepts a complete result', () => {
    expect(probeResultSchema.parse(sampleResult())).toEqual(sampleResult());
  });

  it('refuses an unknown verdict and an unknown reason, naming the paths', () => {
    const bad = sampleResult() as unknown as {
      clusters: { primary: { verdict: string; reasons: string[] } };
    };
    bad.clusters.primary.verdict = 'sideways';
    bad.clusters.primary.reasons = ['gremlins'];
    const parsed = probeResultSchema.safeParse(bad);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => i.path.join('.'))).toEqual([
      'clusters.primary.verdict',
      'clusters.primary.reasons.0',
    ]);
  });
});

describe('toLastProbeJson', () => {
  it('stores a small result unchanged', () => {
    const json = toLastProbeJson(sampleResult());
    expect(JSON.parse(json)).toEqual(sampleResult());
  });

  it('keeps the largest backlogs and exact totals when many topics would exceed 4 KB', () => {
    // Arrange: 200 topics is far beyond 4 KB in full.
    const full = sampleResult(200);
    expect(Buffer.byteLength(JSON.stringify(full))).toBeGreaterThan(4096);
    // Act
    const json = toLastProbeJson(full);
    // Assert
    expect(Buffer.byteLength(json)).toBeLessThanOrEqual(4096);
    const stored = probeResultSchema.parse(JSON.parse(json));
    const [r] = stored.replication;
    expect(r?.backlogRecords).toBe(2000);
    expect(r?.topics[0]?.topic).toBe('topic-with-a-fairly-long-name-7');
    expect((r?.topics.length ?? 0) + (r?.topicsOmitted ?? 0)).toBe(200);
  });
});
