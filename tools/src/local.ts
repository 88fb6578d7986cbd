/**
 * `bash deploy.sh --local`: both apps as local processes, configured the way the pods are
 * (a YAML config file per app plus the bundle's certificates), logs interleaved with an app
 * prefix, until Ctrl-C. `--once` exits 0 as soon as the auto-trigger completed with every
 * message sent, and non-zero with the reason otherwise.
 *
 * `--watch` (bash deploy.sh --local --watch) adds an edit loop made of two well-kept tools: one
 * `tsc -b --watch` recompiles what a save changed, and each app runs under `node --watch`, which
 * restarts it when a file of its own import graph changes. A save to terminator/app/app.ts
 * rewrites only terminator/app/dist/app.js, so only the terminator restarts; a core edit
 * rewrites core/dist, which both import, so both restart. A save that changes no emitted
 * JavaScript restarts nothing. Type errors show as [tsc] lines and the apps keep running.
 *
 *   node tools/dist/local.js up [--once | --watch] [--timeout SECONDS] [--state-dir .ferry]
 *   node tools/dist/local.js down [--state-dir .ferry]
 *
 * Ports (env): FERRY_LOCAL_INITIATOR_HTTP_PORT (8080), FERRY_LOCAL_TERMINATOR_HTTP_PORT (8081),
 * FERRY_LOCAL_INITIATOR_TRIGGER_PORT (8082: POST /trigger), FERRY_LOCAL_SESSION_PORT (8443). Any FERRY_* setting in the environment reaches both apps.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { parseAutoTriggerComplete } from '@fast-ferry/core';
import { NODE_FLAGS, NODE_OPTIONS } from './node-options.js';
import { ensurePki } from './pki.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Args {
  command: 'up' | 'down';
  once: boolean;
  watch: boolean;
  timeoutSeconds: number;
  stateDir: string;
}

interface App {
  name: 'initiator' | 'terminator' | 'tsc';
  child: ChildProcess;
  tail: string[];
}

function parseArgs(argv: string[]): Args {
  const [command, ...rest] = argv;
  if (command === '--help' || command === '-h' || command === 'help' || rest.includes('--help') || rest.includes('-h')) help();
  if (command !== 'up' && command !== 'down') usage(`unknown command ${command ?? '(none)'}`);
  const args: Args = { command, once: false, watch: false, timeoutSeconds: 120, stateDir: join(REPO_ROOT, '.ferry') };
  for (let i = 0; i < rest.length; i += 1) {
    const flag = rest[i];
    if (flag === '--once') args.once = true;
    else if (flag === '--watch') args.watch = true;
    else if (flag === '--timeout') args.timeoutSeconds = Number(rest[++i]);
    else if (flag === '--state-dir') args.stateDir = resolve(rest[++i] ?? '');
    else if (flag === '--local') continue;
    else usage(`unknown flag ${flag}`);
  }
  if (!Number.isFinite(args.timeoutSeconds) || args.timeoutSeconds <= 0) usage('--timeout needs a number of seconds');
  if (args.once && args.watch) usage('--once and --watch do not go together (--once stops after the auto-trigger, --watch keeps restarting)');
  return args;
}

const USAGE = 'usage: local.js up [--once | --watch] [--timeout SECONDS] [--state-dir DIR] | down [--state-dir DIR]';

function usage(problem: string): never {
  process.stderr.write(`${problem}\n${USAGE}\n`);
  process.exit(2);
}

/** --help: the usage and the ports a local run takes (exit 0). */
function help(): never {
  process.stdout.write(`${USAGE}
  up    both apps as local processes until Ctrl-C (--once: exit when the auto-trigger completed)
  down  stops a run started elsewhere
ports (env, default):
  FERRY_LOCAL_INITIATOR_HTTP_PORT     8080  initiator /healthz, /readyz, /metrics
  FERRY_LOCAL_TERMINATOR_HTTP_PORT    8081  terminator /healthz, /readyz, /metrics
  FERRY_LOCAL_INITIATOR_TRIGGER_PORT  8082  POST /trigger
  FERRY_LOCAL_SESSION_PORT            8443  the terminator's wss session port
Any other FERRY_* setting in the environment reaches both apps.
`);
  process.exit(0);
}

function port(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    process.stderr.write(`${name}=${raw} is not a port number (0-65535)\n`);
    process.exit(2);
  }
  return value;
}

