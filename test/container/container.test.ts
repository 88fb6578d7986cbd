/**
 * Container test: a real Docker engine builds both images from the shipped Dockerfile, then
 * runs them as two containers configured only from the rendered chart: each Deployment's env,
 * ports, probes, user and group ids, read-only root filesystem, dropped capabilities, memory
 * limit, ConfigMap and Secret files mounted at the manifests' mount paths, an emptyDir as a
 * tmpfs, and the terminator reachable under its Service's DNS names. Anything the chart and the
 * apps disagree on (an env name, a mount path, a port, a probe path, a Service name) makes a
 * check below fail.
 *
 * The chart is rendered from blueprint.yaml plus non-default ports (CONTAINER_TEST_VALUES), so
 * a pod that silently ignores its ConfigMap cannot pass on the apps' defaults.
 * Needs: a Docker engine and the base image the Dockerfile's FROM names (.ci/container-test.sh
 * provides both), the tools built (npm run build), helm (.ci/setup-k8s-tools.sh).
 */
import assert from 'node:assert/strict';
import { execFile as execFileCb, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import yaml from 'js-yaml';
import { CONFIG_SCHEMA } from '@fast-ferry/core';
import { imageTag, type AppName } from '../../tools/src/image-hash.js';
import { loadBlueprint, renderValuesYaml } from '../../tools/src/render-values.js';
import type { K8sDoc } from '../chart/k8s-validate.js';
import { find, helmBinaries, helmTemplate, REPO_ROOT } from '../chart/render.js';

const execFile = promisify(execFileCb);
const docker = async (...args: string[]) => (await execFile('docker', args, { maxBuffer: 64 * 1024 * 1024 })).stdout.trim();

/** Chart values on top of the blueprint: ports the apps do not default to. */
const CONTAINER_TEST_VALUES = { ports: { http: 8090, session: 9443 } };
const STARTUP_TIMEOUT_MS = Number(process.env['CONTAINER_TEST_TIMEOUT_MS'] ?? 90_000);
const APPS: readonly AppName[] = ['terminator', 'initiator'];

interface Probe { path: string; port: number }
interface RunPlan {
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
type Obj = Record<string, any>;

const run = randomBytes(4).toString('hex');
const work = mkdtempSync(join(tmpdir(), 'ferry-container-test-'));
const network = `ferry-ct-${run}`;
let docs: K8sDoc[] = [];
const plans = new Map<AppName, RunPlan>();
let expectedCount = 0;

function secretFiles(app: AppName): Record<string, string> {
  // What deploy.sh puts into each Secret (apply_tls_secret): the CA cert and the pod's own pair.
  const pki = join(work, 'pki');
  return { 'ca.crt': join(pki, 'ca.crt'), 'tls.crt': join(pki, app, 'tls.crt'), 'tls.key': join(pki, app, 'tls.key') };
}

/** docker run arguments for a Deployment's pod, derived from the manifests alone. */
function planFor(app: AppName, deployment: Obj, configMaps: Obj[], services: Obj[]): RunPlan {
  const namespace: string = deployment['metadata'].namespace;
  const pod: Obj = deployment['spec'].template.spec;
  const c: Obj | undefined = pod['containers'].find((x: Obj) => x['name'] === 'web-app');
  assert.ok(c, `deployment/${app} has a container named web-app`);
  const psc: Obj = pod['securityContext'] ?? {};
  const sc: Obj = { ...psc, ...(c['securityContext'] ?? {}) };
  const uid = Number(sc['runAsUser']);
  const gid = Number(sc['runAsGroup'] ?? uid);
  assert.ok(uid > 0 && sc['runAsNonRoot'] === true, `${app} runs as a non-root user id`);
  const container = `ferry-ct-${run}-${app}`;
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
      const dir = join(work, app, `cm-${mount.name}`);
      mkdirSync(dir, { recursive: true });
      for (const [key, text] of Object.entries(cm['data'] ?? {})) writeFileSync(join(dir, key), String(text), { mode: 0o644 });
      args.push('--volume', `${dir}:${mount.mountPath}${ro}`);
    } else if (v['secret']) {
      const dir = join(work, app, `secret-${mount.name}`);
      mkdirSync(dir, { recursive: true });
      const mode = v['secret'].defaultMode ?? 0o644;
      for (const [key, src] of Object.entries(secretFiles(app))) {
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
  };
}

async function httpStatus(ip: string, probe: Probe): Promise<number> {
  try {
    const res = await fetch(`http://${ip}:${probe.port}${probe.path}`, { signal: AbortSignal.timeout(2000) });
    return res.status;
  } catch {
    return 0;
  }
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = STARTUP_TIMEOUT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function logsOf(container: string): Promise<string> {
  try {
    const { stdout, stderr } = await execFile('docker', ['logs', container], { maxBuffer: 16 * 1024 * 1024 });
    return stdout + stderr;
  } catch (e) {
    return `(no logs: ${(e as Error).message})`;
  }
}

async function running(container: string): Promise<boolean> {
  return (await docker('inspect', '--format', '{{.State.Running}}', container).catch(() => 'false')) === 'true';
}

describe('container test: images from the shipped Dockerfile, run as the rendered chart configures them', { timeout: 15 * 60_000 }, () => {
  before(async () => {
    await docker('info', '--format', '{{.ServerVersion}}').catch(() => {
      throw new Error('no Docker engine: run bash .ci/container-test.sh (it starts one), or start dockerd');
    });
    // 1. certificates, exactly as deploy.sh makes them
    execFileSync('node', [join(REPO_ROOT, 'tools/dist/pki.js'), 'ensure', '--dir', join(work, 'pki')], { stdio: 'pipe' });
    // 2. images under their content tags, built from the shipped Dockerfile
    const bp = loadBlueprint(join(REPO_ROOT, 'blueprint.yaml'));
    const tags: Record<AppName, string> = { initiator: '', terminator: '' };
    for (const app of APPS) {
      const buildArgs = { NODE_IMAGE: bp.images.nodeImage };
      tags[app] = imageTag(REPO_ROOT, app, buildArgs);
      const t0 = Date.now();
      await docker('build', '--file', join(REPO_ROOT, 'Dockerfile'), '--build-arg', `APP=${app}`, '--build-arg', `NODE_IMAGE=${bp.images.nodeImage}`, '--tag', `${bp.images[app]}:${tags[app]}`, REPO_ROOT);
      console.log(`# built ${bp.images[app]}:${tags[app]} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
    // 3. the chart, rendered from the blueprint (as deploy.sh does) plus the test's ports
    writeFileSync(join(work, 'values.yaml'), renderValuesYaml(bp, { tags, tlsChecksum: 'container-test' }));
    writeFileSync(join(work, 'test-values.yaml'), yaml.dump(CONTAINER_TEST_VALUES));
    const helm = helmBinaries()[0];
    assert.ok(helm);
    const rendered = helmTemplate(helm, ['-f', join(work, 'values.yaml'), '-f', join(work, 'test-values.yaml')], bp.bundle.name);
    assert.ok(rendered.ok, `helm template failed: ${rendered.stderr}`);
    docs = rendered.docs;
    const configMaps = docs.filter((d) => d.kind === 'ConfigMap') as Obj[];
    const services = docs.filter((d) => d.kind === 'Service') as Obj[];
    for (const app of APPS) plans.set(app, planFor(app, find(docs, 'Deployment', app) as Obj, configMaps, services));
    const iniConfig = yaml.load(String((find(docs, 'ConfigMap', 'initiator-config') as Obj)['data']['config.yaml'])) as Obj;
    expectedCount = Number(iniConfig['autoTrigger']?.count ?? CONFIG_SCHEMA['autoTrigger.count'].default);
    // 4. run: terminator first (as a Service would be), then the initiator
    await docker('network', 'create', network);
    for (const app of APPS) {
      const plan = plans.get(app) as RunPlan;
      await docker('run', '--detach', ...plan.runArgs);
      plan.ip = await docker('inspect', '--format', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, plan.container);
    }
  });

  after(async () => {
    for (const plan of plans.values()) {
      if (process.exitCode || process.env['CONTAINER_TEST_SHOW_LOGS']) console.log(`# --- docker logs ${plan.app} ---\n${(await logsOf(plan.container)).replace(/^/gm, '# ')}`);
      await docker('rm', '--force', plan.container).catch(() => undefined);
    }
    await docker('network', 'rm', network).catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  });

  it('starts both containers, which keep running', async () => {
    await new Promise((r) => setTimeout(r, 1500));
    for (const plan of plans.values()) {
      assert.ok(await running(plan.container), `${plan.app} exited:\n${await logsOf(plan.container)}`);
    }
  });

  it("passes the terminator's liveness and readiness probes at the manifest's paths and ports", async () => {
    const plan = plans.get('terminator') as RunPlan;
    for (const probe of [plan.liveness, plan.readiness]) {
      await waitFor(`terminator ${probe.path} on ${probe.port}`, async () => {
        if (!(await running(plan.container))) assert.fail(`terminator exited:\n${await logsOf(plan.container)}`);
        return (await httpStatus(plan.ip as string, probe)) === 200 ? true : undefined;
      }).catch(async (e: Error) => assert.fail(`${e.message}\n${await logsOf(plan.container)}`));
    }
  });

  it("passes the initiator's readiness probe, which needs an open session to the terminator's Service name", async () => {
    const plan = plans.get('initiator') as RunPlan;
    for (const probe of [plan.liveness, plan.readiness]) {
      await waitFor(`initiator ${probe.path} on ${probe.port}`, async () => {
        if (!(await running(plan.container))) assert.fail(`initiator exited:\n${await logsOf(plan.container)}`);
        return (await httpStatus(plan.ip as string, probe)) === 200 ? true : undefined;
      }).catch(async (e: Error) => assert.fail(`${e.message}\n${await logsOf(plan.container)}`));
    }
  });

  it('logs the auto-trigger start and complete lines for the count in the rendered ConfigMap', async () => {
    const plan = plans.get('initiator') as RunPlan;
    const complete = `🔁 Auto-trigger complete — ${expectedCount}/${expectedCount} messages sent.`;
    const text = await waitFor('the auto-trigger complete line', async () => {
      const logs = await logsOf(plan.container);
      return /Auto-trigger complete/.test(logs) ? logs : undefined;
    }).catch(async (e: Error) => assert.fail(`${e.message}\n${await logsOf(plan.container)}`));
    assert.ok(text.includes(`🔁 Auto-trigger starting — sending ${expectedCount} messages`), text);
    assert.ok(text.includes(complete), `expected "${complete}" in:\n${text}`);
    console.log(`# initiator: ${complete}`);
  });

  it('runs as the non-root user of the manifests, with a read-only root filesystem', async () => {
    for (const plan of plans.values()) {
      const probe = await docker('exec', plan.container, '/usr/local/bin/node', '-e',
        `const fs=require('fs');let w='writable';try{fs.writeFileSync('/app/.probe','x')}catch(e){w=e.code}
         let t='ok';try{fs.writeFileSync('/tmp/.probe','x')}catch(e){t=e.code}
         console.log(JSON.stringify({uid:process.getuid(),gid:process.getgid(),root:w,tmp:t}))`);
      const seen = JSON.parse(probe) as { uid: number; gid: number; root: string; tmp: string };
      assert.deepEqual({ uid: seen.uid, gid: seen.gid }, plan.user, `${plan.app} user`);
      assert.equal(seen.root, plan.readOnlyRoot ? 'EROFS' : 'writable', `${plan.app} root filesystem`);
      assert.equal(seen.tmp, 'ok', `${plan.app} /tmp (the emptyDir) is writable`);
    }
  });

  it('ships images without a shell', async () => {
    for (const plan of plans.values()) {
      await assert.rejects(docker('run', '--rm', '--entrypoint', '/bin/sh', plan.image, '-c', 'true'), /no such file or directory/, `${plan.app} image has /bin/sh`);
    }
  });

  it('stops both containers on SIGTERM within terminationGracePeriodSeconds (no SIGKILL)', async () => {
    for (const app of ['initiator', 'terminator'] as const) {
      const plan = plans.get(app) as RunPlan;
      const t0 = Date.now();
      await docker('stop', '--time', String(plan.graceSeconds), plan.container);
      const exit = Number(await docker('inspect', '--format', '{{.State.ExitCode}}', plan.container));
      assert.notEqual(exit, 137, `${app} was killed after ${plan.graceSeconds} s:\n${await logsOf(plan.container)}`);
      console.log(`# ${app} stopped in ${((Date.now() - t0) / 1000).toFixed(1)} s, exit ${exit}`);
    }
  });
});
