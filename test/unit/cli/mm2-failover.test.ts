import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../../..');
const recordHook = path.join(import.meta.dirname, 'record-loaded-modules.ts');

/**
 * The process environment without any AWS setting, plus credentials and an endpoint that cannot reach anything:
 * with no region the Lambda client fails before it opens a connection.
 */
function offlineEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
  return {
    ...env,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_CONFIG_FILE: '/nonexistent',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL_LAMBDA: 'http://127.0.0.1:9',
    AWS_MAX_ATTEMPTS: '1',
    ...extra,
  };
}

async function node(args: string[], env = offlineEnv()) {
  return run(process.execPath, args, { cwd: root, env }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({
      code: e.code,
      stdout: e.stdout,
      stderr: e.stderr,
    }),
  );
}

const cli = (...args: string[]) => node(['bin/mm2-failover.ts', ...args]);

/** Run `args` with every loaded module recorded; returns the repository files among them, relative. */
async function loadedFiles(args: string[]): Promise<{ code: number; files: string[] }> {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'mm2-cli-modules-')), 'loaded.txt');
  const out = await node(['--import', recordHook, ...args], offlineEnv({ LOADED_MODULES_FILE: file }));
  const files = readFileSync(file, 'utf8')
    .split('\n')
    .filter((url) => url.startsWith(`file://${root}/`) && !url.includes('/node_modules/'))
    .map((url) => path.relative(root, new URL(url).pathname));
  return { code: out.code, files };
}

const isLocalRuntime = (f: string) => f.startsWith('harness/') || f === 'drill/drill.ts';

describe('mm2-failover CLI', () => {
  it('exits 2 with the usage text for an unknown flag', async () => {
    const out = await cli('status', '--function', 'x', '--bogus');

    expect(out.code).toBe(2);
    expect(out.stderr).toContain("Unknown option '--bogus'");
    expect(out.stderr).toContain('usage:');
  });

  it('exits 2 with the usage text when failover is given neither --reason nor --dry-run', async () => {
    const out = await cli('failover', '--function', 'x');

    expect(out.code).toBe(2);
    expect(out.stderr).toContain('failover: give --reason');
    expect(out.stderr).toContain('usage:');
  });

  it('exits 2 when failback is given no --reason', async () => {
    const out = await cli('failback', '--function', 'x');

    expect(out.code).toBe(2);
    expect(out.stderr).toContain('failback: give --reason');
  });

  it('exits 2 for a flag without its value', async () => {
    const out = await cli('status', '--function');

    expect(out.code).toBe(2);
    expect(out.stderr).toContain("Option '--function <value>' argument missing");
  });

  it('prints the usage with the exit codes for --help and exits 0', async () => {
    const out = await cli('--help');

    expect(out.code).toBe(0);
    expect(out.stdout).toContain('mm2-failover failover (--function <name|arn> | --local)');
    expect(out.stdout).toMatch(/exit codes:\n\s+0\s+done.*\n\s+1\s+refused.*\n\s+2\s+usage error/);
    expect(out.stdout).toContain('--scenario kill|hang|mm2-down|secondary-down|flapping');
  });

  it('exits 1 when the function cannot be invoked', async () => {
    const out = await cli('status', '--function', 'x');

    expect(out.code).toBe(1);
    expect(out.stderr).toContain('Region is missing');
  });

  it('bounds its AWS calls by the aws section of --config: a bad one exits 1 naming the field', async () => {
    const example = JSON.parse(readFileSync(path.join(root, 'failover.config.json'), 'utf8')) as object;
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'mm2-cli-config-')), 'failover.config.json');
    writeFileSync(file, JSON.stringify({ ...example, aws: { maxAttempts: 0 } }));

    const out = await cli('status', '--function', 'x', '--config', file);

    expect(out.code).toBe(1);
    expect(out.stderr).toContain('aws.maxAttempts');
  });

  it('invokes one deployed function without loading the drill or the harness', async () => {
    // Arrange: the recorder sees the local runtime when something loads it (the control).
    const control = await loadedFiles(['--input-type=module', '-e', "await import('#drill/drill.ts')"]);

    // Act
    const status = await loadedFiles(['bin/mm2-failover.ts', 'status', '--function', 'x']);

    // Assert
    expect(control.files.filter(isLocalRuntime)).toContain('harness/harness.ts');
    expect(status.files).toContain('bin/mm2-failover.ts');
    expect(status.files.filter(isLocalRuntime)).toEqual([]);
    expect(status.code).toBe(1);
  });

  it('exits 2 for a driven failback without what it needs, naming it', async () => {
    const cases: [string[], string][] = [
      [
        ['failback', '--wait', '--reason', 'repaired'],
        'failback --wait drives the loop in this process and needs --local',
      ],
      [['failback', 'progress'], 'failback progress: give --state-machine <arn>'],
      [['failback', 'approve', '--table', 't'], 'failback approve: give --reason'],
      [['failback', 'approve', '--reason', 'checked'], 'failback approve: give --table'],
      [
        ['failback', '--state-machine', 'arn:x', '--reason', 'repaired', '--phase', 'purge'],
        'the state machine runs every phase',
      ],
      [
        ['failback', 'rollback', '--reason', 'x'],
        "failback: expected 'approve', 'progress' or no subcommand",
      ],
    ];
    for (const [args, message] of cases) {
      const out = await cli(...args);

      expect(out.code, args.join(' ')).toBe(2);
      expect(out.stderr).toContain(message);
    }
  });

  it('starts a driven failback against the Step Functions API without loading the local runtime', async () => {
    const run = await loadedFiles([
      'bin/mm2-failover.ts',
      'failback',
      '--state-machine',
      'arn:aws:states:eu-west-1:123456789012:stateMachine:x',
      '--reason',
      'primary repaired',
    ]);

    // No region in this environment: the Step Functions client fails before any connection.
    expect(run.code).toBe(1);
    expect(run.files).toContain('bin/mm2-failover.ts');
    expect(run.files.filter(isLocalRuntime)).toEqual([]);
  });
});
