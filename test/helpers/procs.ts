/**
 * Real processes for integration tests: an app (the shipped one or a test fixture) started
 * with env configuration, its output collected line by line, and waits on what it prints.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { NODE_FLAGS, NODE_OPTIONS } from '../../tools/src/node-options.js';
import type { TestPki } from './pki.js';
import { freePort } from './ports.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface Proc {
  name: string;
  child: ChildProcess;
  lines: string[];
  /** Resolves with the first line (already printed or to come) that matches (a RegExp or any `{ test(line) }`). */
  waitFor(pattern: LinePattern, timeoutMs?: number): Promise<string>;
  /** Resolves with the first line printed from now on that matches. */
  waitForNext(pattern: LinePattern, timeoutMs?: number): Promise<string>;
  /** Lines that match, so far. */
  matching(pattern: RegExp): string[];
  /** Resolves once the process has exited and all of its output is in `lines`. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** What waitFor matches lines with: a RegExp, or a predicate object (see `atLeast`). */
export interface LinePattern {
  test(line: string): boolean;
  /** How the pattern reads in a timeout message. */
  toString(): string;
}

/**
 * Resolves with the exit code of a process that is expected to stop by itself (a refused
 * start-up); kills it and fails, naming `what` and its lines, if it is still up after `ms`.
 */
export async function exitsWithin(proc: Proc, ms: number, what: string): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const stillUp = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void proc.kill('SIGKILL');
      reject(new Error(`${proc.name} still running ${ms} ms after start with ${what}; lines:\n  ${proc.lines.join('\n  ')}`));
    }, ms);
  });
  try {
    return (await Promise.race([proc.exited, stillUp])).code;
  } finally {
    clearTimeout(timer);
  }
}

/** Matches lines `<prefix> <n>` with n ≥ threshold (progress lines). */
export function atLeast(prefix: string, threshold: number): LinePattern {
  return {
    test: (line) => line.startsWith(`${prefix} `) && Number(line.slice(prefix.length + 1)) >= threshold,
    toString: () => `"${prefix} <n ≥ ${threshold}>"`,
  };
}

export function startProcess(name: string, args: string[], env: Record<string, string>): Proc {
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters: Array<{ pattern: LinePattern; resolve: (line: string) => void }> = [];
  const onLine = (line: string): void => {
    lines.push(line);
    if (process.env['FERRY_TEST_VERBOSE']) process.stderr.write(`[${name}] ${line}\n`);
    for (let i = waiters.length - 1; i >= 0; i -= 1) {
      const waiter = waiters[i];
      if (waiter && waiter.pattern.test(line)) {
        waiters.splice(i, 1);
        waiter.resolve(line);
      }
    }
  };
  createInterface({ input: child.stdout }).on('line', onLine);
  createInterface({ input: child.stderr }).on('line', onLine);
  // 'close', not 'exit': 'exit' may come before the last of the child's output has been read
  // from its pipes, and tests read `lines` as soon as this resolves. (Nothing the apps spawn
  // holds the pipes open after them.)
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => {
    child.once('close', (code, signal) => done({ code, signal }));
  });
  return {
    name,
    child,
    lines,
    exited,
    matching: (pattern) => lines.filter((l) => pattern.test(l)),
    waitFor(pattern, timeoutMs = 15_000) {
      const seen = lines.find((l) => pattern.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      return next(pattern, timeoutMs);
    },
    waitForNext: (pattern, timeoutMs = 15_000) => next(pattern, timeoutMs),
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };

  function next(pattern: LinePattern, timeoutMs: number): Promise<string> {
    return new Promise((resolveLine, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`${name}: no line matching ${pattern} within ${timeoutMs} ms; last lines:\n  ${lines.slice(-15).join('\n  ')}`));
      }, timeoutMs);
      waiters.push({
        pattern,
        resolve: (line) => {
          clearTimeout(timer);
          resolveLine(line);
        },
      });
    });
  }
}

export interface AppOptions {
  pki: TestPki;
  httpPort: number;
  sessionPort: number;
  /** Extra FERRY_* settings. */
  env?: Record<string, string>;
  /** A fixture under test/fixtures instead of the shipped app. */
  fixture?: string;
  /** Certificates to present instead of the bundle's. */
  cert?: { cert: string; key: string };
  ca?: string;
}

