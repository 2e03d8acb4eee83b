import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  discoverFunctionEntries,
  failoverTimeoutSeconds,
  probeTimeoutSeconds,
} from '#infra/function-catalog.ts';
import { ValidationError } from '#shared/errors.ts';
import { exampleConfig, synthesize, synthTimeoutMs } from './synthesize.ts';

// Synthesizing a stack takes seconds on two busy cores.
vi.setConfig({ testTimeout: synthTimeoutMs, hookTimeout: synthTimeoutMs });

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e: unknown) {
    return e;
  }
  throw new Error('expected a throw');
}

describe('what the stack refuses at synth', () => {
  it('refuses msk-iam clusters without their ARN, naming each path', () => {
    const config = exampleConfig((c) => {
      c.clusters.primary.auth = 'msk-iam';
      c.clusters.secondary.auth = 'msk-iam';
    });

    const e = thrown(() => synthesize({ config, bundle: false }));

    expect(e).toBeInstanceOf(ValidationError);
    expect((e as ValidationError).problems.map((p) => p.path)).toEqual([
      'clusters.primary.mskClusterArn',
      'clusters.secondary.mskClusterArn',
    ]);
  });

  it('refuses an mskClusterArn that is not an MSK cluster ARN, by path, before the stack is built', () => {
    const e = thrown(() =>
      exampleConfig((c) => {
        c.clusters.primary = {
          ...c.clusters.primary,
          auth: 'msk-iam',
          mskClusterArn: 'arn:aws:kafka:eu-west-1:1:cluster/x',
        };
      }),
    );

    expect(e).toBeInstanceOf(ValidationError);
    expect((e as ValidationError).problems).toEqual([
      {
        path: 'clusters.primary.mskClusterArn',
        message: expect.stringMatching(/expected an MSK cluster ARN/),
      },
    ]);
  });
});

describe('function sizing', () => {
  it('gives the probe the minute of its loop plus one cycle deadline, rounded up', () => {
    const config = exampleConfig((c) => {
      c.detection = { ...c.detection, probeIntervalSeconds: 20, cycleDeadlineMs: 12_500 };
    });
    expect(probeTimeoutSeconds(config)).toBe(60 + 13);
  });

  it('gives failover five minutes, more when confirmation is slow, never more than Lambda allows', () => {
    expect(failoverTimeoutSeconds(exampleConfig())).toBe(300);
    const slow = exampleConfig((c) => {
      c.detection = { ...c.detection, confirmProbes: 10, cycleDeadlineMs: 9_000, confirmIntervalMs: 30_000 };
    });
    // 10 × (9 s + 30 s) = 390 s of confirmation + 120 s.
    expect(failoverTimeoutSeconds(slow)).toBe(510);
    const slowest = exampleConfig((c) => {
      c.detection = {
        ...c.detection,
        probeIntervalSeconds: 60,
        confirmProbes: 10,
        cycleDeadlineMs: 59_000,
        confirmIntervalMs: 30_000,
      };
    });
    expect(failoverTimeoutSeconds(slowest)).toBe(900);
  });
});

describe('discoverFunctionEntries', () => {
  let root: string | undefined;
  afterEach(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('lists the handlers that exist, in catalog order, and skips folders without one', () => {
    root = mkdtempSync(join(tmpdir(), 'mm2-failover-entries-'));
    for (const name of ['status', 'probe', 'failback'])
      mkdirSync(join(root, 'functions', name), { recursive: true });
    writeFileSync(join(root, 'functions', 'status', 'handler.ts'), '');
    writeFileSync(join(root, 'functions', 'probe', 'handler.ts'), '');

    expect(discoverFunctionEntries(root)).toEqual({
      probe: join(root, 'functions', 'probe', 'handler.ts'),
      status: join(root, 'functions', 'status', 'handler.ts'),
    });
  });
});
