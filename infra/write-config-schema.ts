// `npm run config:schema`: (re)writes failover.config.schema.json from the zod schema, formatted as Biome
// formats every JSON file of the repository. A unit test fails while the committed file says anything else.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configJsonSchemaFile, deploymentConfigJsonSchema } from './config-json-schema.ts';
import { projectRoot } from './mm2-failover.ts';

const file = join(projectRoot, configJsonSchemaFile);
writeFileSync(file, `${JSON.stringify(deploymentConfigJsonSchema(), null, 2)}\n`);
const biome = spawnSync(join(projectRoot, 'node_modules', '.bin', 'biome'), ['format', '--write', file], {
  cwd: projectRoot,
  stdio: 'inherit',
});
if (biome.status !== 0) process.exitCode = 1;
console.log(`wrote ${configJsonSchemaFile}`);
