import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/**
 * The drill scenarios end to end, each as an operator runs it: `mm2-failover drill --scenario X --json` in a
 * process of its own (the handlers read their configuration once per process, as in Lambda), on a harness of
 * its own. The JSON summary is the last line of its output.
 */
interface Summary {
  ok: boolean;
  scenario: string;
  mode: string;
  policy: string;
  mirrorTiming: string;
  detectionWindowSeconds: number;
  rtoSeconds: number | null;
  missingAfterFailover: number;
  duplicatesConsumed: number;
  failback: { ok: boolean; salvaged: number; lost: number; duplicates: number } | null;
  rpoRecords?: number | null;
  writesStoppedMs?: number | null;
}

function drill(
  scenario: string,
  extra: readonly string[] = [],
): Promise<{ code: number | null; summary: Summary; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['bin/mm2-failover.ts', 'drill', '--scenario', scenario, ...extra, '--json'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const last = stdout.trim().split('\n').at(-1) ?? '';
      try {
        resolve({ code, summary: JSON.parse(last) as Summary, stderr });
      } catch {
        reject(
          new Error(
            `drill ${scenario} printed no JSON summary (exit ${code}); its progress:\n${stderr.slice(-4000)}`,
          ),
        );
      }
    });
  });
}

const progressOf = (r: { stderr: string }) =>
  r.stderr
    .split('\n')
    .filter((l) => !l.startsWith('{'))
    .join('\n')
    .slice(-6000);

describe('drill', () => {
  it('fails over once when the primary is killed, clients follow, and failback loses nothing', async () => {
    const r = await drill('kill');

    expect(r.summary, progressOf(r)).toMatchObject({ ok: true, scenario: 'kill' });
    expect(r.summary.rtoSeconds).not.toBeNull();
    expect(r.summary.failback).toMatchObject({ ok: true, lost: 0 });
    expect(r.code).toBe(0);
  }, 900_000);

  it("active-active: only the primary's clients move, drain its copy, and come back; the secondary's stay", async () => {
    const r = await drill('kill', ['--mode', 'active-active']);

    expect(r.summary, progressOf(r)).toMatchObject({
      ok: true,
      scenario: 'kill',
      mode: 'active-active',
      policy: 'default',
    });
    expect(r.summary.rtoSeconds).not.toBeNull();
    expect(r.summary.failback).toMatchObject({ ok: true, lost: 0 });
    expect(r.code).toBe(0);
  }, 900_000);

  it('active-passive with the default policy: clients follow into primary.orders, failback copies their records back and loses nothing', async () => {
    const r = await drill('kill', ['--policy', 'default']);

    expect(r.summary, progressOf(r)).toMatchObject({
      ok: true,
      scenario: 'kill',
      mode: 'active-passive',
      policy: 'default',
    });
    expect(r.summary.rtoSeconds).not.toBeNull();
    expect(r.summary.failback).toMatchObject({ ok: true, lost: 0 });
    // The kill row's budget: what consumers read on the secondary between the translation and leaving it (~5 s at
    // ~20 records/s) plus the failover's rewind; ~370 came from records read there but copied after the translation.
    expect(r.summary.duplicatesConsumed).toBeLessThanOrEqual(250);
    expect(r.code).toBe(0);
  }, 900_000);

  it("with MM2's production defaults (60 s checkpoints, offset.lag.max 100) fails over once, loses nothing and stays within the row's duplicates budget", async () => {
    const r = await drill('kill', ['--mirror-timing', 'production']);

    expect(r.summary, progressOf(r)).toMatchObject({
      ok: true,
      scenario: 'kill',
      mirrorTiming: 'production',
    });
    expect(r.summary.rtoSeconds).not.toBeNull();
    expect(r.summary.rpoRecords).toEqual(expect.any(Number));
    expect(r.summary.failback).toMatchObject({ ok: true, lost: 0 });
    expect(r.code).toBe(0);
  }, 900_000);

  it('fails over once when the primary hangs (SIGSTOP)', async () => {
    const r = await drill('hang');

    expect(r.summary, progressOf(r)).toMatchObject({ ok: true, scenario: 'hang' });
    expect(r.summary.failback).toMatchObject({ ok: true, lost: 0 });
    expect(r.code).toBe(0);
  }, 900_000);

  it('moves clients in a planned switchover with RPO 0 while both clusters are up, and fails back losing nothing', async () => {
    const r = await drill('planned');

    expect(r.summary, progressOf(r)).toMatchObject({ ok: true, scenario: 'planned', rpoRecords: 0 });
    expect(r.summary.writesStoppedMs).toEqual(expect.any(Number));
    expect(r.summary.failback).toMatchObject({ ok: true, lost: 0 });
    expect(r.code).toBe(0);
  }, 900_000);

  for (const scenario of ['mm2-down', 'secondary-down', 'flapping']) {
    it(`does not fail over when ${scenario}`, async () => {
      const r = await drill(scenario);

      expect(r.summary, progressOf(r)).toMatchObject({
        ok: true,
        scenario,
        rtoSeconds: null,
        failback: null,
      });
      expect(r.code).toBe(0);
    }, 600_000);
  }
});
