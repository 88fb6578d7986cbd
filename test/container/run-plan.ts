/**
 * What the container tests share: the images built from the shipped Dockerfile, the chart
 * rendered from blueprint.yaml (plus test values), and `docker run` arguments derived from the
 * rendered manifests alone (env, ports, probes, user, read-only root, capabilities, memory
 * limit, ConfigMap and Secret files at their mount paths, an emptyDir as a tmpfs, and the
 * Services' DNS names as network aliases).
 */
import assert from 'node:assert/strict';
import { execFile as execFileCb, execFileSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import yaml from 'js-yaml';
import { CONFIG_SCHEMA } from '@fast-ferry/core';
import { imageTag, type AppName } from '../../tools/src/image-hash.js';
import { loadBlueprint, renderValuesYaml } from '../../tools/src/render-values.js';
import type { K8sDoc } from '../chart/k8s-validate.js';
import { find, helmBinaries, helmTemplate, REPO_ROOT } from '../chart/render.js';

const execFile = promisify(execFileCb);
export const docker = async (...args: string[]): Promise<string> => (await execFile('docker', args, { maxBuffer: 64 * 1024 * 1024 })).stdout.trim();

export const STARTUP_TIMEOUT_MS = Number(process.env['CONTAINER_TEST_TIMEOUT_MS'] ?? 90_000);
export const APPS: readonly AppName[] = ['terminator', 'initiator'];

export interface Probe { path: string; port: number }
export interface RunPlan {
  app: AppName;
  namespace: string;
  image: string;
  container: string;
  runArgs: string[];
  readiness: Probe;
  liveness: Probe;
  user: { uid: number; gid: number };
  graceSeconds: number;
  readOnlyRoot: boolean;
  ip?: string;
}

// Typed access into manifests (tests read them loosely; a missing field fails the assert that uses it).
export type Obj = Record<string, any>;

/** Where a test's files go and which Docker network its containers join. */
export interface RunContext {
  work: string;
  network: string;
}

function secretFiles(work: string, app: AppName): Record<string, string> {
  // What deploy.sh puts into each Secret (apply_tls_secret): the CA cert and the pod's own pair.
  const pki = join(work, 'pki');
  return { 'ca.crt': join(pki, 'ca.crt'), 'tls.crt': join(pki, app, 'tls.crt'), 'tls.key': join(pki, app, 'tls.key') };
}

/** docker run arguments for a Deployment's pod, derived from the manifests alone, as container `container`. */
export function planFor(ctx: RunContext, app: AppName, container: string, deployment: Obj, configMaps: Obj[], services: Obj[]): RunPlan {
  const { work, network } = ctx;
  const namespace: string = deployment['metadata'].namespace;
  const pod: Obj = deployment['spec'].template.spec;
  const c: Obj | undefined = pod['containers'].find((x: Obj) => x['name'] === 'web-app');
  assert.ok(c, `deployment/${app} has a container named web-app`);
  const psc: Obj = pod['securityContext'] ?? {};
  const sc: Obj = { ...psc, ...(c['securityContext'] ?? {}) };
  const uid = Number(sc['runAsUser']);
  const gid = Number(sc['runAsGroup'] ?? uid);
  assert.ok(uid > 0 && sc['runAsNonRoot'] === true, `${app} runs as a non-root user id`);
  const files = join(work, container);
  const args = ['--name', container, '--hostname', app, '--network', network, '--user', `${uid}:${gid}`];
  if (psc['fsGroup'] !== undefined) args.push('--group-add', String(psc['fsGroup']));
  if (sc['readOnlyRootFilesystem'] === true) args.push('--read-only');
  if ((sc['capabilities']?.drop ?? []).includes('ALL')) args.push('--cap-drop', 'ALL');
  if (sc['allowPrivilegeEscalation'] === false) args.push('--security-opt', 'no-new-privileges');
  const memory: string | undefined = c['resources']?.limits?.memory;
  if (memory) args.push('--memory', memory.replace(/i$/, '').toLowerCase().replace(/^(\d+)([kmg])$/, '$1$2'));
  for (const env of c['env'] ?? []) {
    assert.ok('value' in env, `env ${env.name}: only literal values can be reproduced`);
    args.push('--env', `${env.name}=${env.value}`);
  }
  const ports = new Map<string, number>((c['ports'] ?? []).map((p: Obj) => [p['name'], p['containerPort']]));
  const volumes = new Map<string, Obj>((pod['volumes'] ?? []).map((v: Obj) => [v['name'], v]));
  for (const mount of c['volumeMounts'] ?? []) {
    const v = volumes.get(mount.name);
    assert.ok(v, `volumeMount ${mount.name} has a volume`);
    const ro = mount.readOnly ? ':ro' : '';
    if (v['configMap']) {
      const cm = configMaps.find((x) => x['metadata'].name === v['configMap'].name && x['metadata'].namespace === namespace);
      assert.ok(cm, `ConfigMap ${v['configMap'].name} is rendered in ${namespace}`);
      const dir = join(files, `cm-${mount.name}`);
      mkdirSync(dir, { recursive: true });
      for (const [key, text] of Object.entries(cm['data'] ?? {})) writeFileSync(join(dir, key), String(text), { mode: 0o644 });
      args.push('--volume', `${dir}:${mount.mountPath}${ro}`);
    } else if (v['secret']) {
      const dir = join(files, `secret-${mount.name}`);
      mkdirSync(dir, { recursive: true });
      const mode = v['secret'].defaultMode ?? 0o644;
      for (const [key, src] of Object.entries(secretFiles(work, app))) {
        const dest = join(dir, key);
        copyFileSync(src, dest);
        chmodSync(dest, mode);
        chownSync(dest, 0, Number(psc['fsGroup'] ?? 0)); // what the kubelet does with fsGroup
      }
      args.push('--volume', `${dir}:${mount.mountPath}${ro}`);
    } else if (v['emptyDir']) {
      args.push('--tmpfs', `${mount.mountPath}:rw,mode=1777,size=${String(v['emptyDir'].sizeLimit ?? '16Mi').replace(/i$/, '').toLowerCase()}`);
    } else {
      assert.fail(`volume ${mount.name}: only configMap, secret and emptyDir are reproduced`);
    }
  }
  // Services in this namespace that select this pod: their DNS names resolve to the container
  // (to every container that carries the alias, as a Service to every ready pod).
  const labels: Obj = deployment['spec'].template.metadata.labels;
  for (const svc of services.filter((s) => s['metadata'].namespace === namespace)) {
    const selector: Obj = svc['spec'].selector ?? {};
    if (!Object.entries(selector).every(([k, v]) => labels[k] === v)) continue;
    for (const p of svc['spec'].ports) {
      const target = typeof p.targetPort === 'string' ? ports.get(p.targetPort) : (p.targetPort ?? p.port);
      assert.equal(target, p.port, `Service ${svc['metadata'].name} port ${p.port} maps to the same container port (docker cannot remap)`);
    }
    const n = `${svc['metadata'].name}.${namespace}`;
    for (const alias of [n, `${n}.svc`, `${n}.svc.cluster.local`]) args.push('--network-alias', alias);
  }
  if (c['command']) args.push('--entrypoint', c['command'][0]);
  const probe = (p: Obj | undefined, what: string): Probe => {
    assert.ok(p?.['httpGet'], `${app} has an httpGet ${what}`);
    const port = typeof p['httpGet'].port === 'string' ? ports.get(p['httpGet'].port) : p['httpGet'].port;
    assert.ok(port, `${app} ${what} port ${p['httpGet'].port} is a container port`);
    return { path: p['httpGet'].path, port };
  };
  const image: string = c['image'];
  const tail = [...(c['command'] ? c['command'].slice(1) : []), ...(c['args'] ?? [])];
  return {
    app, namespace, image, container,
    runArgs: [...args, image, ...tail],
    readiness: probe(c['readinessProbe'], 'readinessProbe'),
    liveness: probe(c['livenessProbe'], 'livenessProbe'),
    user: { uid, gid },
    graceSeconds: Number(pod['terminationGracePeriodSeconds'] ?? 30),
    readOnlyRoot: sc['readOnlyRootFilesystem'] === true,
  };
}

export interface Rendered {
  docs: K8sDoc[];
  /** The run plan of `app`'s Deployment, as container `container`. */
  plan(app: AppName, container: string): RunPlan;
  /** autoTrigger.count in the initiator's rendered ConfigMap. */
  autoTriggerCount: number;
}

/**
 * Certificates exactly as deploy.sh makes them, both images under their content tags built
 * from the shipped Dockerfile, and the chart rendered from the blueprint (as deploy.sh does)
 * plus `testValues`.
 */
export async function buildAndRender(ctx: RunContext, testValues: Obj): Promise<Rendered> {
  await docker('info', '--format', '{{.ServerVersion}}').catch(() => {
    throw new Error('no Docker engine: run bash .ci/container-test.sh (it starts one), or start dockerd');
  });
  const { work } = ctx;
  execFileSync('node', [join(REPO_ROOT, 'tools/dist/pki.js'), 'ensure', '--dir', join(work, 'pki')], { stdio: 'pipe' });
  const bp = loadBlueprint(join(REPO_ROOT, 'blueprint.yaml'));
  const tags: Record<AppName, string> = { initiator: '', terminator: '' };
  for (const app of APPS) {
    const buildArgs = { NODE_IMAGE: bp.images.nodeImage };
    tags[app] = imageTag(REPO_ROOT, app, buildArgs);
    const t0 = Date.now();
    await docker('build', '--file', join(REPO_ROOT, 'Dockerfile'), '--build-arg', `APP=${app}`, '--build-arg', `NODE_IMAGE=${bp.images.nodeImage}`, '--tag', `${bp.images[app]}:${tags[app]}`, REPO_ROOT);
    console.log(`# built ${bp.images[app]}:${tags[app]} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  writeFileSync(join(work, 'values.yaml'), renderValuesYaml(bp, { tags, tlsChecksum: 'container-test' }));
  writeFileSync(join(work, 'test-values.yaml'), yaml.dump(testValues));
  const helm = helmBinaries()[0];
  assert.ok(helm);
  const rendered = helmTemplate(helm, ['-f', join(work, 'values.yaml'), '-f', join(work, 'test-values.yaml')], bp.bundle.name);
  assert.ok(rendered.ok, `helm template failed: ${rendered.stderr}`);
  const docs = rendered.docs;
  const configMaps = docs.filter((d) => d.kind === 'ConfigMap') as Obj[];
  const services = docs.filter((d) => d.kind === 'Service') as Obj[];
  const iniConfig = yaml.load(String((find(docs, 'ConfigMap', 'initiator-config') as Obj)['data']['config.yaml'])) as Obj;
  return {
    docs,
    plan: (app, container) => planFor(ctx, app, container, find(docs, 'Deployment', app) as Obj, configMaps, services),
    autoTriggerCount: Number(iniConfig['autoTrigger']?.count ?? CONFIG_SCHEMA['autoTrigger.count'].default),
  };
}

export async function httpStatus(ip: string, probe: Probe): Promise<number> {
  try {
    const res = await fetch(`http://${ip}:${probe.port}${probe.path}`, { signal: AbortSignal.timeout(2000) });
    return res.status;
  } catch {
    return 0;
  }
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = STARTUP_TIMEOUT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function logsOf(container: string): Promise<string> {
  try {
    const { stdout, stderr } = await execFile('docker', ['logs', container], { maxBuffer: 64 * 1024 * 1024 });
    return stdout + stderr;
  } catch (e) {
    return `(no logs: ${(e as Error).message})`;
  }
}

export async function running(container: string): Promise<boolean> {
  return (await docker('inspect', '--format', '{{.State.Running}}', container).catch(() => 'false')) === 'true';
}

/** The container's address on `network`. */
export async function ipOn(container: string, network: string): Promise<string> {
  return docker('inspect', '--format', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, container);
}
