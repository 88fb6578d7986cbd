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
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type AppName } from '../../tools/src/image-hash.js';
import { docker, httpStatus, ipOn, logsOf, running, type RunPlan } from '../../bench/src/chart-pods.js';
import { APPS, buildAndRender, waitFor } from './rendered-chart.js';

/** Chart values on top of the blueprint: ports the apps do not default to. */
const CONTAINER_TEST_VALUES = { ports: { http: 8090, session: 9443 } };

const run = randomBytes(4).toString('hex');
const work = mkdtempSync(join(tmpdir(), 'ferry-container-test-'));
const network = `ferry-ct-${run}`;
const plans = new Map<AppName, RunPlan>();
let expectedCount = 0;

describe('container test: images from the shipped Dockerfile, run as the rendered chart configures them', { timeout: 15 * 60_000 }, () => {
  before(async () => {
    // certificates as deploy.sh makes them, images from the shipped Dockerfile, the chart rendered
    // from the blueprint plus the test's ports
    const rendered = await buildAndRender({ work, network, namePrefix: `ferry-ct-${run}` }, CONTAINER_TEST_VALUES);
    for (const app of APPS) plans.set(app, rendered.plan(app));
    expectedCount = rendered.autoTriggerCount;
    // run: terminator first (as a Service would be), then the initiator
    await docker('network', 'create', network);
    for (const app of APPS) {
      const plan = plans.get(app) as RunPlan;
      await docker('run', '--detach', ...plan.runArgs);
      plan.ip = await ipOn(plan.container, network);
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
