/** A logger that keeps its warn and error lines, with their fields, for a test to read. */
import type { LogFields, Logger } from '@fast-ferry/core';

export class WarnLines implements Logger {
  readonly warned: Array<[string, LogFields | undefined]> = [];
  debug(): void {}
  info(): void {}
  warn(msg: string, fields?: LogFields): void {
    this.warned.push([msg, fields]);
  }
  error(msg: string, fields?: LogFields): void {
    this.warn(msg, fields);
  }
  child(): Logger {
    return this;
  }
  /** The messages alone, in order. */
  get lines(): string[] {
    return this.warned.map(([msg]) => msg);
  }
}
