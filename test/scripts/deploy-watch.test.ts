/**
 * deploy.sh's edit loop and log view with fake docker, k3d, kubectl and helm (fakes.ts): the
 * watcher and the content hash are the real tools/src ones run on a sandbox copy, driven by real
 * file edits there. Also `--help` against the script's own source, and the npm dependency stamp
 * deploy.sh and tools/run-tests.sh share.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { INITIATOR, TERMINATOR } from '../../tools/src/names.js';
import { killGroup, Sandbox } from './fakes.js';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

let box: Sandbox;
beforeEach(() => {
  box = new Sandbox();
});
afterEach(() => box.dispose());

/** Collects a started script's output and resolves when a pattern shows in it. */
class Running {
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  #waiters: { re: RegExp; stream: 'stdout' | 'stderr'; done: () => void }[] = [];

  constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (d: Buffer) => this.#add('stdout', d));
    child.stderr?.on('data', (d: Buffer) => this.#add('stderr', d));
    this.exited = new Promise((done) => child.on('exit', (code) => done(code)));
  }

  #add(stream: 'stdout' | 'stderr', d: Buffer): void {
    this[stream] += d.toString();
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.re.test(this[w.stream])) return true;
      w.done();
      return false;
    });
  }

  /** Resolves once `re` matches the stream; fails after `ms` with what was printed. */
  waitFor(re: RegExp, stream: 'stdout' | 'stderr' = 'stdout', ms = 20_000): Promise<void> {
    if (re.test(this[stream])) return Promise.resolve();
    return new Promise((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`no ${re} on ${stream} within ${ms} ms\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`)), ms);
      this.#waiters.push({ re, stream, done: () => (clearTimeout(timer), done()) });
    });
  }
}

/** Processes whose working directory is inside the sandbox (the script and everything it started). */
function processesIn(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      if (readlinkSync(`/proc/${pid}/cwd`).startsWith(dir)) found.push(`${pid}: ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')}`);
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

/** Waits (bounded) until no process runs in the sandbox; returns what is left. */
async function leftovers(dir: string, ms = 5_000): Promise<string[]> {
  const deadline = Date.now() + ms;
  let left = processesIn(dir);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    left = processesIn(dir);
  }
  return left;
}

const since = (from: number) => box.calls().slice(from);

/** Waits (bounded) for a fake call matching `re` (background followers log when they start). */
async function waitForCall(re: RegExp, ms = 5_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!box.calls().some((c) => re.test(c))) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

describe('deploy.sh --watch (fake cluster tools, real watcher and content hash on a sandbox copy)', () => {
  it('a save to initiator/app/app.ts rebuilds, imports and rolls only the initiator; a core edit rolls both; Ctrl-C stops the watcher and the log followers', async () => {
    const env = box.withSources();
    const run = new Running(box.start('deploy.sh', ['--watch'], env));
    try {
      await run.waitFor(/👀 watching/);
      await run.waitFor(/^watch: watching /m, 'stderr');
      assert.match(run.stdout, /Fast Ferry is up/, 'the normal deploy runs first');
      await run.waitFor(new RegExp(`^\\[initiator\\]\\s+\\[pod/fake/web-app\\] log line from ${INITIATOR.namespace}$`, 'm'));
      await run.waitFor(new RegExp(`^\\[terminator\\]\\s+\\[pod/fake/web-app\\] log line from ${TERMINATOR.namespace}$`, 'm'));

      let from = box.calls().length;
      writeFileSync(join(box.repo, 'initiator/app/app.ts'), '// initiator/app/app.ts, edited\nexport const x = 1;\n');
      await run.waitFor(/✔ initiator rolled out/);
      let calls = since(from);
      assert.deepEqual(calls.filter((c) => c.startsWith('docker build')).map((c) => /--build-arg APP=(\w+)/.exec(c)?.[1]), ['initiator'], calls.join('\n'));
      assert.deepEqual(calls.filter((c) => c.startsWith('k3d image import')).map((c) => c.split(' ')[3]?.replace(/:.*/, '')), ['fast-ferry/initiator']);
      const helm = calls.filter((c) => c.startsWith('helm upgrade'));
      assert.equal(helm.length, 1);
      assert.doesNotMatch(helm[0] as string, /--wait/, 'kubectl rollout status waits, not helm');
      assert.deepEqual(calls.filter((c) => c.startsWith('kubectl rollout status')).map((c) => c.split(' ')[3]), ['deployment/initiator']);
      assert.ok(await waitForCall(/^kubectl logs .*component=initiator .*--since-time /), 'follows the new initiator pods');

      from = box.calls().length;
      writeFileSync(join(box.repo, 'core/src/index.ts'), '// core, edited\n');
      await run.waitFor(/✔ initiator terminator rolled out/);
      calls = since(from);
      assert.deepEqual(calls.filter((c) => c.startsWith('kubectl rollout status')).map((c) => c.split(' ')[3]), ['deployment/initiator', 'deployment/terminator']);

      run.child.kill('SIGINT');
      assert.equal(await run.exited, 0, run.stderr);
      assert.match(run.stdout, /👋 stopped watching/);
      assert.deepEqual(await leftovers(box.repo), [], 'the watcher and both log followers are gone');
    } finally {
      killGroup(run.child);
    }
  });
});

