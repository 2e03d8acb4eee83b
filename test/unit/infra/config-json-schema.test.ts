import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configJsonSchemaFile, deploymentConfigJsonSchema } from '#infra/config-json-schema.ts';
import { projectRoot } from '#infra/mm2-failover.ts';

type Schema = {
  properties: Record<string, Schema>;
  enum?: unknown[];
  oneOf?: Schema[];
  const?: unknown;
  format?: string;
  additionalProperties?: boolean;
};

const committed = JSON.parse(readFileSync(join(projectRoot, configJsonSchemaFile), 'utf8')) as Schema;

describe('failover.config.schema.json', () => {
  it('is what the zod schema generates today (run `npm run config:schema` after changing the schema)', () => {
    expect(committed).toEqual(deploymentConfigJsonSchema());
  });

  it('is the schema failover.config.json points its editor at', () => {
    const example = JSON.parse(readFileSync(join(projectRoot, 'failover.config.json'), 'utf8'));
    expect(example.$schema).toBe(`./${configJsonSchemaFile}`);
    expect(committed.properties.$schema).toEqual({ type: 'string' });
  });

  it('lists the allowed values of every enum and literal union, as the loader names them', () => {
    const p = committed.properties;
    expect(p.mode?.enum).toEqual(['active-passive', 'active-active']);
    expect(p.clusters?.properties.primary?.properties.auth?.enum).toEqual([
      'mtls',
      'sasl-scram',
      'sasl-plain',
      'msk-iam',
      'none',
    ]);
    expect(p.detection?.properties.alarmPeriodSeconds?.enum).toEqual([10, 20, 30]);
    expect(p.detection?.properties.lagAlarmPeriodSeconds?.enum).toEqual([10, 20, 30, 60]);
    expect(p.mirror?.oneOf?.map((m) => m.properties.kind?.const)).toEqual([
      'kafka-connect',
      'aiven',
      'manual',
    ]);
  });

  it('refuses unknown keys, as the loader does, and uses only formats validators know', () => {
    expect(committed.additionalProperties).toBe(false);
    expect(JSON.stringify(committed)).not.toContain('starts_with');
  });
});
