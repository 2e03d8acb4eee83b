/**
 * Everything this process prints while a drill runs (the in-process functions' JSON logs and EMF lines,
 * kafkajs' errors from the clusters the drill kills, Node's warnings) goes to the run's log file instead of the
 * terminal, line by line, as CloudWatch Logs would ingest it; the drill's own console writes to the real stderr.
 */
export interface OutputRouting {
  /** The terminal's stderr as it was before routing: where the drill's console writes. */
  terminal(text: string): void;
  /** Give the terminal its stdout and stderr back; a last unfinished line is handed over first. */
  restore(): void;
}

type StreamName = 'stdout' | 'stderr';

export function routeOutput(onLine: (line: string, stream: StreamName) => void): OutputRouting {
  const stdout = capture('stdout', onLine);
  const stderr = capture('stderr', onLine);
  return {
    terminal: (text) => {
      stderr.original(text);
    },
    restore: () => {
      stderr.restore();
      stdout.restore();
    },
  };
}

function capture(
  name: StreamName,
  onLine: (line: string, stream: StreamName) => void,
): { original: (text: string) => void; restore: () => void } {
  const stream = process[name];
  const write = stream.write;
  let pending = '';
  stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
    pending += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    let nl = pending.indexOf('\n');
    while (nl >= 0) {
      onLine(pending.slice(0, nl), name);
      pending = pending.slice(nl + 1);
      nl = pending.indexOf('\n');
    }
    const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    callback?.();
    return true;
  }) as typeof stream.write;
  return {
    original: (text) => {
      write.call(stream, text);
    },
    restore: () => {
      if (pending) onLine(pending, name);
      pending = '';
      stream.write = write;
    },
  };
}
