/**
 * What both container tests do before they run anything: certificates exactly as deploy.sh makes
 * them, both images under their content tags built from the shipped Dockerfile, and the chart
 * rendered from blueprint.yaml (as deploy.sh does) plus the test's values. The `docker run`
 * arguments come from bench/src/chart-pods.ts, which the container bench shares; this part stays
 * here because it renders with the chart tests' helm helpers (test/chart/render.ts).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { CONFIG_SCHEMA } from '@fast-ferry/core';
import { type AppName } from '../../tools/src/image-hash.js';
import { loadBlueprint, renderValuesYaml } from '../../tools/src/render-values.js';
import type { K8sDoc } from '../chart/k8s-validate.js';
import { find, helmBinaries, helmTemplate, REPO_ROOT } from '../chart/render.js';
import { buildImages, docker, pkiSecretFiles, planFor, waitFor as waitForAtMost, type Obj, type RunPlan } from '../../bench/src/chart-pods.js';

export const STARTUP_TIMEOUT_MS = Number(process.env['CONTAINER_TEST_TIMEOUT_MS'] ?? 90_000);
/** chart-pods' waitFor with the container tests' startup timeout (CONTAINER_TEST_TIMEOUT_MS). */
export const waitFor = <T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = STARTUP_TIMEOUT_MS): Promise<T> => waitForAtMost(what, fn, timeoutMs);
/** Terminator first: its Service has endpoints before an initiator dials it. */
export const APPS: readonly AppName[] = ['terminator', 'initiator'];

/** Where a test's files go, which Docker network its containers join, and their default name prefix. */
export interface RunContext {
  work: string;
  network: string;
  namePrefix: string;
}

export interface Rendered {
  docs: K8sDoc[];
  /** The run plan of `app`'s Deployment, as container `container` (default `${namePrefix}-${app}`). */
  plan(app: AppName, container?: string): RunPlan;
  /** autoTrigger.count in the initiator's rendered ConfigMap. */
  autoTriggerCount: number;
}

export async function buildAndRender(ctx: RunContext, testValues: Obj): Promise<Rendered> {
  await docker('info', '--format', '{{.ServerVersion}}').catch(() => {
    throw new Error('no Docker engine: run bash .ci/container-test.sh (it starts one), or start dockerd');
  });
  const { work } = ctx;
  const pki = join(work, 'pki');
  execFileSync('node', [join(REPO_ROOT, 'tools/dist/pki.js'), 'ensure', '--dir', pki], { stdio: 'pipe' });
  const bp = loadBlueprint(join(REPO_ROOT, 'blueprint.yaml'));
  const tags = await buildImages(REPO_ROOT, bp, APPS);
  writeFileSync(join(work, 'values.yaml'), renderValuesYaml(bp, { tags, tlsChecksum: 'container-test' }));
  writeFileSync(join(work, 'test-values.yaml'), yaml.dump(testValues));
  const helm = helmBinaries()[0];
  assert.ok(helm, 'helm: run bash .ci/setup-k8s-tools.sh');
  const rendered = helmTemplate(helm, ['-f', join(work, 'values.yaml'), '-f', join(work, 'test-values.yaml')], bp.bundle.name);
  assert.ok(rendered.ok, `helm template failed: ${rendered.stderr}`);
  const docs = rendered.docs;
  const configMaps = docs.filter((d) => d.kind === 'ConfigMap') as Obj[];
  const services = docs.filter((d) => d.kind === 'Service') as Obj[];
  const planContext = { ...ctx, secretFiles: (app: AppName) => pkiSecretFiles(pki, app) };
  const iniConfig = yaml.load(String((find(docs, 'ConfigMap', 'initiator-config') as Obj)['data']['config.yaml'])) as Obj;
  return {
    docs,
    plan: (app, container) => planFor(app, find(docs, 'Deployment', app) as Obj, configMaps, services, planContext, container),
    autoTriggerCount: Number(iniConfig['autoTrigger']?.count ?? CONFIG_SCHEMA['autoTrigger.count'].default),
  };
}
