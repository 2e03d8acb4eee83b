import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Redacted } from '#shared/store/redacted.ts';

describe('Redacted', () => {
  it('never prints its value through JSON, strings or inspect', () => {
    const secret = new Redacted('hunter2');
    const holder = { key: secret };

    expect(JSON.stringify(holder)).not.toContain('hunter2');
    expect(`${secret}`).not.toContain('hunter2');
    expect(inspect(holder, { depth: 5 })).not.toContain('hunter2');
    expect(secret.reveal()).toBe('hunter2');
  });
});
