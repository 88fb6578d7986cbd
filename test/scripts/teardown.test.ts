/** teardown.sh's control flow against the recording fakes of fakes.ts. */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { INITIATOR, TERMINATOR } from '../../tools/src/names.js';
import { Sandbox, type RunResult } from './fakes.js';

let box: Sandbox;
beforeEach(() => {
  box = new Sandbox();
});
afterEach(() => box.dispose());

const has = (r: RunResult, re: RegExp) => r.calls.some((c) => re.test(c));
const ok = (r: RunResult) => assert.equal(r.status, 0, `exit ${r.status}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);

describe('teardown.sh with fake k3d, kubectl and helm', () => {
  it('after a deploy (fakes): uninstalls the release and deletes both namespaces, keeps the cluster', () => {
    ok(box.run('deploy.sh'));
    const r = box.run('teardown.sh');
    ok(r);
    assert.ok(has(r, /^helm uninstall fast-ferry --namespace default --kube-context k3d-fast-ferry/));
    assert.ok(has(r, new RegExp(`^kubectl --context k3d-fast-ferry delete namespace ${INITIATOR.namespace} ${TERMINATOR.namespace} --ignore-not-found`)));
    assert.ok(!has(r, /^k3d cluster delete/));
  });

  it('with --cluster (fakes): also deletes the k3d cluster, after the release', () => {
    ok(box.run('deploy.sh'));
    const r = box.run('teardown.sh', ['--cluster']);
    ok(r);
    const uninstall = r.calls.findIndex((c) => c.startsWith('helm uninstall'));
    const del = r.calls.findIndex((c) => c === 'k3d cluster delete fast-ferry');
    assert.ok(uninstall >= 0 && del > uninstall, r.calls.join('\n'));
  });

  it('when everything is already gone (fakes): succeeds and touches nothing', () => {
    const r = box.run('teardown.sh', ['--cluster']);
    ok(r);
    assert.ok(!has(r, /^helm uninstall|delete namespace|^k3d cluster delete/), r.calls.join('\n'));
    assert.match(r.stdout, /no cluster fast-ferry/);
  });

  it('run twice in a row (fakes): the second run is a no-op that still succeeds', () => {
    ok(box.run('deploy.sh'));
    ok(box.run('teardown.sh'));
    const r = box.run('teardown.sh');
    ok(r);
    assert.ok(!has(r, /^helm uninstall/));
    assert.match(r.stdout, /release fast-ferry is not installed/);
  });

  it('without helm on PATH (fake): still deletes the namespaces, with a warning', () => {
    ok(box.run('deploy.sh'));
    box.remove('helm');
    const r = box.run('teardown.sh');
    ok(r);
    assert.match(r.stderr, /helm not found/);
    assert.ok(has(r, new RegExp(`delete namespace ${INITIATOR.namespace} ${TERMINATOR.namespace}`)));
  });

  it('with --local (fake node): hands over to local.js down only', () => {
    const r = box.run('teardown.sh', ['--local']);
    ok(r);
    assert.deepEqual(r.calls, ['node tools/dist/local.js down']);
  });
});
