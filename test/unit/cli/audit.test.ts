import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../../..');

async function cli(...args: string[]) {
  return run(process.execPath, ['bin/mm2-failover.ts', ...args], { cwd: root }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
}

describe('mm2-failover audit', () => {
  it('is listed in the usage text with its flags', async () => {
    const out = await cli('--help');
    expect(out.stdout).toContain(
      'mm2-failover audit    ([--config failover.config.json] [--region r] | --local) [--json] [--fix [--apply]]',
    );
  });

  it('exits 2 when --apply comes without --fix: nothing is changed that was not listed', async () => {
    const out = await cli('audit', '--apply');
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('audit: --apply makes the fixes --fix lists; give both');
  });

  it('exits 1 naming the problem when the config file is invalid, before reaching anything', async () => {
    const out = await cli('audit', '--config', 'package.json');
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('invalid deployment config package.json');
  });
});