/** POST /trigger's port in a local run: 8082, as 8081 is the local terminator's HTTP port. */
function triggerPort(): number {
  return port('FERRY_LOCAL_INITIATOR_TRIGGER_PORT', 8082);
}

/** Writes each app's config file: the same shape the chart's ConfigMap mounts in the pods. */
function writeConfigs(stateDir: string, pkiDir: string): { initiator: string; terminator: string } {
  const sessionPort = port('FERRY_LOCAL_SESSION_PORT', 8443);
  const dir = join(stateDir, 'local');
  mkdirSync(dir, { recursive: true });
  const tls = (app: string) => ({ caFile: join(pkiDir, 'ca.crt'), certFile: join(pkiDir, app, 'tls.crt'), keyFile: join(pkiDir, app, 'tls.key') });
  const initiator = {
    http: { port: port('FERRY_LOCAL_INITIATOR_HTTP_PORT', 8080), triggerPort: triggerPort(), host: '127.0.0.1' },
    session: { url: `wss://localhost:${sessionPort}` },
    tls: tls('initiator'),
  };
  const terminator = {
    http: { port: port('FERRY_LOCAL_TERMINATOR_HTTP_PORT', 8081), host: '127.0.0.1' },
    session: { listenHost: '127.0.0.1', listenPort: sessionPort },
    tls: tls('terminator'),
  };
  const paths = { initiator: join(dir, 'initiator.yaml'), terminator: join(dir, 'terminator.yaml') };
  writeFileSync(paths.initiator, yaml.dump(initiator));
  writeFileSync(paths.terminator, yaml.dump(terminator));
  return paths;
}

