import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  auditSchemaRegistries,
  auditSchemaTopic,
  type SchemaTopicInput,
} from '#shared/readiness/schema-audit.ts';
import { httpSchemaRegistry } from '#shared/readiness/schema-registry.ts';
import { type FakeSchemaRegistry, startFakeSchemaRegistry } from '../../fakes/schema-registry.ts';

const NOW = Date.parse('2026-12-01T12:00:00.000Z');
const records = (...timestamps: number[]) => [
  { partition: 0, records: timestamps.map((timestamp) => ({ timestamp, key: null })) },
];

function topicInput(over: Partial<SchemaTopicInput> = {}): SchemaTopicInput {
  return {
    topic: '_schemas',
    targetTopic: '_schemas',
    mirroredAs: '_schemas',
    source: { role: 'primary', present: true, newest: records(NOW - 600_000) },
    target: { role: 'secondary', present: true, newest: records(NOW - 600_000) },
    now: NOW,
    graceMs: 60_000,
    ...over,
  };
}

describe('auditSchemaTopic', () => {
  it('passes a copy whose newest record is as new as the source', () => {
    expect(auditSchemaTopic(topicInput())).toEqual([]);
  });

  it('checks nothing when the primary has no registry topic', () => {
    expect(
      auditSchemaTopic(
        topicInput({
          source: { role: 'primary', present: false, newest: [] },
          target: { role: 'secondary', present: false, newest: [] },
        }),
      ),
    ).toEqual([]);
  });

  it('finds the topic not mirrored, and says when the policy renames it away from where the registry reads', () => {
    const absent = { role: 'secondary' as const, present: false, newest: [] };
    expect(auditSchemaTopic(topicInput({ target: absent }))[0]).toMatchObject({
      code: 'schema-topic-not-mirrored',
      fix: expect.stringContaining('see the mirror-topics-not-covered finding'),
    });
    expect(
      auditSchemaTopic(topicInput({ target: absent, mirroredAs: 'primary._schemas' }))[0]?.fix,
    ).toContain('MM2 writes _schemas as primary._schemas under this replication policy');
  });

  it('finds the copy behind once the source record is older than the grace, not while it is in flight', () => {
    const behind = topicInput({ source: { role: 'primary', present: true, newest: records(NOW - 120_000) } });
    expect(auditSchemaTopic(behind)).toEqual([
      expect.objectContaining({
        code: 'schema-topic-behind',
        found: `newest from ${new Date(NOW - 600_000).toISOString()}`,
      }),
    ]);
    const inFlight = topicInput({
      source: { role: 'primary', present: true, newest: records(NOW - 10_000) },
    });
    expect(auditSchemaTopic(inFlight)).toEqual([]);
  });
});

describe('auditSchemaRegistries against a registry speaking the Karapace / Confluent API', () => {
  let primary: FakeSchemaRegistry;
  let secondary: FakeSchemaRegistry;
  beforeEach(async () => {
    primary = await startFakeSchemaRegistry();
    secondary = await startFakeSchemaRegistry();
  });
  afterEach(async () => {
    await Promise.all([primary.close(), secondary.close()]);
  });
  const audit = () =>
    auditSchemaRegistries({
      source: { role: 'primary', registry: httpSchemaRegistry(primary.url) },
      target: { role: 'secondary', registry: httpSchemaRegistry(secondary.url) },
    });

  it('passes when every subject has the same latest version, id and schema', async () => {
    for (const r of [primary, secondary]) {
      r.register('orders-value', '{"type":"string"}');
      r.register('orders-value', '{"type":"long"}');
      r.register('payments-value', 'syntax = "proto3";', 'PROTOBUF');
    }
    expect(await audit()).toEqual([]);
    expect(primary.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /subjects',
      'GET /subjects/orders-value/versions/latest',
      'GET /subjects/payments-value/versions/latest',
    ]);
  });

  it('finds a subject missing on the standby and one whose latest version differs', async () => {
    primary.register('orders-value', '{"type":"string"}');
    primary.register('orders-value', '{"type":"long"}');
    primary.register('payments-value', '{"type":"int"}');
    secondary.register('orders-value', '{"type":"string"}');
    expect((await audit()).map((f) => [f.code, f.expected, f.found])).toEqual([
      [
        'schema-version-mismatch',
        "subject orders-value latest version 2, id 2 (as in the primary's registry)",
        'version 1, id 1, another schema',
      ],
      [
        'schema-subject-missing',
        "subject payments-value in the secondary's registry (version 1, id 3)",
        'absent',
      ],
    ]);
  });

  it('warns, without a verdict, when a registry answers with an error', async () => {
    primary.register('orders-value', '{"type":"string"}');
    secondary.failWith = 500;
    expect(await audit()).toEqual([
      expect.objectContaining({
        code: 'schema-registry-unreachable',
        severity: 'warning',
        found: expect.stringContaining('found 500'),
      }),
    ]);
  });
});
