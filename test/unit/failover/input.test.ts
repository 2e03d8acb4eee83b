import { describe, expect, it } from 'vitest';
import { ValidationError } from '#shared/errors.ts';
import { parseFailoverInput } from '#shared/failover/input.ts';
import { alarmEvent, malformedPayloads } from './payloads.ts';

describe('parseFailoverInput', () => {
  it('normalises a manual request with defaults when the flags are absent', () => {
    expect(
      parseFailoverInput({ action: 'failover', reason: ' region outage ', requestedBy: 'alice' }),
    ).toEqual({
      trigger: 'manual',
      reason: 'region outage',
      requestedBy: 'alice',
      dryRun: false,
      force: false,
    });
  });

  it('keeps dryRun and force when given', () => {
    const r = parseFailoverInput({
      action: 'failover',
      reason: 'drill',
      requestedBy: 'bob',
      dryRun: true,
      force: true,
    });

    expect(r).toMatchObject({ dryRun: true, force: true, trigger: 'manual' });
  });

  it('turns an alarm event into an automatic, unforced, real request', () => {
    const r = parseFailoverInput(alarmEvent);

    expect(r).toEqual({
      trigger: 'alarm',
      reason: 'alarm orders-dr-failover went to ALARM: PrimaryDown in ALARM',
      requestedBy: 'alarm:orders-dr-failover',
      dryRun: false,
      force: false,
      eventId: alarmEvent.id,
    });
  });

  it("turns the probe's direct trigger into an automatic, unforced request that carries its evidence", () => {
    const evidence = {
      downSince: '2026-11-21T11:59:40.000Z',
      downForSeconds: 20,
      windowSeconds: 20,
      cycles: [{ cycle: 41, startedAt: '2026-11-21T11:59:58.000Z', reasons: ['connect-refused'] }],
      secondary: { verdict: 'up', reasons: [] },
    };
    const r = parseFailoverInput({
      action: 'failover',
      trigger: 'probe',
      requestedBy: 'probe',
      reason: 'the probe saw the primary down for 20 s',
      evidence,
    });

    expect(r).toEqual({
      trigger: 'probe',
      reason: 'the probe saw the primary down for 20 s',
      requestedBy: 'probe',
      dryRun: false,
      force: false,
      evidence,
    });
  });

  it('refuses a probe trigger that would force or carries no evidence, naming each path', () => {
    const err = (() => {
      try {
        parseFailoverInput({
          action: 'failover',
          trigger: 'probe',
          requestedBy: 'probe',
          reason: 'down',
          force: true,
        });
      } catch (e: unknown) {
        return e;
      }
      return undefined;
    })();

    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).problems.map((p) => p.path).sort()).toEqual(['', 'evidence']);
  });

  it.each(malformedPayloads)('refuses $name, listing every problem by path', ({ payload, paths }) => {
    const err = (() => {
      try {
        parseFailoverInput(payload);
      } catch (e: unknown) {
        return e;
      }
      return undefined;
    })();

    expect(err).toBeInstanceOf(ValidationError);
    const problems = (err as ValidationError).problems;
    expect(problems.map((p) => p.path).sort()).toEqual([...paths].sort());
    for (const p of problems) expect(p.message.length).toBeGreaterThan(0);
  });

  it('says what it expected and what it got for a wrong action', () => {
    const err = (() => {
      try {
        parseFailoverInput({ action: 'failback', reason: 'test it', requestedBy: 'ops' });
      } catch (e: unknown) {
        return e as ValidationError;
      }
      return undefined;
    })();

    expect(err?.message).toContain(`action: expected 'failover', got "failback"`);
  });
});
