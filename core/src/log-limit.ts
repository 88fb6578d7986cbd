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

/**
 * One line per streak of the same failure, not one per attempt: a peer that refuses every
 * session, or a terminator that is away for minutes, would otherwise log each reconnect. The
 * first failure of a streak is logged as it comes; repeats are counted; when the streak ends
 * (another cause, a healthy session, the circuit opening) or every `windowMs` while it lasts,
 * one line sums it up: "session ended: <cause> (×12 since 03:01:02)". Digits in the cause
 * are ignored when comparing (sequence numbers, delays), so "expected seq 6, got 9" and
 * "expected seq 6, got 10" are one streak.
 */
export class StreakLog {
  readonly #windowMs: number;
  readonly #now: () => number;
  #key = '';
  #text = '';
  #fields: LogFields | undefined;
  #count = 0;
  #since = 0;
  #summarizedAt = 0;

  constructor(windowMs = 60_000, now: () => number = Date.now) {
    this.#windowMs = windowMs;
    this.#now = now;
  }

  /** The cause of the current streak ('' when there is none). */
  get text(): string {
    return this.#count > 0 ? this.#text : '';
  }

  /** Failures in the current streak. */
  get count(): number {
    return this.#count;
  }

  /**
   * One failure; `text` names its cause, `first` is the line for the first of a streak. The
   * summary carries the latest failure's `fields` (the attempt number, the delay reached).
   */
  record(logger: Logger, text: string, first: string, fields?: LogFields): void {
    const key = text.replace(/\d+/g, '#');
    const now = this.#now();
    if (this.#count > 0 && key === this.#key) {
      this.#count += 1;
      this.#text = text;
      this.#fields = fields;
      if (now - this.#summarizedAt >= this.#windowMs) {
        this.#summarize(logger);
        this.#summarizedAt = now;
      }
      return;
    }
    this.end(logger);
    this.#key = key;
    this.#text = text;
    this.#fields = fields;
    this.#count = 1;
    this.#since = now;
    this.#summarizedAt = now;
    logger.warn(first, fields);
  }

  /** The streak is over: its summary, if it had repeats. */
  end(logger: Logger): void {
    if (this.#count > 1) this.#summarize(logger);
    this.#count = 0;
    this.#key = '';
  }

  #summarize(logger: Logger): void {
    const since = new Date(this.#since).toISOString().slice(11, 19);
    logger.warn(`${this.#text} (×${this.#count} since ${since})`, { ...this.#fields, count: this.#count });
  }
}
