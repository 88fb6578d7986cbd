/**
 * deploy.sh's control flow, with docker, k3d, kubectl, helm, npm and node replaced by recording
 * fakes (see fakes.ts): what it calls, in which order, what it skips on a second run, and how
 * it fails.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { autoTriggerCompleteLine } from '@fast-ferry/core';
import { INITIATOR, TERMINATOR, logsCommand } from '../../tools/src/names.js';
import { Sandbox, type RunResult } from './fakes.js';

let box: Sandbox;
beforeEach(() => {
  box = new Sandbox();
});
afterEach(() => box.dispose());

const has = (r: RunResult, re: RegExp) => r.calls.some((c) => re.test(c));
const indexOf = (r: RunResult, re: RegExp) => {
  const i = r.calls.findIndex((c) => re.test(c));
  assert.ok(i >= 0, `no call matching ${re} in:\n${r.calls.join('\n')}`);
  return i;
};
const ok = (r: RunResult) => assert.equal(r.status, 0, `exit ${r.status}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
/** the values file deploy.sh rendered (the fake blueprint.js writes its arguments into it) */
const renderedArgs = () => box.file('.ferry/values.yaml').split('\n');

describe('deploy.sh with fake k3d, kubectl, helm and docker', () => {
  it('on a fresh machine (fakes): creates the cluster, builds and imports both images, issues certificates, installs the chart, verifies', () => {
    const r = box.run('deploy.sh');
    ok(r);
    const create = indexOf(r, /^k3d cluster create fast-ferry /);
    const builds = ['initiator', 'terminator'].map((app) => indexOf(r, new RegExp(`^docker build --file Dockerfile --build-arg APP=${app} .*--tag fast-ferry/${app}:hash-${app}-1 `)));
    const imports = ['initiator', 'terminator'].map((app) => indexOf(r, new RegExp(`^k3d image import fast-ferry/${app}:hash-${app}-1 --cluster fast-ferry$`)));
    const pki = indexOf(r, /^node tools\/dist\/pki\.js ensure --dir .*\/\.ferry\/pki$/);
    const secrets = indexOf(r, new RegExp(`^kubectl create secret generic terminator-tls --namespace ${TERMINATOR.namespace} --type kubernetes\\.io/tls`));
    const helm = indexOf(r, /^helm upgrade --install fast-ferry .*\/charts\/fast-ferry .*--wait/);
    const verify = indexOf(r, /^node tools\/dist\/verify\.js --context k3d-fast-ferry --messages 5 /);
    assert.ok(has(r, /^npm ci/), 'npm ci with no node_modules');
    assert.ok(create < Math.min(...builds), 'cluster before images');
    builds.forEach((b, i) => assert.ok(b < (imports[i] as number), 'each image is built before it is imported'));
    assert.ok(Math.max(...imports) < pki && pki < secrets && secrets < helm && helm < verify, 'images → certificates → Secrets → chart → verify');
    assert.ok(has(r, new RegExp(`^kubectl create secret generic initiator-tls --namespace ${INITIATOR.namespace} .*--from-file ca\\.crt=.*--from-file tls\\.crt=.*/initiator/tls\\.crt --from-file tls\\.key=.*/initiator/tls\\.key`)));
    assert.ok(!has(r, /ca\.key/), 'the CA key never leaves the machine');
    assert.ok(renderedArgs().includes('initiator=hash-initiator-1') && renderedArgs().includes('terminator=hash-terminator-1'), 'content tags go into the values');
    assert.match(r.stdout, /✔ Building and importing images \(\d+\.\ds\)/, 'one line per step with its duration');
    assert.ok(r.stdout.includes(autoTriggerCompleteLine(5, 5)), 'prints the line verify found');
    assert.ok(r.stdout.includes(logsCommand()), 'ends with the verify command');
  });

  it('on a second run (fakes): reuses the cluster, builds and imports nothing, keeps the certificates', () => {
    ok(box.run('deploy.sh'));
    const firstValues = renderedArgs();
    const r = box.run('deploy.sh');
    ok(r);
    assert.ok(!has(r, /^k3d cluster create/), 'no cluster create');
    assert.ok(!has(r, /^docker build/), 'no build');
    assert.ok(!has(r, /^k3d image import/), 'no import');
    assert.ok(!has(r, /^npm ci/), 'no npm ci when node_modules is current');
    assert.ok(!has(r, /pki\.js .*--rotate/));
    assert.match(r.stdout, /reused certificates/);
    assert.deepEqual(renderedArgs(), firstValues, 'same tags and TLS checksum, so helm rolls nothing');
    assert.ok(has(r, /^helm upgrade --install/) && has(r, /^node tools\/dist\/verify\.js/));
  });

  it('after a terminator hook edit (fake content hash): rebuilds and imports only the terminator image', () => {
    ok(box.run('deploy.sh'));
    box.editApp('terminator', 2);
    const r = box.run('deploy.sh');
    ok(r);
    assert.deepEqual(r.calls.filter((c) => /^docker build|^k3d image import/.test(c)).map((c) => c.replace(/ --.*| \/.*/, '')),
      ['docker build', 'k3d image import fast-ferry/terminator:hash-terminator-2'].map((c) => c.replace(/ --.*| \/.*/, '')));
    assert.ok(has(r, /^docker build --file Dockerfile --build-arg APP=terminator /) && !has(r, /^docker build .*--build-arg APP=initiator /));
    assert.ok(renderedArgs().includes('initiator=hash-initiator-1') && renderedArgs().includes('terminator=hash-terminator-2'));
  });

  it('imports an image again when the cluster lost it (fake cluster recreated)', () => {
    ok(box.run('deploy.sh'));
    ok(box.run('teardown.sh', ['--cluster']));
    const r = box.run('deploy.sh');
    ok(r);
    assert.ok(has(r, /^k3d cluster create/) && !has(r, /^docker build/));
    assert.equal(r.calls.filter((c) => c.startsWith('k3d image import')).length, 2);
  });

  it('with --rotate-certs (fakes): re-issues the certificates and passes a new TLS checksum, so both pods roll', () => {
    ok(box.run('deploy.sh'));
    const before = renderedArgs();
    const r = box.run('deploy.sh', ['--rotate-certs']);
    ok(r);
    assert.ok(has(r, /^node tools\/dist\/pki\.js ensure --dir .* --rotate$/));
    const checksum = (args: string[]) => args[args.indexOf('--tls-checksum') + 1];
    assert.notEqual(checksum(renderedArgs()), checksum(before));
  });

  it('stops with an install hint when k3d is missing (fake PATH), before building or installing anything', () => {
    box.remove('k3d');
    const r = box.run('deploy.sh');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /k3d is required but not found on PATH — install k3d 5\.x \(https:\/\/k3d\.io/);
    assert.ok(!has(r, /^docker build|^helm upgrade|^npm/));
  });

  it('refuses k3d 4 (fake version) with the version it found', () => {
    const r = box.run('deploy.sh', [], { FAKE_K3D_VERSION: 'v4.4.8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /k3d 5\.x or newer is required, found 'k3d version v4\.4\.8'/);
  });

  it('tells the user to start Docker when the daemon does not answer (fake docker info fails)', () => {
    box.remove('docker');
    const r1 = box.run('deploy.sh');
    assert.match(r1.stderr, /docker is required/);
    const box2 = new Sandbox();
    try {
      const r2 = box2.run('deploy.sh', [], {});
      ok(r2);
      writeFileSync(`${box2.state}/docker-down`, '');
      const r3 = box2.run('deploy.sh');
      assert.equal(r3.status, 1);
      assert.match(r3.stderr, /the Docker daemon is not running or not reachable — start Docker Desktop or 'sudo systemctl start docker'/);
    } finally {
      box2.dispose();
    }
  });

  it('exits non-zero and names the step when verify fails (fake verify)', () => {
    const r = box.run('deploy.sh', [], { FAKE_VERIFY_EXIT: '1' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /deploy\.sh failed during: Verifying/);
    assert.doesNotMatch(r.stdout, /Fast Ferry is up/);
  });

  it('prints cluster diagnostics when the helm rollout fails (fake helm), then exits non-zero', () => {
    const r = box.run('deploy.sh', [], { FAKE_HELM_EXIT: '1' });
    assert.equal(r.status, 1);
    assert.ok(has(r, /^node tools\/dist\/verify\.js --context k3d-fast-ferry --diagnose$/));
    assert.match(r.stderr, /helm upgrade --install failed/);
    assert.ok(!has(r, /verify\.js .*--messages/), 'no verify after a failed rollout');
  });

  it('with --local (fakes): installs and builds, then hands over to local.js up with the remaining arguments; no Docker or cluster', () => {
    const r = box.run('deploy.sh', ['--local', '--once']);
    ok(r);
    assert.deepEqual(r.calls.filter((c) => !c.startsWith('node --version')), ['npm ci --no-audit --no-fund', 'npm run --silent build', 'node tools/dist/local.js up --once']);
  });

  it('rejects an unknown option', () => {
    const r = box.run('deploy.sh', ['--frobnicate']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /unknown option '--frobnicate'/);
    assert.deepEqual(r.calls, []);
  });
});
