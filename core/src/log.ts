/**
 * The logger the library writes through. The library never calls console directly: the apps
 * pick the format (readable text by default, JSON with LOG_FORMAT=json) and the library adds
 * context with child loggers (`sessionId`, `peer`).
 */
import { format } from 'node:util';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LoggerOptions {
  format: 'text' | 'json';
  level: LogLevel;
  /** Where lines go; stdout by default (kubectl logs reads it). */
  write?: (line: string) => void;
  fields?: LogFields;
}

export function createLogger(options: LoggerOptions): Logger {
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const min = LEVEL_RANK[options.level];
  const render = options.format === 'json' ? renderJson : renderText;
  const make = (base: LogFields): Logger => {
    const emit = (level: LogLevel, msg: string, fields?: LogFields): void => {
      if (LEVEL_RANK[level] < min) return;
      write(render(level, msg, fields ? { ...base, ...fields } : base));
    };
    return {
      debug: (msg, fields) => emit('debug', msg, fields),
      info: (msg, fields) => emit('info', msg, fields),
      warn: (msg, fields) => emit('warn', msg, fields),
      error: (msg, fields) => emit('error', msg, fields),
      child: (fields) => make({ ...base, ...fields }),
    };
  };
  return make(options.fields ?? {});
}

/**
 * Sends console.log/info/debug/warn/error through `logger` (formatted as console would, with
 * `source: "console"`), so a hook's plain console.log lines stay JSON lines in a JSON log
 * stream. Process-wide: only an app's own process does this (RuntimeOptions.handleSignals),
 * never a library embedder's. Returns what undoes it.
 */
export function routeConsole(logger: Logger): () => void {
  const log = logger.child({ source: 'console' });
  const saved = { log: console.log, info: console.info, debug: console.debug, warn: console.warn, error: console.error };
  console.log = (...args: unknown[]) => log.info(format(...args));
  console.info = (...args: unknown[]) => log.info(format(...args));
  console.debug = (...args: unknown[]) => log.debug(format(...args));
  console.warn = (...args: unknown[]) => log.warn(format(...args));
  console.error = (...args: unknown[]) => log.error(format(...args));
  return () => Object.assign(console, saved);
}

/** A logger that drops everything (benchmarks, embedders that do not want lines). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};

function renderJson(level: LogLevel, msg: string, fields: LogFields): string {
  return JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }, jsonSafe);
}

/**
 * Readable lines: the message first (so the seed's emoji lines read verbatim in kubectl logs,
 * which adds its own timestamps on request), then warnings' level, then key=value context.
 */
function renderText(level: LogLevel, rawMsg: string, fields: LogFields): string {
  const prefix = level === 'warn' ? 'WARN ' : level === 'error' ? 'ERROR ' : level === 'debug' ? 'DEBUG ' : '';
  // One entry, one line: OpenSSL's messages, for one, end in a newline.
  const msg = rawMsg.includes('\n') ? rawMsg.replace(/\s*\n\s*/g, ' ').trim() : rawMsg;
  const context = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${formatValue(v)}`)
    .join(' ');
  return context ? `${prefix}${msg}  ${context}` : `${prefix}${msg}`;
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') return /[\s"=]/.test(value) ? JSON.stringify(value) : value;
  if (value instanceof Error) return JSON.stringify(value.message);
  return JSON.stringify(value, jsonSafe) ?? String(value);
}

function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) return { name: value.name, message: value.message, code: (value as { code?: unknown }).code };
  return value;
}
