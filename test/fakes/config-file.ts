import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The deployment config as a function finds it at cold start: a JSON file (the stack bundles it beside the
 * handler). Written to a fresh temporary folder; the returned path is what `MM2_FAILOVER_CONFIG_FILE` takes.
 */
export function writeConfigFile(config: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'mm2-failover-config-')), 'mm2-failover.config.json');
  writeFileSync(file, JSON.stringify(config));
  return file;
}
