/**
 * A sandbox for running deploy.sh and teardown.sh against recording fakes of docker, k3d,
 * kubectl, helm, npm and node. The scripts are copied into a temp "repository"; PATH holds only
 * the fakes plus a few coreutils, so no real cluster tool can be reached. Every fake call is
 * appended to calls.log as "<tool> <args...>"; the fakes keep state (clusters, images, the
 * release) in a state folder, so a second run sees what the first one made.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FAKE_TOOLS = ['docker', 'k3d', 'kubectl', 'helm', 'npm', 'node'] as const;
const COREUTILS = ['bash', 'sed', 'head', 'cut', 'cat', 'mkdir', 'dirname', 'basename', 'sha256sum', 'rm', 'touch', 'tr', 'grep', 'env', 'ls', 'printf', 'sleep', 'awk', 'mkfifo', 'date', 'tee', 'tail', 'openssl'];
/** A real node that runs TypeScript (tsx's loader), for the fakes that delegate to tools/src. */
const REAL_NODE = `${process.execPath} --import ${import.meta.resolve('tsx')}`;


export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
  /** fake calls of this run, in order */
  calls: string[];
}

export class Sandbox {
  readonly root = mkdtempSync(join(tmpdir(), 'ferry-scripts-test-'));
  readonly repo = join(this.root, 'repo');
  readonly bin = join(this.root, 'bin');
  readonly state = join(this.root, 'state');
  readonly log = join(this.root, 'calls.log');

  constructor() {
    for (const d of [this.repo, join(this.repo, 'tools'), this.bin, this.state]) mkdirSync(d, { recursive: true });
    for (const f of ['deploy.sh', 'teardown.sh', 'tools/lib.sh', 'blueprint.yaml']) copyFileSync(join(REPO_ROOT, f), join(this.repo, f));
    writeFileSync(join(this.repo, 'package-lock.json'), '{}');
    // deploy.sh --local and teardown.sh look for the built tools
    mkdirSync(join(this.repo, 'tools', 'dist'), { recursive: true });
    for (const f of ['blueprint.js', 'local.js']) writeFileSync(join(this.repo, 'tools', 'dist', f), '');
    const fake = join(this.root, 'fake-tool.sh');
    copyFileSync(join(REPO_ROOT, 'test', 'scripts', 'fake-tool.sh'), fake);
    chmodSync(fake, 0o755);
    for (const tool of FAKE_TOOLS) symlinkSync(fake, join(this.bin, tool));
    for (const util of COREUTILS) {
      const found = spawnSync('bash', ['-c', `command -v ${util}`], { encoding: 'utf8' }).stdout.trim();
      if (found.startsWith('/')) symlinkSync(found, join(this.bin, util));
    }
    writeFileSync(this.log, '');
  }

  /** Removes a fake (a missing prerequisite). */
  remove(tool: (typeof FAKE_TOOLS)[number]): void {
    unlinkSync(join(this.bin, tool));
  }

  /** Simulates a content change of an app (its image hash changes). */
  editApp(app: 'initiator' | 'terminator', generation: number): void {
    writeFileSync(join(this.state, `content-${app}`), String(generation));
  }

  /**
   * Real sources for the real watcher and content hash (FAKE_REAL_NODE): the repository's
   * .dockerignore and one small file per app and for core, which tests then edit.
   */
  withSources(): Record<string, string> {
    copyFileSync(join(REPO_ROOT, '.dockerignore'), join(this.repo, '.dockerignore'));
    for (const f of ['initiator/app/app.ts', 'terminator/app/app.ts', 'core/src/index.ts']) {
      mkdirSync(join(this.repo, dirname(f)), { recursive: true });
      writeFileSync(join(this.repo, f), `// ${f}\n`);
    }
    return { FAKE_REAL_NODE: REAL_NODE, FAKE_TOOLS_SRC: join(REPO_ROOT, 'tools', 'src') };
  }

  /** Copies tools/run-tests.sh into the sandbox (it sources tools/lib.sh, already there). */
  withRunTests(): void {
    copyFileSync(join(REPO_ROOT, 'tools', 'run-tests.sh'), join(this.repo, 'tools', 'run-tests.sh'));
  }

  private env(env: Record<string, string>): Record<string, string> {
    return { PATH: this.bin, HOME: this.root, FAKE_LOG: this.log, FAKE_STATE: this.state, ...env };
  }

  /** Calls logged so far (all runs). */
  calls(): string[] {
    return readFileSync(this.log, 'utf8').split('\n').filter(Boolean);
  }

  /**
   * Starts a script without waiting (for --watch and logs, which run until a signal), in a
   * process group of its own, so that killGroup() can end everything it started even when a
   * failed assertion left its watcher and log followers holding the output pipes open.
   */
  start(script: string, args: readonly string[] = [], env: Record<string, string> = {}): ChildProcess {
    return spawn(join(this.bin, 'bash'), [join(this.repo, script), ...args], { cwd: this.repo, env: this.env(env), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  }

  run(script: 'deploy.sh' | 'teardown.sh' | 'tools/run-tests.sh', args: readonly string[] = [], env: Record<string, string> = {}): RunResult {
    const before = readFileSync(this.log, 'utf8').length;
    const r = spawnSync(join(this.bin, 'bash'), [join(this.repo, script), ...args], {
      cwd: this.repo,
      encoding: 'utf8',
      env: this.env(env),
      timeout: 30_000,
    });
    const calls = readFileSync(this.log, 'utf8').slice(before).split('\n').filter(Boolean);
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, calls };
  }

  file(path: string): string {
    return readFileSync(join(this.repo, path), 'utf8');
  }

  exists(path: string): boolean {
    return existsSync(join(this.repo, path));
  }

  dispose(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** SIGKILL to the process group of a script started with Sandbox.start() (nothing if it is gone). */
export function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // the group is gone already
  }
}
