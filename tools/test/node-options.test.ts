import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { NODE_FLAGS, NODE_OPTIONS, nodeArgs, nodeOptionsRefusal } from '../src/node-options.js';

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

/** The image's CMD (exec form), as its arguments; the last CMD wins. */
function imageCommand(dockerfile: string): string[] {
  let command: string[] = [];
  for (const line of dockerfile.split('\n')) {
    if (/^CMD\s/.test(line)) command = JSON.parse(line.replace(/^CMD\s+/, '')) as string[];
  }
  return command;
}

/**
 * The instructions of the image built with --build-arg APP=<app>: the stage named after the app
 * and the stages it is built FROM, in build order. Refuses a Dockerfile whose last stage is not
 * chosen by APP, since the app's stage would then not be the image.
 */
function appStage(dockerfile: string, app: string): string {
  const stages = new Map<string, { base: string; lines: string[] }>();
  let lines: string[] = [];
  let last = '';
  for (const line of dockerfile.replace(/\\\n/g, ' ').split('\n')) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?\s*$/i.exec(line);
    if (!from) {
      lines.push(line);
      continue;
    }
    lines = [];
    last = from[1] as string;
    if (from[2]) stages.set(from[2].toLowerCase(), { base: last, lines });
  }
  if (!/^\$\{APP[:?}]/.test(last)) throw new Error(`the last stage is FROM ${last}, not the app's stage chosen by APP`);
  const chain: string[] = [];
  for (let stage = stages.get(app); stage && chain.length <= stages.size; stage = stages.get(stage.base)) chain.unshift(stage.lines.join('\n'));
  if (chain.length === 0) throw new Error(`no stage named ${app}`);
  return chain.join('\n');
}

describe('node options', () => {
  const dockerfile = readFileSync(join(REPO, 'Dockerfile'), 'utf8');
  for (const app of ['initiator', 'terminator'] as const) {
    it(`the ${app} image runs with the options local mode and the bench use`, () => {
      assert.equal(imageNodeOptions(appStage(dockerfile, app)), NODE_OPTIONS[app]);
      assert.deepEqual(imageCommand(appStage(dockerfile, app)), ['/usr/local/bin/node', ...NODE_FLAGS, `${app}/app/dist/app.js`], 'the command-line flags NODE_OPTIONS may not carry');
    });
  }

  it('reads an app stage with the stages it is built from, and refuses a Dockerfile that APP does not choose from', () => {
    const file = 'FROM x AS base\nENV NODE_OPTIONS=--a\nFROM base AS one\nENV NODE_OPTIONS=--b\nFROM base AS two\nFROM ${APP}\n';
    assert.equal(imageNodeOptions(appStage(file, 'one')), '--b');
    assert.equal(imageNodeOptions(appStage(file, 'two')), '--a');
    assert.throws(() => appStage(file, 'three'), /no stage named three/);
    assert.throws(() => appStage(`${file}FROM two\n`, 'one'), /last stage is FROM two/);
  });

  it('reads a quoted value, a continued line and the last ENV that sets it, and refuses what it cannot read', () => {
    assert.equal(imageNodeOptions('ENV A=1 NODE_OPTIONS="--x --y" B=2\n'), '--x --y');
    assert.equal(imageNodeOptions('ENV A=1 \\\n    NODE_OPTIONS=--x\n'), '--x');
    assert.equal(imageNodeOptions('ENV NODE_OPTIONS=--a\nENV NODE_OPTIONS=--b\n'), '--b');
    assert.equal(imageNodeOptions('FROM x\n'), '');
    assert.throws(() => imageNodeOptions('ENV NODE_OPTIONS --a\n'), /cannot read NODE_OPTIONS/);
  });

  it('pins the young generation of both apps and starts their old-generation limit at 64 MiB', () => {
    for (const app of ['initiator', 'terminator'] as const) assert.match(nodeArgs(app).join(' '), /^--initial-old-space-size=64 --max-semi-space-size=\d+$/);
  });

  it('keeps out of NODE_OPTIONS what Node refuses there', () => {
    for (const app of ['initiator', 'terminator'] as const) assert.equal(nodeOptionsRefusal(NODE_OPTIONS[app]), undefined);
    const flags = spawnSync(process.execPath, [...NODE_FLAGS, '-e', ''], { encoding: 'utf8' });
    assert.equal(flags.status, 0, flags.stderr);
  });
});
