/**
 * A cap on log lines that can repeat once per message or request: a hook that throws on every
 * message of a 200,000 msgs/s stream would otherwise write 200,000 lines a second, and a
 * process's stdout to a pipe queues in memory for as long as the reader is behind. The first
 * lines of each window are logged as they come; the rest are counted and summed up in one
 * line when the window ends. Metrics still count every event.
 */
import type { LogFields, Logger } from './log.js';

export const LOG_LINES_PER_WINDOW = 20;
export const LOG_WINDOW_MS = 10_000;

export class RepeatedLog {
  readonly #what: string;
  readonly #perWindow: number;
  readonly #windowMs: number;
  #windowEnds = 0;
  #logged = 0;
  #suppressed = 0;
  #summary: NodeJS.Timeout | undefined;

  /** `what` names the lines in the summary, e.g. 'on_receive_terminator failures'. */
  constructor(what: string, perWindow = LOG_LINES_PER_WINDOW, windowMs = LOG_WINDOW_MS) {
    this.#what = what;
    this.#perWindow = perWindow;
    this.#windowMs = windowMs;
  }

  /** Logs or counts one line; true when it was logged (so a detail line may follow it). */
  warn(logger: Logger, msg: string, fields?: LogFields): boolean {
    const now = performance.now();
    if (now >= this.#windowEnds) {
      this.#windowEnds = now + this.#windowMs;
      this.#logged = 0;
    }
    if (this.#logged < this.#perWindow) {
      this.#logged += 1;
      logger.warn(msg, fields);
      return true;
    }
    this.#suppressed += 1;
    // unref: a pending summary must not keep a stopping process alive.
    this.#summary ??= setTimeout(() => this.#summarize(logger), this.#windowEnds - now).unref();
    return false;
  }

  #summarize(logger: Logger): void {
    const count = this.#suppressed;
    this.#suppressed = 0;
    this.#summary = undefined;
    logger.warn(`${count} more ${this.#what} were not logged (at most ${this.#perWindow} lines per ${this.#windowMs / 1000} s; the metrics count every one)`, { suppressed: count });
  }
}
