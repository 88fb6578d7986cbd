import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { renderReadme } from '../src/readme-tables.js';

test('the README config and error tables match the schema and the code table (npm run docs)', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  assert.equal(readme, renderReadme(readme), 'README.md is out of date: run `npm run docs` and commit');
});
