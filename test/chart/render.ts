/**
 * Helpers shared by the chart and container tests: find helm binaries, render the chart.
 * Helm binaries: $HELM_BINS (':'-separated paths), else .tools/helm4/helm and .tools/helm3/helm
 * (made by .ci/setup-k8s-tools.sh), else `helm` on PATH.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import type { K8sDoc } from './k8s-validate.js';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CHART_DIR = join(REPO_ROOT, 'charts', 'fast-ferry');

export interface Helm {
  path: string;
  version: string;
}

export function helmBinaries(): Helm[] {
  const candidates = process.env['HELM_BINS']
    ? process.env['HELM_BINS'].split(':').filter(Boolean)
    : [join(REPO_ROOT, '.tools', 'helm4', 'helm'), join(REPO_ROOT, '.tools', 'helm3', 'helm')].filter((p) => existsSync(p));
  if (candidates.length === 0) candidates.push('helm');
  return candidates.map((path) => {
    try {
      return { path, version: execFileSync(path, ['version', '--short'], { encoding: 'utf8' }).trim() };
    } catch {
      throw new Error(`helm not found at ${path}: run bash .ci/setup-k8s-tools.sh (or set HELM_BINS)`);
    }
  });
}

export interface RenderResult {
  ok: boolean;
  stdout: string;
  stderr: string;
  docs: K8sDoc[];
}

/** helm template with the given args (values files, --set ...); never throws on a failed render. */
export function helmTemplate(helm: Helm, args: readonly string[] = [], release = 'fast-ferry'): RenderResult {
  try {
    const stdout = execFileSync(helm.path, ['template', release, CHART_DIR, '--namespace', 'default', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { ok: true, stdout, stderr: '', docs: yaml.loadAll(stdout).filter((d): d is K8sDoc => d !== null && typeof d === 'object') };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err), docs: [] };
  }
}

export function find(docs: readonly K8sDoc[], kind: string, name: string, namespace?: string): K8sDoc {
  const doc = docs.find((d) => d.kind === kind && d.metadata?.name === name && (namespace === undefined || d.metadata?.namespace === namespace));
  if (!doc) throw new Error(`no ${kind}/${name}${namespace ? ` in ${namespace}` : ''} in the rendered chart (have: ${docs.map((d) => `${String(d.kind)}/${d.metadata?.name}`).join(', ')})`);
  return doc;
}
