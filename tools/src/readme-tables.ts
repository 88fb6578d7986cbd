/**
 * The docs' reference tables (config keys, error codes, metrics) are generated from the code that
 * defines them, so the docs cannot drift. A generated block is marked
 * `<!-- generated:NAME -->` … `<!-- /generated:NAME -->` in whichever file holds it (README.md or
 * docs/*.md): moving a section to another file needs no change here. `npm run docs`
 * (`node tools/dist/readme-tables.js --write`) rewrites every block, and a test fails when a
 * file is out of date or a block is missing or given twice.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFIG_SCHEMA, createMetrics, envNameOf, ErrorCodes, knownReasons } from '@fast-ferry/core';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

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
  const rows = Object.entries(ErrorCodes).map(
    ([code, { close, http, meaning }]) => `| \`${code}\` | ${close ?? '—'} | ${http ?? '—'} | ${meaning.replace(/\|/g, '\\|')} |`,
  );
  return ['| code | close code | HTTP status | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

interface MetricDoc {
  name: string;
  help: string;
  type: string;
  labelNames?: readonly string[];
}

/** The label values a labelled counter is exported with at 0 from start-up, by metric name. */
function startsAtZero(): Map<string, string> {
  const i = knownReasons('initiator');
  const t = knownReasons('terminator');
  const list = (xs: readonly string[]): string => xs.map((x) => `\`${x}\``).join(', ');
  const both = (a: readonly string[], b: readonly string[]): string => (a.join() === b.join() ? list(a) : `initiator: ${list(a)}; terminator: ${list(b)}`);
  const hooks = (xs: ReadonlyArray<{ hook: string; reason: string }>): string => list(xs.map((x) => `${x.hook}/${x.reason}`));
  return new Map([
    ['ferry_sessions_closed_total', both(i.sessionsClosed, t.sessionsClosed)],
    ['ferry_frames_rejected_total', both(i.framesRejected, t.framesRejected)],
    ['ferry_messages_refused_total', both(i.messagesRefused, t.messagesRefused)],
    ['ferry_messages_failed_total', both(i.messagesFailed, t.messagesFailed)],
    ['ferry_handshake_failures_total', both(i.handshakeFailures, t.handshakeFailures)],
    ['ferry_dial_failures_total', `initiator: ${list(i.dialFailures)}`],
    ['ferry_hook_errors_total', `initiator: ${hooks(i.hookErrors)}; terminator: ${hooks(t.hookErrors)}`],
  ]);
}

/** Every metric of the apps (both roles export the same names, each with a `role` label). */
export function renderMetricsTable(): string {
  const zero = startsAtZero();
  const metrics = createMetrics('initiator', { defaultMetrics: false }).registry.getMetricsAsArray() as unknown as MetricDoc[];
  const rows = metrics.map((m) => {
    const labels = (m.labelNames ?? []).map((l) => `\`${l}\``).join(', ') || '—';
    return `| \`${m.name}\` | ${m.type} | ${labels} | ${m.help.replace(/\|/g, '\\|')} | ${zero.get(m.name) ?? '—'} |`;
  });
  return ['| metric | type | labels | meaning | at 0 from start-up |', '|---|---|---|---|---|', ...rows].join('\n');
}

export const BLOCKS: Record<string, () => string> = { config: renderConfigTable, errors: renderErrorTable, metrics: renderMetricsTable };

/** The files that may hold generated blocks, relative to the repository root. */
export function docFiles(root = ROOT): string[] {
  const docs = readdirSync(join(root, 'docs')).filter((name) => name.endsWith('.md')).sort();
  return ['README.md', ...docs.map((name) => `docs/${name}`)];
}

/** The names of the generated blocks `text` holds, in order. */
export function blocksIn(text: string): string[] {
  return [...text.matchAll(/<!-- generated:([a-z-]+) -->/g)].map((m) => m[1] as string);
}

/** `text` with every generated block it holds replaced by its current rendering. */
export function renderDoc(text: string, file = 'this file'): string {
  let out = text;
  for (const name of blocksIn(text)) {
    const render = BLOCKS[name];
    if (!render) throw new Error(`${file}: unknown generated block '${name}' (known: ${Object.keys(BLOCKS).join(', ')})`);
    const start = `<!-- generated:${name} -->`;
    const end = `<!-- /generated:${name} -->`;
    const a = out.indexOf(start);
    const b = out.indexOf(end, a);
    if (b < 0) throw new Error(`${file}: ${start} has no ${end}`);
    out = `${out.slice(0, a + start.length)}\n${render()}\n${out.slice(b)}`;
  }
  return out;
}

/** Where each block lives; throws when a block is in no file or in two. */
export function locateBlocks(root = ROOT): Record<string, string> {
  const where: Record<string, string> = {};
  for (const file of docFiles(root)) {
    for (const name of blocksIn(readFileSync(join(root, file), 'utf8'))) {
      if (where[name]) throw new Error(`generated block '${name}' is in both ${where[name]} and ${file}: keep one`);
      where[name] = file;
    }
  }
  const missing = Object.keys(BLOCKS).filter((name) => !where[name]);
  if (missing.length > 0) throw new Error(`no file holds the generated block(s) ${missing.join(', ')} (mark one with <!-- generated:NAME --> … <!-- /generated:NAME -->)`);
  return where;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  locateBlocks();
  const write = process.argv.includes('--write');
  const stale: string[] = [];
  for (const file of docFiles()) {
    const path = join(ROOT, file);
    const current = readFileSync(path, 'utf8');
    const next = renderDoc(current, file);
    if (current === next) continue;
    stale.push(file);
    if (write) writeFileSync(path, next);
  }
  if (write) process.stdout.write(stale.length === 0 ? 'generated tables already current\n' : `generated tables updated in ${stale.join(', ')}\n`);
  else if (stale.length > 0) {
    process.stderr.write(`generated tables out of date in ${stale.join(', ')}: run \`npm run docs\`\n`);
    process.exit(1);
  }
}