describe('deploy.sh logs (fake kubectl)', () => {
  it('follows every pod of both apps in their namespaces, each line prefixed by app, until Ctrl-C', async () => {
    const run = new Running(box.start('deploy.sh', ['logs']));
    try {
      await run.waitFor(new RegExp(`^\\[initiator\\]\\s+\\[pod/fake/web-app\\] log line from ${INITIATOR.namespace}$`, 'm'));
      await run.waitFor(new RegExp(`^\\[terminator\\]\\s+\\[pod/fake/web-app\\] log line from ${TERMINATOR.namespace}$`, 'm'));
      const follows = box.calls().filter((c) => c.startsWith('kubectl logs'));
      assert.equal(follows.length, 2);
      for (const [app, ns] of [['initiator', INITIATOR.namespace], ['terminator', TERMINATOR.namespace]] as const) {
        const call = follows.find((c) => c.includes(`component=${app}`)) ?? '';
        assert.match(call, new RegExp(`--namespace ${ns} --selector app\\.kubernetes\\.io/instance=fast-ferry,app\\.kubernetes\\.io/component=${app} --container web-app --follow --prefix`));
      }
      run.child.kill('SIGINT');
      assert.equal(await run.exited, 0, run.stderr);
      assert.deepEqual(await leftovers(box.repo), [], 'both followers are gone');
    } finally {
      killGroup(run.child);
    }
  });
});

describe('deploy.sh --help', () => {
  it('lists every variable deploy.sh, tools/lib.sh and local.js read, with its default (derived from their source)', () => {
    const shell = ['deploy.sh', 'tools/lib.sh'].map((f) => readFileSync(join(REPO_ROOT, f), 'utf8')).join('\n');
    const settings = new Map([...shell.matchAll(/^([A-Z_][A-Z0-9_]*)="\$\{\1:-(.*)\}"$/gm)].map((m) => [m[1] as string, m[2] as string]));
    const code = shell.split('\n').filter((l) => !/^\s*#/.test(l)).join('\n');
    const read = new Set([...code.matchAll(/\$\{([A-Z_][A-Z0-9_]*)(?::?[-=+?])/g)].map((m) => m[1] as string));
    // Assigned by the scripts themselves (not settings), and bash's own variables.
    const internal = new Set([...shell.matchAll(/(?:^|\s)([A-Z_][A-Z0-9_]*)=(?!"\$\{\1:-)/gm)].map((m) => m[1] as string));
    for (const own of ['EPOCHREALTIME', 'BASH_SOURCE', 'SECONDS']) internal.add(own);
    const local = readFileSync(join(REPO_ROOT, 'tools/src/local.ts'), 'utf8');
    const localPorts = new Map([...local.matchAll(/port\('([A-Z_0-9]+)', (\d+)\)/g)].map((m) => [m[1] as string, m[2] as string]));
    const wanted = new Map<string, string | undefined>([...localPorts]);
    for (const name of read) if (!internal.has(name) || settings.has(name)) wanted.set(name, settings.get(name));
    for (const [name, def] of settings) wanted.set(name, def);
    assert.ok(wanted.has('HELM_TIMEOUT') && wanted.has('FERRY_LOCAL_SESSION_PORT'), `derived: ${[...wanted.keys()].join(' ')}`);

    const r = box.run('deploy.sh', ['--help']);
    assert.equal(r.status, 0);
    assert.deepEqual(r.calls, []);
    for (const [name, def] of wanted) {
      const shown = def === undefined ? `${name} (default: ` : `${name} (default: ${def === '' ? 'empty' : def})`;
      assert.ok(r.stdout.includes(shown), `--help lacks "${shown}":\n${r.stdout}`);
    }
    for (const option of ['--watch', '--rotate-certs', ' logs ', '--local', '--local --watch', '--help']) assert.ok(r.stdout.includes(option), `--help names ${option}`);
  });
});

describe('npm dependency stamp shared by deploy.sh and tools/run-tests.sh (fake npm)', () => {
  it('run-tests.sh right after deploy.sh does not reinstall; a changed package-lock.json reinstalls once', () => {
    box.withRunTests();
    const npmCi = (calls: string[]) => calls.filter((c) => c.startsWith('npm ci')).length;
    const deploy = box.run('deploy.sh', ['--local', '--once']);
    assert.equal(deploy.status, 0, deploy.stderr);
    assert.equal(npmCi(deploy.calls), 1);
    const tests = box.run('tools/run-tests.sh', ['--quick']);
    assert.equal(tests.status, 0, tests.stdout + tests.stderr);
    assert.equal(npmCi(tests.calls), 0, tests.calls.join('\n'));
    writeFileSync(join(box.repo, 'package-lock.json'), '{"changed":true}');
    assert.equal(npmCi(box.run('tools/run-tests.sh', ['--quick']).calls), 1);
    assert.equal(npmCi(box.run('deploy.sh', ['--local', '--once']).calls), 0);
  });
});
