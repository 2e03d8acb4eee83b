import { describe, expect, it } from 'vitest';
import { routeOutput } from '#drill/output-routing.ts';

describe('drill output routing', () => {
  it('hands every line printed to stdout or stderr to the run instead of the terminal, and gives both back', () => {
    const lines: Array<[string, string]> = [];
    const stdoutWrite = process.stdout.write;
    const stderrWrite = process.stderr.write;

    const routing = routeOutput((line, stream) => lines.push([stream, line]));
    process.stdout.write('{"level":"INFO","message":"probe"}\n{"_aws"');
    process.stderr.write(Buffer.from('(node:1) TimeoutNegativeWarning\n'));
    process.stdout.write(':{}}\n');
    routing.restore();

    expect(lines).toEqual([
      ['stdout', '{"level":"INFO","message":"probe"}'],
      ['stderr', '(node:1) TimeoutNegativeWarning'],
      ['stdout', '{"_aws":{}}'],
    ]);
    expect(process.stdout.write).toBe(stdoutWrite);
    expect(process.stderr.write).toBe(stderrWrite);
  });
});
