import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../../..');

const statusAnswer = {
  deployment: 'orders',
  mode: 'active-passive',
  replicationPolicy: 'identity',
  active: {
    state: 'active',
    cluster: 'secondary',
    alias: 'dr',
    epoch: 3,
    switchedAt: '2026-12-03T10:00:00Z',
  },
  automation: 'enabled',
  lastProbe: null,
  readiness: null,
  failover: null,
  failback: null,
};

/**
 * One fake AWS endpoint for SSM (the parameter the stack writes, or none) and Lambda (records each Invoke and
 * answers `answer`), as the CLI reaches them with AWS_ENDPOINT_URL.
 */
async function fakeAws(parameters: Record<string, string>, answer: unknown) {
  const invoked: Array<{ functionName: string; payload: unknown }> = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      if (request.headers['x-amz-target'] === 'AmazonSSM.GetParameter') {
        const name = (JSON.parse(body) as { Name: string }).Name;
        const value = parameters[name];
        response.writeHead(value === undefined ? 400 : 200, { 'content-type': 'application/x-amz-json-1.1' });
        response.end(
          JSON.stringify(
            value === undefined
              ? { __type: 'ParameterNotFound', message: `Parameter ${name} not found.` }
              : { Parameter: { Name: name, Type: 'String', Value: value, Version: 1 } },
          ),
        );
        return;
      }
      const match = /\/functions\/([^/]+)\/invocations/.exec(request.url ?? '');
      invoked.push({
        functionName: decodeURIComponent(match?.[1] ?? ''),
        payload: JSON.parse(body) as unknown,
      });
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
  return {
    invoked,
    cli: (...args: string[]) =>
      run(process.execPath, ['bin/mm2-failover.ts', ...args], {
        cwd: root,
        env: {
          ...env,
          AWS_ACCESS_KEY_ID: 'test',
          AWS_SECRET_ACCESS_KEY: 'test',
          AWS_CONFIG_FILE: '/nonexistent',
          AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
          AWS_EC2_METADATA_DISABLED: 'true',
          AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`,
          AWS_MAX_ATTEMPTS: '1',
        },
      }).then(
        ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
        (e: { code: number; stdout: string; stderr: string }) => ({
          code: e.code,
          stdout: e.stdout,
          stderr: e.stderr,
        }),
      ),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const targets = JSON.stringify({
  functions: {
    status: 'orders-status-fn',
    failover: 'orders-failover-fn',
    failback: 'orders-failback-fn',
    probe: 'orders-probe-fn',
  },
  table: 'orders-table',
});

// Each case starts CLI processes (a Node start-up each, seconds on a loaded 2-core machine): beyond the default 5 s.
describe('mm2-failover --deployment', { timeout: 60_000 }, () => {
  it('invokes the functions its stack wrote down for each command', async () => {
    const aws = await fakeAws({ '/mm2-failover/orders/functions': targets }, statusAnswer);
    try {
      const outs = await Promise.all([
        aws.cli('status', '--deployment', 'orders', '--region', 'eu-west-1', '--json'),
        aws.cli('failover', '--deployment', 'orders', '--region', 'eu-west-1', '--dry-run'),
        aws.cli('repair', '--deployment', 'orders', '--region', 'eu-west-1', '--reason', 'torn'),
        aws.cli(
          'failback',
          '--deployment',
          'orders',
          '--region',
          'eu-west-1',
          '--reason',
          'ok',
          '--phase',
          'plan',
        ),
      ]);

      for (const out of outs) expect(out.code, out.stderr).toBe(0);
      expect(JSON.parse(outs[0]?.stdout ?? '')).toEqual(statusAnswer);
      expect(aws.invoked.map((i) => i.functionName).sort()).toEqual([
        'orders-failback-fn',
        'orders-failover-fn',
        'orders-failover-fn',
        'orders-status-fn',
      ]);
      expect(aws.invoked.map((i) => i.payload)).toContainEqual(
        expect.objectContaining({ action: 'failback', phase: 'plan' }),
      );
    } finally {
      await aws.close();
    }
  });

  it('exits 1 naming the parameter it looked for when the stack wrote none, and invokes nothing', async () => {
    const aws = await fakeAws({}, statusAnswer);
    try {
      const out = await aws.cli('status', '--deployment', 'orders', '--region', 'eu-west-1');

      expect(out.code).toBe(1);
      expect(out.stderr).toContain('missing parameter /mm2-failover/orders/functions');
      expect(out.stderr).toContain('give --function instead');
      expect(aws.invoked).toEqual([]);
    } finally {
      await aws.close();
    }
  });

  it('exits 1 when the stack deployed no function of that kind, naming it', async () => {
    const aws = await fakeAws(
      { '/mm2-failover/orders/functions': JSON.stringify({ functions: { probe: 'p' }, table: 't' }) },
      statusAnswer,
    );
    try {
      const out = await aws.cli('failover', '--deployment', 'orders', '--region', 'eu-west-1', '--dry-run');

      expect(out.code).toBe(1);
      expect(out.stderr).toContain("deployment 'orders' has no failover function deployed");
      expect(aws.invoked).toEqual([]);
    } finally {
      await aws.close();
    }
  });

  it('prints a readable status summary without --json', async () => {
    const aws = await fakeAws({ '/mm2-failover/orders/functions': targets }, statusAnswer);
    try {
      const out = await aws.cli('status', '--deployment', 'orders', '--region', 'eu-west-1');

      expect(out.code, out.stderr).toBe(0);
      expect(out.stdout).toMatch(/^active\s+secondary 'dr', epoch 3 since 2026-12-03T10:00:00Z$/m);
    } finally {
      await aws.close();
    }
  });
});
