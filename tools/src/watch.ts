/**
 * `bash deploy.sh --watch`'s eyes: watches the files the images are built from and prints one
 * line per settled change naming the apps whose image content changed ("initiator",
 * "terminator" or both), until SIGINT or SIGTERM, or until its reader goes away.
 *
 *   node tools/dist/watch.js [--root DIR] [--settle-ms MS]
 *
 * Which app changed is decided by the images' content tags (image-hash.ts), not by paths: an
 * edit to core/src changes both tags, a saved-but-unchanged file or an edit outside the build
 * context changes none and prints nothing. Change events come from fs.watch (recursive on the
 * allow-listed folders of .dockerignore, so node_modules is never walked).
 */
import { watch, type FSWatcher, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { APPS, imageTag, readContextRules, type AppName } from './image-hash.js';

/** Folders to watch: each allow-listed folder recursively, and the parent of each allow-listed file. */
export function watchTargets(root: string): { path: string; recursive: boolean }[] {
  const targets = new Map<string, boolean>();
  for (const rel of readContextRules(root).include) {
    const abs = join(root, rel);
    let dir = false;
    try {
      dir = statSync(abs).isDirectory();
    } catch {
      continue; // an allow-listed path that does not exist: nothing to watch
    }
    if (dir) targets.set(abs, true);
    else if (!targets.get(dirname(abs))) targets.set(dirname(abs), false);
  }
  return [...targets].map(([path, recursive]) => ({ path, recursive }));
}

/** The current content tag of every app. */
export function appTags(root: string): Record<AppName, string> {
  const names = Object.keys(APPS) as AppName[];
  return Object.fromEntries(names.map((app) => [app, imageTag(root, app)])) as Record<AppName, string>;
}

/** The apps whose tag differs between two snapshots, in APPS order. */
export function changedApps(before: Record<AppName, string>, after: Record<AppName, string>): AppName[] {
  return (Object.keys(APPS) as AppName[]).filter((app) => before[app] !== after[app]);
}

/** Watches until stopped; `onChange` gets the changed apps of each settled burst of events. */
export function watchApps(root: string, settleMs: number, onChange: (apps: AppName[]) => void, onError: (message: string) => void): { stop: () => void; paths: string[] } {
  let tags = appTags(root);
  let timer: NodeJS.Timeout | undefined;
  const settle = (): void => {
    let next: Record<AppName, string>;
    try {
      next = appTags(root);
    } catch (err) {
      // A file removed between listing and reading (an editor's save-by-rename): look again.
      onError(`could not hash the sources (${(err as Error).message}); retrying on the next change`);
      return;
    }
    const apps = changedApps(tags, next);
    tags = next;
    if (apps.length > 0) onChange(apps);
  };
  const watchers: FSWatcher[] = [];
  const targets = watchTargets(root);
  for (const target of targets) {
    const watcher = watch(target.path, { recursive: target.recursive }, () => {
      clearTimeout(timer);
      timer = setTimeout(settle, settleMs);
    });
    watcher.on('error', (err) => onError(`stopped watching ${target.path}: ${err.message}`));
    watchers.push(watcher);
  }
  const stop = (): void => {
    clearTimeout(timer);
    for (const watcher of watchers) watcher.close();
  };
  return { stop, paths: targets.map((t) => t.path) };
}

function main(argv: readonly string[]): void {
  const { values } = parseArgs({
    args: [...argv],
    options: { root: { type: 'string', default: '.' }, 'settle-ms': { type: 'string', default: '300' } },
  });
  const settleMs = Number(values['settle-ms']);
  if (!Number.isInteger(settleMs) || settleMs < 0) {
    process.stderr.write(`--settle-ms ${values['settle-ms']}: expected a whole number of milliseconds\n`);
    process.exit(2);
  }
  const root = resolve(values.root);
  const { stop, paths } = watchApps(
    root,
    settleMs,
    (apps) => process.stdout.write(`${apps.join(' ')}\n`),
    (message) => process.stderr.write(`watch: ${message}\n`),
  );
  // On stderr, so stdout stays one line per change; it also tells tests the watches are set.
  process.stderr.write(`watch: watching ${paths.map((p) => relative(root, p) || '.').join(', ')}\n`);
  const quit = (): void => {
    stop();
    process.exit(0);
  };
  process.on('SIGINT', quit);
  process.on('SIGTERM', quit);
  // The reader (deploy.sh) going away closes stdout: stop rather than watch for nobody.
  process.stdout.on('error', quit);
}

if (import.meta.url === `file://${process.argv[1]}`) main(process.argv.slice(2));
