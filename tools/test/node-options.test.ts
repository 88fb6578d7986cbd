import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { NODE_OPTIONS, nodeArgs } from '../src/node-options.js';

const REPO = join(import.meta.dirname, '..', '..');

/** The NODE_OPTIONS an image's ENV lines set ('' when none does). */
function imageNodeOptions(dockerfile: string): string {
  let value = '';
  for (const line of dockerfile.split('\n')) {
    if (!line.startsWith('ENV ')) continue;
    const match = /(?:^|\s)NODE_OPTIONS=("[^"]*"|\S*)/.exec(line.slice(4));
    if (match) value = (match[1] as string).replace(/^"|"$/g, '');
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

  it('reads a quoted value and the last ENV that sets it', () => {
    assert.equal(imageNodeOptions('ENV A=1 NODE_OPTIONS="--x --y" B=2\n'), '--x --y');
    assert.equal(imageNodeOptions('ENV NODE_OPTIONS=--a\nENV NODE_OPTIONS=--b\n'), '--b');
    assert.equal(imageNodeOptions('ENV XNODE_OPTIONS=--a\n'), '');
  });

  it('gives fork() one argument per option', () => {
    assert.deepEqual(nodeArgs('terminator'), NODE_OPTIONS.terminator.split(' '));
    assert.deepEqual(nodeArgs('initiator'), []);
  });
});