function start(name: 'initiator' | 'terminator', configFile: string, watch: boolean, onLine: (app: App, line: string) => void): App {
  const entry = join(REPO_ROOT, name, 'app', 'dist', 'app.js');
  if (!existsSync(entry)) {
    process.stderr.write(`${entry} is missing: run \`npm run build\` first (bash deploy.sh --local does)\n`);
    process.exit(1);
  }
  // --watch-preserve-output: no screen clearing, the other app's lines stay.
  const child = spawn(process.execPath, [...NODE_FLAGS, ...(watch ? ['--watch', '--watch-preserve-output'] : []), entry], {
    cwd: REPO_ROOT,
    // As in the app's image: its NODE_OPTIONS unless the user set their own.
    env: { NODE_OPTIONS: NODE_OPTIONS[name], ...process.env, FERRY_CONFIG_FILE: configFile },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return follow(name, child, onLine);
}

/** `tsc -b --watch` over both apps (and core, which they reference): recompiles on save. */
function startCompiler(onLine: (app: App, line: string) => void): App {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const projects = [join(REPO_ROOT, 'initiator', 'app'), join(REPO_ROOT, 'terminator', 'app')];
  const child = spawn(process.execPath, [tsc, '-b', ...projects, '--watch', '--preserveWatchOutput'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  return follow('tsc', child, onLine);
}

function follow(name: App['name'], child: ChildProcess, onLine: (app: App, line: string) => void): App {
  const app: App = { name, child, tail: [] };
  for (const stream of [child.stdout, child.stderr]) {
    if (stream === null) continue; // not piped: every caller spawns with stdio 'pipe'
    createInterface({ input: stream }).on('line', (line) => {
      app.tail.push(line);
      if (app.tail.length > 20) app.tail.shift();
      onLine(app, line);
    });
  }
  return app;
}

const LABELS: Record<App['name'], { label: string; color: string }> = {
  initiator: { label: '[initiator] ', color: '36' },
  terminator: { label: '[terminator]', color: '35' },
  tsc: { label: '[tsc]       ', color: '33' },
};

function prefix(name: App['name']): string {
  const { label, color } = LABELS[name];
  return process.stdout.isTTY ? `\x1b[${color}m${label}\x1b[0m` : label;
}

function waitForExit(app: App, ms: number): Promise<void> {
  if (app.child.exitCode !== null || app.child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const timer = setTimeout(() => {
      app.child.kill('SIGKILL');
      done();
    }, ms);
    app.child.once('exit', () => {
      clearTimeout(timer);
      done();
    });
  });
}

async function up(args: Args): Promise<void> {
  const pkiDir = join(args.stateDir, 'pki');
  const { created } = ensurePki(pkiDir);
  process.stdout.write(`🔐 ${created ? 'issued' : 'reusing'} bundle certificates in ${pkiDir}\n`);
  const configs = writeConfigs(args.stateDir, pkiDir);
  const apps: App[] = [];
  let finishing = false;
  const finish = async (code: number, message?: string): Promise<void> => {
    if (finishing) return;
    finishing = true;
    // Initiator first so it drains into a terminator that is still there (the compiler, if
    // any, was started last and goes first).
    for (const app of [...apps].reverse()) {
      app.child.kill('SIGTERM');
      await waitForExit(app, 15_000);
    }
    rmSync(join(args.stateDir, 'local', 'pids.json'), { force: true });
    // The verdict is the last line, after both apps' drain lines.
    if (message) (code === 0 ? process.stdout : process.stderr).write(`${message}\n`);
    process.exit(code);
  };
  const onLine = (app: App, line: string): void => {
    process.stdout.write(`${prefix(app.name)} ${line}\n`);
    const done = app.name === 'initiator' ? parseAutoTriggerComplete(line) : undefined;
    if (done && args.once) {
      const { sent, count: total } = done;
      if (sent === total) void finish(0, `✅ local run verified: ${sent}/${total} auto-trigger messages acknowledged by the terminator`);
      else void finish(1, `❌ local run failed: only ${sent}/${total} auto-trigger messages were acknowledged (see the initiator's line above for why)`);
    }
  };
  const onExit = (app: App) => (code: number | null, signal: NodeJS.Signals | null) => {
    if (finishing) return;
    const why = app.tail.filter((l) => /❌|ERROR|WARN/.test(l)).slice(-3).join('\n  ') || app.tail.slice(-3).join('\n  ');
    void finish(1, `❌ ${app.name} exited (${signal ?? `code ${code}`}) — last lines:\n  ${why}`);
  };
  const terminator = start('terminator', configs.terminator, args.watch, onLine);
  apps.push(terminator);
  terminator.child.on('exit', onExit(terminator));
  const initiator = start('initiator', configs.initiator, args.watch, onLine);
  apps.push(initiator);
  initiator.child.on('exit', onExit(initiator));
  const pids: Record<string, number | undefined> = { supervisor: process.pid, initiator: initiator.child.pid, terminator: terminator.child.pid };
  if (args.watch) {
    const compiler = startCompiler(onLine);
    apps.push(compiler);
    compiler.child.on('exit', onExit(compiler));
    pids['tsc'] = compiler.child.pid;
  }
  writeFileSync(join(args.stateDir, 'local', 'pids.json'), JSON.stringify(pids));
  process.on('SIGINT', () => void finish(0, '\n👋 stopping both apps (Ctrl-C)'));
  process.on('SIGTERM', () => void finish(0, '👋 stopping both apps'));
  if (args.once) {
    setTimeout(() => {
      const tail = initiator.tail.slice(-5).join('\n  ');
      void finish(1, `❌ local run failed: no "Auto-trigger complete" line from the initiator within ${args.timeoutSeconds} s — last lines:\n  ${tail}`);
    }, args.timeoutSeconds * 1000).unref();
  } else {
    const how = args.watch ? ' and restart on save (only the app whose compiled files changed)' : '';
    process.stdout.write(`▶️  both apps running${how}; send one: curl -X POST localhost:${triggerPort()}/trigger -d '{"hello":"world"}'; Ctrl-C (or \`bash teardown.sh --local\`) stops them\n`);
  }
}

function down(args: Args): void {
  const file = join(args.stateDir, 'local', 'pids.json');
  if (!existsSync(file)) {
    process.stdout.write('nothing to stop: no local run recorded\n');
    return;
  }
  const pids = JSON.parse(readFileSync(file, 'utf8')) as Record<string, number>;
  // Signalling the supervisor lets it drain both apps in order; the apps too, in case it is gone.
  for (const name of ['supervisor', 'initiator', 'terminator', 'tsc']) {
    const pid = pids[name];
    if (pid === undefined) continue;
    try {
      process.kill(pid, 'SIGTERM');
      process.stdout.write(`stopped ${name} (pid ${pid})\n`);
    } catch {
      // already gone
    }
  }
  rmSync(file, { force: true });
}

const args = parseArgs(process.argv.slice(2));
if (args.command === 'up') await up(args);
else down(args);
