/** shellcheck on every shell script of the repository (outside node_modules and .tools). */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SKIP = new Set(['node_modules', '.git', '.tools', '.ferry', 'dist']);

function shellScripts(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (SKIP.has(e.name)) return [];
    const path = join(dir, e.name);
    if (e.isDirectory()) return shellScripts(path);
    return e.name.endsWith('.sh') ? [path] : [];
  });
}

describe('shell scripts', () => {
  const scripts = shellScripts(REPO_ROOT);
  it('finds the entry points and CI scripts', () => {
    const names = scripts.map((s) => relative(REPO_ROOT, s));
    for (const s of ['deploy.sh', 'teardown.sh', 'tools/lib.sh']) assert.ok(names.includes(s), `${s} found`);
  });
  for (const script of scripts) {
    it(`${relative(REPO_ROOT, script)} is shellcheck-clean`, () => {
      const r = spawnSync('shellcheck', ['--external-sources', '--source-path=SCRIPTDIR', script], { cwd: dirname(script), encoding: 'utf8' });
      assert.ok(!r.error, 'shellcheck is not installed: bash .ci/setup-k8s-tools.sh (or apt-get install shellcheck)');
      assert.equal(r.status, 0, r.stdout + r.stderr);
    });
  }
});
