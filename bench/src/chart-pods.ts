/**
 * Run the shipped images as the rendered chart configures them, with Docker: shared by the
 * container tests (test/container/*.test.ts) and the container bench (bench/src/containers.ts).
 * It lives under bench/src because bench compiles only bench/src (bench/tsconfig.json) and
 * cannot import from test/, while the tests (tsconfig.test.json) can import from bench/.
 * planFor() turns a rendered Deployment (plus its ConfigMaps and Services) into `docker run`
 * arguments: env, user and group ids, read-only root, dropped capabilities, memory limit,
 * ConfigMap and Secret files at the manifests' mount paths, emptyDir as tmpfs, and the
 * Services' DNS names as network aliases (every container of one Deployment carries them, so
 * Docker's DNS answers with all of them, as a Service does with its ready pods).
 */
import assert from 'node:assert/strict';
import { execFile as execFileCb } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { imageTag, type AppName } from '@fast-ferry/tools/dist/image-hash.js';
import type { Blueprint } from '@fast-ferry/tools/dist/blueprint-schema.js';

const execFile = promisify(execFileCb);

export const docker = async (...args: string[]): Promise<string> =>
  (await execFile('docker', args, { maxBuffer: 64 * 1024 * 1024 })).stdout.trim();

// Typed access into manifests (read loosely; a missing field fails the assert that uses it).
export type Obj = Record<string, any>;

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
  /** Container ports by name (http, session, ...). */
  ports: Map<string, number>;
  ip?: string;
}

export interface PlanContext {
  /** Scratch directory for the ConfigMap and Secret files mounted into the container. */
  work: string;
  /** Docker network both containers join. */
  network: string;
  /** Default container name: `${namePrefix}-${app}` (planFor's `container` overrides it, for replicas). */
  namePrefix: string;
  /** What deploy.sh puts into each Secret, by key: file paths on this host. */
  secretFiles: (app: AppName) => Record<string, string>;
}

/** The files deploy.sh's apply_tls_secret puts into an app's Secret, from a `pki.js ensure` dir. */
export function pkiSecretFiles(pkiDir: string, app: AppName): Record<string, string> {
  return { 'ca.crt': join(pkiDir, 'ca.crt'), 'tls.crt': join(pkiDir, app, 'tls.crt'), 'tls.key': join(pkiDir, app, 'tls.key') };
}

/**
 * docker run arguments for a Deployment's pod, derived from the manifests alone, as container
 * `container` (one name per replica when a Deployment runs more than once).
 */
export function planFor(app: AppName, deployment: Obj, configMaps: Obj[], services: Obj[], ctx: PlanContext, container = `${ctx.namePrefix}-${app}`): RunPlan {
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
  if (memory) args.push('--memory', dockerBytes(memory));
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
      for (const [key, src] of Object.entries(ctx.secretFiles(app))) {
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
  // Services in this namespace that select this pod: their DNS names resolve to the container.
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
    ports,
  };
}

/** A Kubernetes memory quantity (256Mi, 1Gi) as docker's --memory takes it (256m, 1g). */
export function dockerBytes(quantity: string): string {
  return quantity.replace(/i$/, '').toLowerCase().replace(/^(\d+)([kmg])$/, '$1$2');
}

/** A Kubernetes CPU quantity (500m, 1, "1.5") in cores. */
export function cpuCores(quantity: string | number): number {
  const s = String(quantity);
  const n = s.endsWith('m') ? Number(s.slice(0, -1)) / 1000 : Number(s);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`CPU quantity ${s}: expected e.g. 500m or 1`);
  return n;
}

/** Build both images from the shipped Dockerfile under their content tags; returns the tags. */
export async function buildImages(root: string, bp: Blueprint, apps: readonly AppName[], log: (line: string) => void = console.log): Promise<Record<AppName, string>> {
  const tags: Record<AppName, string> = { initiator: '', terminator: '' };
  for (const app of apps) {
    const buildArgs = { NODE_IMAGE: bp.images.nodeImage };
    tags[app] = imageTag(root, app, buildArgs);
    const t0 = Date.now();
    await docker('build', '--file', join(root, 'Dockerfile'), '--build-arg', `APP=${app}`, '--build-arg', `NODE_IMAGE=${bp.images.nodeImage}`, '--tag', `${bp.images[app]}:${tags[app]}`, root);
    log(`# built ${bp.images[app]}:${tags[app]} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  return tags;
}

export async function httpStatus(ip: string, probe: Probe): Promise<number> {
  try {
    const res = await fetch(`http://${ip}:${probe.port}${probe.path}`, { signal: AbortSignal.timeout(2000) });
    return res.status;
  } catch {
    return 0;
  }
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
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

/**
 * The container port POST /trigger is served on: the one named `trigger` when the chart gives
 * the trigger its own port, else `http`.
 */
export function triggerPort(plan: RunPlan): number {
  const port = plan.ports.get('trigger') ?? plan.ports.get('http');
  assert.ok(port, `${plan.app} has a container port named trigger or http (has: ${[...plan.ports.keys()].join(', ')})`);
  return port;
}
