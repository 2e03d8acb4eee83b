/**
 * The drill's terminal: lines that stay (the phases, the verdicts) and one status line of live counters. On a
 * terminal the status line is redrawn in place below the lines that stay; piped (to a file, a CI log, a test)
 * every status is a line of its own, so the output reads top to bottom without control characters.
 */
export interface ConsoleStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

const CLEAR_LINE = '\r\u001b[2K';

export class LiveConsole {
  readonly #out: ConsoleStream;
  #status: string | undefined;

  constructor(out: ConsoleStream) {
    this.#out = out;
  }

  /** A line that stays, above the live status. */
  line(text: string): void {
    if (this.#status !== undefined) this.#out.write(CLEAR_LINE);
    this.#out.write(`${text}\n`);
    if (this.#status !== undefined) this.#out.write(this.#status);
  }

  /** The live counters: replaced in place on a terminal, a line of their own otherwise. */
  status(text: string): void {
    if (!this.#out.isTTY) {
      this.#out.write(`${text}\n`);
      return;
    }
    this.#out.write(`${CLEAR_LINE}${text}`);
    this.#status = text;
  }

  /** The status line is left as the last line written, so that what follows starts on a line of its own. */
  endStatus(): void {
    if (this.#status === undefined) return;
    this.#out.write('\n');
    this.#status = undefined;
  }
}
