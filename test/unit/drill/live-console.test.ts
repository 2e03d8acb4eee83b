import { describe, expect, it } from 'vitest';
import { LiveConsole } from '#drill/live-console.ts';

function terminal(isTTY: boolean): { out: { write(t: string): void; isTTY: boolean }; written: string[] } {
  const written: string[] = [];
  return { out: { write: (t) => written.push(t), isTTY }, written };
}

describe('drill live console', () => {
  it('redraws the counters in place on a terminal and keeps lines that stay above them', () => {
    const { out, written } = terminal(true);
    const screen = new LiveConsole(out);

    screen.status('produced 10');
    screen.status('produced 20');
    screen.line('[  51.2s] primary killed (SIGKILL)');
    screen.endStatus();

    expect(written.join('')).toBe(
      '\r\u001b[2Kproduced 10\r\u001b[2Kproduced 20\r\u001b[2K[  51.2s] primary killed (SIGKILL)\nproduced 20\n',
    );
  });

  it('writes every status as a plain line when piped, without control characters', () => {
    const { out, written } = terminal(false);
    const screen = new LiveConsole(out);

    screen.status('produced 10');
    screen.line('[  51.2s] primary killed (SIGKILL)');
    screen.endStatus();

    expect(written.join('')).toBe('produced 10\n[  51.2s] primary killed (SIGKILL)\n');
  });
});
