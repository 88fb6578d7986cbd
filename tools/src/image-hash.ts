/**
 * Content tags for the two images: a SHA-256 over exactly the files that go into an image's
 * build (the .dockerignore allow-list, minus the other app's sources) plus the build args.
 * Editing terminator/app/app.ts changes only the terminator's tag, so deploy.sh rebuilds and
 * rolls only that pod; an unchanged tree gives the same tag, so nothing is rebuilt.
 *   node tools/dist/image-hash.js initiator|terminator [--root DIR] [--build-arg K=V]...
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { parseArgs } from 'node:util';

export const APPS = { initiator: 'initiator/app', terminator: 'terminator/app' } as const;
export type AppName = keyof typeof APPS;

interface ContextRules {
  /** Allow-listed paths (files or directories), relative to the root. */
  include: string[];
  /** Names (`**\/node_modules`) and suffixes (`**\/*.tsbuildinfo`) excluded anywhere. */
  excludeNames: string[];
  excludeSuffixes: string[];
}

/**
 * Reads the allow-list style .dockerignore this repository uses: `*`, then `!path` lines,
 * then `**\/name` or `**\/*.ext` exclusions. Anything else is rejected, so the hash cannot
 * silently disagree with what docker sends.
 */
export function readContextRules(root: string): ContextRules {
  const rules: ContextRules = { include: [], excludeNames: [], excludeSuffixes: [] };
  const lines = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
  for (const line of lines) {
    if (line === '' || line.startsWith('#') || line === '*') continue;
    let m: RegExpExecArray | null;
    if ((m = /^!([A-Za-z0-9_.\-/]+)$/.exec(line))) rules.include.push((m[1] as string).replace(/\/$/, ''));
    else if ((m = /^\*\*\/\*(\.[A-Za-z0-9_.-]+)$/.exec(line))) rules.excludeSuffixes.push(m[1] as string);
    else if ((m = /^\*\*\/([A-Za-z0-9_.-]+)$/.exec(line))) rules.excludeNames.push(m[1] as string);
    else throw new Error(`.dockerignore: unsupported line "${line}" (image-hash understands *, !path, **/name and **/*.ext)`);
  }
  return rules;
}

/** Every file of the build context, relative, '/'-separated, sorted. */
export function contextFiles(root: string): string[] {
  const rules = readContextRules(root);
  const out: string[] = [];
  const excluded = (name: string) => rules.excludeNames.includes(name) || rules.excludeSuffixes.some((s) => name.endsWith(s));
  const walk = (abs: string): void => {
    let st;
    try {
      st = statSync(abs);
    } catch {
      return; // an allow-listed path that does not exist sends nothing
    }
    if (st.isDirectory()) {
      for (const name of readdirSync(abs)) if (!excluded(name)) walk(join(abs, name));
    } else if (st.isFile()) out.push(relative(root, abs).split(sep).join('/'));
  };
  for (const path of rules.include) if (!path.split('/').some(excluded)) walk(join(root, path));
  return [...new Set(out)].sort();
}

/** The files an app's image is built from: the context without the other apps' sources (their package.json stays: npm ci needs it). */
export function imageInputs(root: string, app: AppName): string[] {
  const others = Object.entries(APPS).filter(([name]) => name !== app).map(([, dir]) => `${dir}/`);
  return contextFiles(root).filter((f) => !others.some((dir) => f.startsWith(dir) && f !== `${dir}package.json`));
}

export function imageTag(root: string, app: AppName, buildArgs: Readonly<Record<string, string>> = {}): string {
  const hash = createHash('sha256');
  hash.update(`fast-ferry image ${app}\n`);
  for (const [k, v] of Object.entries(buildArgs).sort(([a], [b]) => a.localeCompare(b))) hash.update(`arg ${k}=${v}\n`);
  for (const file of imageInputs(root, app)) {
    const body = readFileSync(join(root, file));
    hash.update(`file ${file} ${body.length}\n`);
    hash.update(body);
  }
  return hash.digest('hex').slice(0, 16);
}

export function main(argv: readonly string[]): number {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { root: { type: 'string', default: '.' }, 'build-arg': { type: 'string', multiple: true, default: [] }, list: { type: 'boolean', default: false } },
  });
  const app = positionals[0];
  if (app !== 'initiator' && app !== 'terminator') {
    process.stderr.write('usage: image-hash.js initiator|terminator [--root DIR] [--build-arg K=V]... [--list]\n');
    return 2;
  }
  const args: Record<string, string> = {};
  for (const a of values['build-arg']) {
    const i = a.indexOf('=');
    if (i <= 0) {
      process.stderr.write(`--build-arg ${a}: expected KEY=VALUE\n`);
      return 2;
    }
    args[a.slice(0, i)] = a.slice(i + 1);
  }
  if (values.list) process.stdout.write(`${imageInputs(values.root, app).join('\n')}\n`);
  else process.stdout.write(`${imageTag(values.root, app, args)}\n`);
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = main(process.argv.slice(2));
