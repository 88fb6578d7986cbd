/**
 * The README's reference tables (config keys, error codes) are generated from the code that
 * defines them, so the docs cannot drift: `node tools/dist/readme-tables.js --write` rewrites
 * the marked blocks in README.md, and a test fails when README.md is out of date.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFIG_SCHEMA, envNameOf, ErrorCodes } from '@fast-ferry/core';

const README = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'README.md');

interface LeafDoc {
  kind: string;
  default: unknown;
  doc: string;
  min?: number;
  max?: number;
  values?: readonly string[];
}

export function renderConfigTable(): string {
  const rows = Object.entries(CONFIG_SCHEMA as Record<string, LeafDoc>).map(([key, leaf]) => {
    const form = leaf.kind === 'enum' ? (leaf.values ?? []).join(' \\| ') : leaf.kind === 'string' ? 'string' : `${leaf.kind} ${leaf.min}–${leaf.max}`;
    const def = leaf.default === '' ? '(empty)' : `\`${String(leaf.default)}\``;
    return `| \`${key}\` | \`${envNameOf(key)}\` | ${def} | ${form} | ${leaf.doc.replace(/\|/g, '\\|')} |`;
  });
  return ['| key | env | default | form | meaning |', '|---|---|---|---|---|', ...rows].join('\n');
}

export function renderErrorTable(): string {
  const rows = Object.entries(ErrorCodes).map(([code, { close, meaning }]) => `| \`${code}\` | ${close} | ${meaning} |`);
  return ['| code | close code | meaning |', '|---|---|---|', ...rows].join('\n');
}

const BLOCKS: Record<string, () => string> = { config: renderConfigTable, errors: renderErrorTable };

/** README.md with every generated block replaced by its current rendering. */
export function renderReadme(text: string): string {
  let out = text;
  for (const [name, render] of Object.entries(BLOCKS)) {
    const start = `<!-- generated:${name} -->`;
    const end = `<!-- /generated:${name} -->`;
    const a = out.indexOf(start);
    const b = out.indexOf(end);
    if (a < 0 || b < a) throw new Error(`README.md lacks the ${start} … ${end} block`);
    out = `${out.slice(0, a + start.length)}\n${render()}\n${out.slice(b)}`;
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const current = readFileSync(README, 'utf8');
  const next = renderReadme(current);
  if (process.argv.includes('--write')) {
    writeFileSync(README, next);
    process.stdout.write(current === next ? 'README.md tables already current\n' : 'README.md tables updated\n');
  } else if (current !== next) {
    process.stderr.write('README.md tables are out of date: run `npm run docs`\n');
    process.exit(1);
  }
}
