import * as z from 'zod';
import { deploymentConfigSchema } from '#shared/config/schema.ts';

/** Where the JSON Schema lives, relative to the repository root: `failover.config.json`'s `$schema` points at it. */
export const configJsonSchemaFile = 'failover.config.schema.json';

/**
 * `failover.config.json`'s JSON Schema, generated from the zod schema the stack and the functions validate with,
 * so an editor checks and completes the file with the very rules synth applies (the cross-field rules, such as M
 * of N, only synth can check). The input side: fields with defaults are optional.
 */
export function deploymentConfigJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(deploymentConfigSchema, {
    io: 'input',
    target: 'draft-2020-12',
    override: (ctx) => {
      // zod writes `startsWith` as a format of its own, which JSON Schema validators do not know; the pattern
      // it writes beside it says the same.
      if (ctx.jsonSchema.format === 'starts_with') delete ctx.jsonSchema.format;
    },
  });
  return {
    ...generated,
    title: 'mm2-failover deployment config',
    description:
      'failover.config.json: one mm2-failover deployment (two Kafka clusters joined by MirrorMaker 2). ' +
      'Generated from shared/config/schema.ts by `npm run config:schema`; do not edit by hand.',
  };
}
