/**
 * The drill's display stopwatch: seconds since the run started, to a tenth, for its progress lines and the
 * report's timeline. Nothing is scheduled by it.
 */
export class Stopwatch {
  readonly startedAtMs: number;

  constructor(startedAtMs = Date.now()) {
    this.startedAtMs = startedAtMs;
  }

  seconds(atMs = Date.now()): number {
    return Math.round((atMs - this.startedAtMs) / 100) / 10;
  }
}
