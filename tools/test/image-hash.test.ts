import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { APPS, contextFiles, imageInputs, imageTag, readContextRules } from '../src/image-hash.js';

const REPO = join(import.meta.dirname, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'ferry-image-hash-test-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** A miniature repository with the real .dockerignore. */
function fixture(name: string): string {
  const root = join(work, name);
  const files: Record<string, string> = {
    'package.json': '{}', 'package-lock.json': '{}', 'tsconfig.base.json': '{}', 'tsconfig.json': '{}',
    'core/package.json': '{}', 'core/tsconfig.json': '{}', 'core/src/index.ts': 'export {};',
    'Dockerfile': 'FROM x',
    'initiator/app/app.ts': 'on_trigger', 'initiator/app/package.json': '{}',
    'terminator/app/app.ts': 'on_receive_terminator', 'terminator/app/package.json': '{}',
    'tools/package.json': '{}', 'tools/src/verify.ts': 'tools are not in the images',
    'README.md': 'not in the images',
  };
  for (const [path, body] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), body);
  }
  copyFileSync(join(REPO, '.dockerignore'), join(root, '.dockerignore'));
  return root;
}
const write = (root: string, path: string, body: string) => {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), body);
};

describe('image content tags', () => {
  it('gives the same tags for the same tree', () => {
    const a = fixture('same-a');
    const b = fixture('same-b');
    for (const app of ['initiator', 'terminator'] as const) assert.equal(imageTag(a, app), imageTag(b, app));
  });

  for (const [app, other] of [['initiator', 'terminator'], ['terminator', 'initiator']] as const) {
    it(`changes only the ${app} tag when the ${app} hook changes`, () => {
      const root = fixture(`hook-${app}`);
      const before = { [app]: imageTag(root, app), [other]: imageTag(root, other) };
      write(root, `${app}/app/app.ts`, 'hook edited');
      assert.equal(imageTag(root, other), before[other]);
      assert.notEqual(imageTag(root, app), before[app]);
    });
  }

  it('changes both tags when core, the lock file or the Dockerfile changes', () => {
    for (const path of ['core/src/index.ts', 'package-lock.json', 'Dockerfile']) {
      const root = fixture(`shared-${path.replace(/\W/g, '')}`);
      const before = [imageTag(root, 'initiator'), imageTag(root, 'terminator')];
      write(root, path, 'changed');
      assert.notEqual(imageTag(root, 'initiator'), before[0], path);
      assert.notEqual(imageTag(root, 'terminator'), before[1], path);
    }
  });

  it('ignores build output, node_modules and files outside the build context', () => {
    const root = fixture('ignored');
    const before = imageTag(root, 'initiator');
    write(root, 'initiator/app/dist/app.js', 'compiled');
    write(root, 'core/node_modules/x/index.js', 'dep');
    write(root, 'core/tsconfig.tsbuildinfo', '{}');
    write(root, 'tools/src/verify.ts', 'changed');
    write(root, 'README.md', 'changed');
    write(root, '.ferry/pki/ca.key', 'secret');
    assert.equal(imageTag(root, 'initiator'), before);
  });

  it('changes the tag when a build argument changes', () => {
    const root = fixture('args');
    assert.notEqual(imageTag(root, 'initiator', { NODE_IMAGE: 'node:20-bookworm-slim' }), imageTag(root, 'initiator', { NODE_IMAGE: 'node:22-bookworm-slim' }));
  });

  it('refuses a .dockerignore line it cannot interpret, so the hash cannot drift from the context', () => {
    const root = fixture('unsupported');
    writeFileSync(join(root, '.dockerignore'), '*\n!core/src\ncore/src/secret*.ts\n');
    assert.throws(() => readContextRules(root), /unsupported line "core\/src\/secret\*\.ts"/);
  });
});

describe('the shipped Dockerfile and .dockerignore', () => {
  for (const app of Object.keys(APPS) as (keyof typeof APPS)[]) {
    it(`hashes every file the Dockerfile copies from the build context for APP=${app}`, () => {
      const dockerfile = readFileSync(join(REPO, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ').replace(/\$\{APP\}|\$APP\b/g, app);
      const inputs = imageInputs(REPO, app);
      const context = contextFiles(REPO);
      const sources = dockerfile.split('\n')
        .filter((l) => /^COPY\s/.test(l) && !/--from=/.test(l))
        .flatMap((l) => l.trim().split(/\s+/).slice(1, -1));
      assert.ok(sources.length > 0);
      for (const src of sources) {
        const path = src.replace(/\/$/, '');
        const covered = context.filter((f) => f === path || f.startsWith(`${path}/`));
        assert.ok(covered.length > 0, `COPY ${src}: nothing of it is in the build context`);
        for (const f of covered) assert.ok(inputs.includes(f), `COPY ${src}: ${f} is copied but not hashed`);
      }
    });
  }
});
