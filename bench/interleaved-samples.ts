import { loadavg } from 'node:os';

/**
 * Time a copy against its baseline in the same run, interleaved: the 2-core machine is shared and its load swings
 * by minutes, so each round runs both, the one that goes first alternating (what a warm cache or a load spike
 * gives one side, the next round gives the other), and each side is reported by its median. Every sample is kept
 * with the Node process's CPU time (what the copy loop itself costs, whatever the load) and the load average.
 */
interface Sample {
  round: number;
  first: 'copy' | 'plain';
  copyMs: number;
  plainMs: number;
  copyCpuMs: number;
  plainCpuMs: number;
  loadAverage1m: number;
}

export interface Comparison {
  records: number;
  recordsPerSecond: number;
  plainRecordsPerSecond: number;
  /** Copy throughput over the plain copy's, from the medians (at least 1 is the goal). */
  ratio: number;
  statistic: 'median';
  copyMedianMs: number;
  plainMedianMs: number;
  copyCpuMedianMs: number;
  plainCpuMedianMs: number;
  loadAverage: { start: number[]; end: number[] };
  samples: Sample[];
}

export async function interleave(
  records: number,
  rounds: number,
  runs: { copy: () => Promise<number>; plain: () => Promise<number> },
): Promise<Comparison> {
  const start = loadavg().map(round2);
  const samples: Sample[] = [];
  const timed = async (run: () => Promise<number>): Promise<{ ms: number; cpuMs: number }> => {
    const cpu = process.cpuUsage();
    const ms = await run();
    const used = process.cpuUsage(cpu);
    return { ms: Math.round(ms), cpuMs: Math.round((used.user + used.system) / 1000) };
  };
  for (let round = 1; round <= rounds; round += 1) {
    const first = round % 2 === 1 ? 'copy' : 'plain';
    const a = await timed(first === 'copy' ? runs.copy : runs.plain);
    const b = await timed(first === 'copy' ? runs.plain : runs.copy);
    const [copy, plain] = first === 'copy' ? [a, b] : [b, a];
    samples.push({
      round,
      first,
      copyMs: copy.ms,
      plainMs: plain.ms,
      copyCpuMs: copy.cpuMs,
      plainCpuMs: plain.cpuMs,
      loadAverage1m: round2(loadavg()[0] ?? 0),
    });
    console.error(
      `round ${round}/${rounds}: copy ${copy.ms} ms (cpu ${copy.cpuMs}), plain ${plain.ms} ms (cpu ${plain.cpuMs}), load ${loadavg()[0]?.toFixed(1)}`,
    );
  }
  const copyMedianMs = median(samples.map((s) => s.copyMs));
  const plainMedianMs = median(samples.map((s) => s.plainMs));
  return {
    records,
    recordsPerSecond: Math.round((records / copyMedianMs) * 1000),
    plainRecordsPerSecond: Math.round((records / plainMedianMs) * 1000),
    ratio: round2(plainMedianMs / copyMedianMs),
    statistic: 'median',
    copyMedianMs,
    plainMedianMs,
    copyCpuMedianMs: median(samples.map((s) => s.copyCpuMs)),
    plainCpuMedianMs: median(samples.map((s) => s.plainCpuMs)),
    loadAverage: { start, end: loadavg().map(round2) },
    samples,
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : Math.round(((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2);
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
