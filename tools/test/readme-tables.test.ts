import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { BLOCKS, docFiles, locateBlocks, renderDoc } from '../src/readme-tables.js';

const ROOT = new URL('../../', import.meta.url);
const read = (file: string) => readFileSync(new URL(file, ROOT), 'utf8');

test('every generated table (config, errors) is held by exactly one doc file', () => {
  const where = locateBlocks();
  assert.deepEqual(Object.keys(where).sort(), Object.keys(BLOCKS).sort());
});

test('the generated tables in README.md and docs/*.md match the schema and the code table (npm run docs)', () => {
  for (const file of docFiles()) {
    const text = read(file);
    assert.equal(text, renderDoc(text, file), `${file} is out of date: run \`npm run docs\` and commit`);
  }
});

test('the error table has the HTTP status column', () => {
  const file = locateBlocks()['errors'] as string;
  assert.match(read(file), /\| code \| close code \| HTTP status \| meaning \|/);
  assert.match(read(file), /\| `FERRY_ERR_OUTBOX_FULL` \| 1001 \| 503 \|/);
});

test('relative links between README.md and docs/*.md point at files that exist, and #anchors at headings', () => {
  const broken: string[] = [];
  for (const file of docFiles()) {
    const base = new URL(file, ROOT);
    for (const [, target] of read(file).matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target as string)) continue; // https:, mailto:
      const [path, anchor] = (target as string).split('#') as [string, string | undefined];
      const url = path === '' ? base : new URL(path, base);
      if (!existsSync(url)) {
        broken.push(`${file}: ${target}`);
        continue;
      }
      if (anchor !== undefined && url.pathname.endsWith('.md') && !anchorsOf(readFileSync(url, 'utf8')).has(anchor)) broken.push(`${file}: ${target} (no such heading)`);
    }
  }
  assert.deepEqual(broken, []);
});

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes. */
function anchorsOf(markdown: string): Set<string> {
  const out = new Set<string>();
  for (const [, heading] of markdown.matchAll(/^#{1,6} (.+)$/gm)) {
    out.add((heading as string).trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-'));
  }
  return out;
}
