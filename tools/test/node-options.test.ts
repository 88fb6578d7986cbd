import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { NODE_OPTIONS, nodeArgs } from '../src/node-options.js';

const REPO = join(import.meta.dirname, '..', '..');

/**
 * The NODE_OPTIONS an image's ENV instructions set ('' when none does). Continuation lines are
 * joined first; a NODE_OPTIONS this cannot read fails rather than passing as ''.
 */
function imageNodeOptions(dockerfile: string): string {
  let value = '';
  for (const line of dockerfile.replace(/\\\n/g, ' ').split('\n')) {
    if (!line.includes('NODE_OPTIONS') || line.trimStart().startsWith('#')) continue;
    const match = /^ENV\s(?:.*\s)?NODE_OPTIONS=("[^"]*"|\S*)/.exec(line);
    if (!match) throw new Error(`cannot read NODE_OPTIONS from: ${line}`);
    value = (match[1] as string).replace(/^"|"$/g, '');
  }
  return value;
}

describe('node options', () => {
  for (const app of ['initiator', 'terminator'] as const) {
    it(`the ${app} image runs with the options local mode and the bench use`, () => {
      const dockerfile = readFileSync(join(REPO, app, 'app', 'Dockerfile'), 'utf8');
      assert.equal(imageNodeOptions(dockerfile), NODE_OPTIONS[app]);
    });
  }

  it('reads a quoted value, a continued line and the last ENV that sets it, and refuses what it cannot read', () => {
    assert.equal(imageNodeOptions('ENV A=1 NODE_OPTIONS="--x --y" B=2\n'), '--x --y');
    assert.equal(imageNodeOptions('ENV A=1 \\\n    NODE_OPTIONS=--x\n'), '--x');
    assert.equal(imageNodeOptions('ENV NODE_OPTIONS=--a\nENV NODE_OPTIONS=--b\n'), '--b');
    assert.equal(imageNodeOptions('FROM x\n'), '');
    assert.throws(() => imageNodeOptions('ENV NODE_OPTIONS --a\n'), /cannot read NODE_OPTIONS/);
  });

  it('pins the young generation of both apps', () => {
    for (const app of ['initiator', 'terminator'] as const) assert.match(nodeArgs(app).join(' '), /^--max-semi-space-size=\d+$/);
  });
});
