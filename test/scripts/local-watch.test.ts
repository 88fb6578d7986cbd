/**
 * `deploy.sh --local --watch` with real processes: local.js, tsc -b --watch and both apps under
 * node --watch, run from a temporary copy of the repository (node_modules linked, the built
 * dist folders copied), so the edit lands in the copy, never in the real tree.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../helpers/ports.js';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const COPY = ['package.json', 'tsconfig.base.json', 'tsconfig.json', 'core', 'initiator/app', 'terminator/app', 'tools/package.json', 'tools/dist'];

let root: string;
before(() => {
  for (const built of ['tools/dist/local.js', 'initiator/app/dist/app.js', 'terminator/app/dist/app.js', 'core/dist/index.js']) {
    assert.ok(existsSync(join(REPO_ROOT, built)), `${built} is missing: run npm run build first`);
  }
  root = mkdtempSync(join(tmpdir(), 'ferry-local-watch-'));
  for (const path of COPY) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    // Timestamps kept, so tsc -b finds the copied outputs up to date and emits nothing at start.
    cpSync(join(REPO_ROOT, path), join(root, path), { recursive: true, preserveTimestamps: true, filter: (src) => !src.endsWith('/node_modules') });
  }
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'));
});
after(() => rmSync(root, { recursive: true, force: true }));

function processesIn(dir: string): string[] {
  return readdirSync('/proc').filter((n) => /^\d+$/.test(n)).filter((pid) => {
    try {
      return readlinkSync(`/proc/${pid}/cwd`).startsWith(dir);
    } catch {
      return false;
    }
  });
}

describe('deploy.sh --local --watch (real processes, a temporary copy of the repository)', () => {
  it('a save to terminator/app/app.ts restarts only the terminator, which comes back and takes the session; SIGTERM stops everything', async () => {
    const [http1, http2, session] = [await freePort(), await freePort(), await freePort()];
    const child = spawn(process.execPath, [join(root, 'tools/dist/local.js'), 'up', '--watch', '--state-dir', join(root, '.ferry')], {
      cwd: root,
      env: { ...process.env, FERRY_LOCAL_INITIATOR_HTTP_PORT: String(http1), FERRY_LOCAL_TERMINATOR_HTTP_PORT: String(http2), FERRY_LOCAL_SESSION_PORT: String(session) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const waiters: { re: RegExp; from: number; done: () => void }[] = [];
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      for (const w of waiters.splice(0)) (lines.slice(w.from).some((l) => w.re.test(l)) ? w.done() : waiters.push(w));
    });
    /** Resolves when a line from index `from` on matches; fails after 20 s with the output. */
    const waitFor = (re: RegExp, from = 0) =>
      new Promise<number>((done, fail) => {
        const index = () => lines.findIndex((l, i) => i >= from && re.test(l));
        if (index() >= 0) return done(index());
        const timer = setTimeout(() => fail(new Error(`no line matching ${re} within 20 s:\n${lines.join('\n')}\n${stderr}`)), 20_000);
        waiters.push({ re, from, done: () => (clearTimeout(timer), done(index())) });
      });
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    try {
      await waitFor(/^\[initiator\]\s+🔁 Auto-trigger complete/);
      await waitFor(/^\[tsc\]\s+.*Watching for file changes/);
      const from = lines.length;
      appendFileSync(join(root, 'terminator/app/app.ts'), `export const edited = ${Date.now()};\n`);
      const restart = await waitFor(/^\[terminator\] Restarting '.*terminator\/app\/dist\/app\.js'/, from);
      const up = await waitFor(/^\[terminator\] terminator up /, restart);
      await waitFor(/^\[initiator\]\s+session open /, up);
      const sinceEdit = lines.slice(from);
      assert.equal(sinceEdit.filter((l) => /^\[terminator\] Restarting/.test(l)).length, 1, sinceEdit.join('\n'));
      assert.deepEqual(sinceEdit.filter((l) => /^\[initiator\]\s+(Restarting|initiator stopped)/.test(l)), [], 'the initiator kept running');
      child.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
      assert.deepEqual(processesIn(root), [], 'no app, watcher or compiler left');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