/** The shipped apps run from their build output; fixtures run through tsx. */
function entry(role: 'initiator' | 'terminator', fixture: string | undefined): string[] {
  // The image's command-line flags too (tools/src/node-options.ts), as for the image's options below.
  if (fixture) return [...NODE_FLAGS, '--import', 'tsx', join(REPO_ROOT, 'test', 'fixtures', fixture)];
  return [...NODE_FLAGS, join(REPO_ROOT, role, 'app', 'dist', 'app.js')];
}

export function startTerminator(options: AppOptions): Proc {
  const cert = options.cert ?? options.pki.terminator;
  return startProcess('terminator', entry('terminator', options.fixture), {
    // The image's options (tools/src/node-options.ts): memory figures a test reads are the pod's.
    NODE_OPTIONS: NODE_OPTIONS.terminator,
    FERRY_HTTP_PORT: String(options.httpPort),
    FERRY_HTTP_HOST: '127.0.0.1',
    FERRY_SESSION_LISTEN_HOST: '127.0.0.1',
    FERRY_SESSION_LISTEN_PORT: String(options.sessionPort),
    FERRY_TLS_CA_FILE: options.ca ?? options.pki.ca.cert,
    FERRY_TLS_CERT_FILE: cert.cert,
    FERRY_TLS_KEY_FILE: cert.key,
    ...options.env,
  });
}

export interface InitiatorOptions extends AppOptions {
  /** POST /trigger's own port (http.triggerPort); httpPort serves the probes and /metrics. */
  triggerPort: number;
}

export function startInitiator(options: InitiatorOptions): Proc {
  const cert = options.cert ?? options.pki.initiator;
  return startProcess('initiator', entry('initiator', options.fixture), {
    NODE_OPTIONS: NODE_OPTIONS.initiator,
    FERRY_HTTP_PORT: String(options.httpPort),
    FERRY_HTTP_TRIGGER_PORT: String(options.triggerPort),
    FERRY_HTTP_HOST: '127.0.0.1',
    FERRY_SESSION_URL: `wss://localhost:${options.sessionPort}`,
    FERRY_TLS_CA_FILE: options.ca ?? options.pki.ca.cert,
    FERRY_TLS_CERT_FILE: cert.cert,
    FERRY_TLS_KEY_FILE: cert.key,
    FERRY_RECONNECT_INTERVAL_MS: '100',
    FERRY_RECONNECT_MAX_DELAY_MS: '500',
    ...options.env,
  });
}

/** POSTs JSON (or raw text) to the initiator; returns status, headers and parsed body. */
export async function post(port: number, path: string, body: unknown, raw = false, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: raw ? (body as string) : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

export async function get(port: number, path: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, text: await res.text() };
}

/** Polls until `check` returns true (state that is not announced by a log line). */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface Pair {
  initiator: Proc;
  terminator: Proc;
  /** The initiator's POST /trigger port. */
  trigger: number;
  /** The initiator's probes and /metrics port. */
  http: number;
  stop(): Promise<void>;
}

/**
 * The usual cast of an integration test: the fixture terminator and initiator on fresh ports,
 * the auto-trigger off, started in that order and waited on until their session is open.
 */
export async function startPair(pki: TestPki, env: { initiator?: Record<string, string>; terminator?: Record<string, string> } = {}): Promise<Pair> {
  const sessionPort = await freePort();
  const http = await freePort();
  const trigger = await freePort();
  const terminator = startTerminator({ pki, httpPort: await freePort(), sessionPort, fixture: 'terminator.ts', env: env.terminator ?? {} });
  const initiator = startInitiator({ pki, httpPort: http, triggerPort: trigger, sessionPort, fixture: 'initiator.ts', env: { FERRY_AUTO_TRIGGER_COUNT: '0', ...env.initiator } });
  const stop = async (): Promise<void> => {
    await initiator.kill();
    await terminator.kill();
  };
  try {
    await initiator.waitFor(/session open/);
  } catch (err) {
    await stop();
    throw err;
  }
  return { initiator, terminator, trigger, http, stop };
}
