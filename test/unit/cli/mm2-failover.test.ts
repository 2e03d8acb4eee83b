import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, vi } from 'vitest';

// Every case starts CLI processes: a Node start-up is seconds, not milliseconds, on two busy cores (as synth is in
// the infra tests), and the default 5 s timed these out while other work shared the machine.
vi.setConfig({ testTimeout: 60_000 });

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

/**
 * A fake Lambda endpoint on loopback: records each Invoke (the function named in the path, the payload) and answers
 * with `answer`, as the deployed function would.
 */
async function fakeLambda(answer: unknown) {
  const invocations: Array<{ functionName: string; payload: unknown }> = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const match = /\/functions\/([^/]+)\/invocations/.exec(request.url ?? '');
      invocations.push({
        functionName: decodeURIComponent(match?.[1] ?? ''),
        payload: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown,
      });
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    invocations,
    /** Run the CLI with its Lambda client pointed here. */
    cli: (...args: string[]) =>
      node(
        ['bin/mm2-failover.ts', ...args],
        offlineEnv({ AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL_LAMBDA: `http://127.0.0.1:${port}` }),
      ),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
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

  it('exits 2 when failover is given both --planned and --unplanned', async () => {
    const out = await cli(
      'failover',
      '--function',
      'x',
      '--reason',
      'maintenance',
      '--planned',
      '--unplanned',
    );

    expect(out.code).toBe(2);
    expect(out.stderr).toContain('failover: give --planned or --unplanned, not both');
  });

  it('passes --planned and --unplanned to the failover function, and neither when not given', async () => {
    const lambda = await fakeLambda({
      status: 'switched',
      planned: true,
      rpoRecords: 0,
      writesStoppedMs: 2100,
    });
    try {
      for (const flag of ['--planned', '--unplanned', undefined]) {
        const out = await lambda.cli(
          'failover',
          '--function',
          'f',
          '--reason',
          'maintenance',
          '--requested-by',
          'alice',
          ...(flag ? [flag] : []),
        );
        expect(out.code, out.stderr).toBe(0);
      }

      expect(lambda.invocations.map((i) => (i.payload as { planned?: boolean }).planned)).toEqual([
        true,
        false,
        undefined,
      ]);
    } finally {
      await lambda.close();
    }
  });

  it('exits 2 when failback is given no --reason', async () => {
    const out = await cli('failback', '--function', 'x');

    expect(out.code).toBe(2);
    expect(out.stderr).toContain('failback: give --reason');
  });

  it('exits 2 for a drill --mirror-timing it does not know, naming both timings, before starting anything', async () => {
    const [bad, help] = await Promise.all([cli('drill', '--mirror-timing', 'fast'), cli('drill', '--help')]);

    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--mirror-timing: expected one of best, production, got 'fast'");
    expect(help.stdout).toContain('[--mirror-timing best|production]');
  });

  it('exits 2 for a flag without its value', async () => {
    const out = await cli('status', '--function');

    expect(out.code).toBe(2);
    expect(out.stderr).toContain("Option '--function <value>' argument missing");
  });

  it('prints the usage with the exit codes for --help and exits 0', async () => {
    const out = await cli('--help');

    expect(out.code).toBe(0);
    expect(out.stdout).toContain(
      'mm2-failover failover (--deployment <name> | --function <name|arn> | --local)',
    );
    expect(out.stdout).toMatch(
      /exit codes:\n\s+0\s+done.*\n\s+1\s+refused.*\n\s+2\s+usage error.*\n\s+3\s+failback --wait.*approve/,
    );
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
        'failback --wait: give --deployment <name> or --state-machine <arn>',
      ],
      [
        ['failback', '--wait', '--function', 'f', '--reason', 'repaired'],
        'failback --wait: give the state machine with --deployment <name> or --state-machine <arn>, not --function',
      ],
      [
        ['failback', '--wait', '--state-machine', 'arn:x', '--reason', 'repaired'],
        'failback --wait: give --deployment <name>, or --table <TableName output of the stack>',
      ],
      [['failback', 'progress'], 'failback progress: give --deployment <name> or --state-machine <arn>'],
      [['failback', 'approve', '--table', 't'], 'failback approve: give --reason'],
      [
        ['failback', 'approve', '--reason', 'checked'],
        'failback approve: give --deployment <name>, or --table',
      ],
      [
        ['failback', '--state-machine', 'arn:x', '--reason', 'repaired', '--phase', 'purge'],
        'the driver runs every phase',
      ],
      [['failback', '--wait', '--local', '--reason', 'repaired', '--confirm'], 'the driver runs every phase'],
      [
        ['failback', '--function', 'f', '--reason', 'done', '--mirror-confirmed', 'stop-everything'],
        "--mirror-confirmed: expected one of stop-forward, start-reverse, stop-reverse, start-forward, got 'stop-everything'",
      ],
      [
        ['status', '--function', 'f', '--deployment', 'd'],
        'status: give one of --deployment, --function and --local, got --deployment and --function',
      ],
      [['status'], 'status: give the deployment with --deployment <name>'],
      [
        ['failback', 'rollback', '--reason', 'x'],
        "failback: expected 'approve', 'progress' or no subcommand",
      ],
    ];
    // One process per case, side by side: each is a Node start-up, and the cases do not depend on each other.
    const outs = await Promise.all(cases.map(([args]) => cli(...args)));

    cases.forEach(([args, message], i) => {
      expect(outs[i]?.code, args.join(' ')).toBe(2);
      expect(outs[i]?.stderr, args.join(' ')).toContain(message);
    });
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

  // Two CLI processes each: Node start-ups take seconds on a loaded 2-core machine, past the default 5 s.
  it('passes a manual mirror confirmation and an abandon to the failback function as one invocation each', {
    timeout: 60_000,
  }, async () => {
    const lambda = await fakeLambda({ status: 'waiting', currentPhase: 'salvage' });
    try {
      const outs = await Promise.all([
        lambda.cli(
          'failback',
          '--function',
          'fb',
          '--reason',
          'flow stopped',
          '--mirror-confirmed',
          'stop-forward',
        ),
        lambda.cli('failback', '--function', 'fb', '--reason', 'a failover happened', '--abandon'),
      ]);

      for (const out of outs) expect(out.code, out.stderr).toBe(0);
      expect(lambda.invocations.map((i) => i.payload)).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            action: 'failback',
            mirrorConfirmed: 'stop-forward',
            reason: 'flow stopped',
          }),
          expect.objectContaining({ action: 'failback', abandon: true, reason: 'a failover happened' }),
        ]),
      );
      expect(lambda.invocations).toHaveLength(2);
    } finally {
      await lambda.close();
    }
  });

  it('prints the help of one command with its flags and exit codes', async () => {
    const [failback, init] = await Promise.all([cli('failback', '--help'), cli('init', '--help')]);

    expect(failback.code).toBe(0);
    expect(failback.stdout).toMatch(
      /plan .*\n\s+prepare .*\n\s+salvage .*\n\s+reverse .*\n\s+purge .*\n\s+catch-up .*\n\s+switch .*\n\s+restore /,
    );
    expect(failback.stdout).toContain('--mirror-confirmed s');
    expect(failback.stdout).toMatch(/exit codes: 0 .*\n.*1 refused.*\n.*2 usage error; 3 --wait/);
    expect(init.code).toBe(0);
    expect(init.stdout).toContain('usage: mm2-failover init');
    expect(init.stdout).toContain('creates the active credentials secret empty');
  });

  describe('repair and refresh-credentials', () => {
    it('exits 2 naming what is missing or misplaced', async () => {
      const cases: [string[], string][] = [
        [['repair', '--function', 'x'], 'repair: give --reason'],
        [['refresh-credentials', '--function', 'x'], 'refresh-credentials: give --reason'],
        [
          ['repair', '--function', 'x', '--reason', 'torn', '--force'],
          'repair: --force is for refresh-credentials',
        ],
        [
          ['repair', '--reason', 'torn'],
          'repair: give the deployment with --deployment <name>, the deployed failover function with --function <name|arn>, or --local',
        ],
      ];
      // One process per case, side by side: each is a Node start-up, and the cases do not depend on each other.
      const outs = await Promise.all(cases.map(([args]) => cli(...args)));

      cases.forEach(([args, message], i) => {
        expect(outs[i]?.code, args.join(' ')).toBe(2);
        expect(outs[i]?.stderr, args.join(' ')).toContain(message);
        expect(outs[i]?.stderr).toContain('usage:');
      });
    });

    it('lists both commands and the exit code of a repair in --help', async () => {
      const out = await cli('--help');

      expect(out.stdout).toContain(
        'mm2-failover repair   (--deployment <name> | --function <name|arn> | --local) --reason "..."',
      );
      expect(out.stdout).toContain(
        'mm2-failover refresh-credentials (--deployment <name> | --function <name|arn> | --local) --reason',
      );
      expect(out.stdout).toMatch(/repair: 0 .*consistent or repaired.*, 1 it could not be/);
    });

    it('invokes the failover function with a repair request and exits 0 when it repaired', async () => {
      const answer = {
        status: 'repaired',
        epoch: 3,
        cluster: 'secondary',
        newEpoch: false,
        written: ['parameter'],
      };
      const lambda = await fakeLambda(answer);
      try {
        const out = await lambda.cli(
          'repair',
          '--function',
          'mm2-failover-orders-failover',
          '--reason',
          'status says torn (INC-7)',
          '--requested-by',
          'alice',
        );

        expect(out.code, out.stderr).toBe(0);
        expect(JSON.parse(out.stdout)).toEqual(answer);
        expect(lambda.invocations).toEqual([
          {
            functionName: 'mm2-failover-orders-failover',
            payload: { action: 'repair', reason: 'status says torn (INC-7)', requestedBy: 'alice' },
          },
        ]);
      } finally {
        await lambda.close();
      }
    });

    it('passes --force to refresh-credentials and exits 0 when it refreshed', async () => {
      const lambda = await fakeLambda({ status: 'refreshed', epoch: 4, cluster: 'primary', rotated: [] });
      try {
        const out = await lambda.cli(
          'refresh-credentials',
          '--function',
          'f',
          '--reason',
          'rotated the primary secret',
          '--force',
          '--requested-by',
          'bob',
        );

        expect(out.code, out.stderr).toBe(0);
        expect(lambda.invocations.map((i) => i.payload)).toEqual([
          {
            action: 'refresh-credentials',
            reason: 'rotated the primary secret',
            requestedBy: 'bob',
            force: true,
          },
        ]);
      } finally {
        await lambda.close();
      }
    });

    it.each([
      [
        'repair',
        { status: 'nothing-claimed', found: 'parameter epoch 0 (primary), secret epoch 1 (primary)' },
      ],
      ['repair', { status: 'refused', reasons: [{ code: 'lock-held', message: 'held by a failover' }] }],
      ['refresh-credentials', { status: 'refused', reasons: [{ code: 'not-consistent', message: 'torn' }] }],
    ])('exits 1 when %s answers %j', async (command, answer) => {
      const lambda = await fakeLambda(answer);
      try {
        const out = await lambda.cli(command, '--function', 'f', '--reason', 'r');

        expect(out.code, out.stderr).toBe(1);
        expect(JSON.parse(out.stdout)).toEqual(answer);
      } finally {
        await lambda.close();
      }
    });

    it('exits 2 for --local without a local deployment, naming the file', async () => {
      const out = await node(
        ['bin/mm2-failover.ts', 'repair', '--local', '--reason', 'torn'],
        offlineEnv({ MM2_FAILOVER_LOCAL_FILE: '/nonexistent/local-deployment.json' }),
      );

      expect(out.code).toBe(2);
      expect(out.stderr).toContain('no local deployment');
      expect(out.stderr).toContain('/nonexistent/local-deployment.json');
    });
  });
});
