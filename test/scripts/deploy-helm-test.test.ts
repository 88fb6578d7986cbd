/**
 * deploy.sh's verify step ends with `helm test` (the chart's test Pod POSTs to /trigger), with
 * docker, k3d, kubectl, helm, npm and node replaced by recording fakes (see fakes.ts).
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Sandbox, type RunResult } from './fakes.js';

let box: Sandbox;
beforeEach(() => {
  box = new Sandbox();
});
afterEach(() => box.dispose());

const indexOf = (r: RunResult, re: RegExp) => {
  const i = r.calls.findIndex((c) => re.test(c));
  assert.ok(i >= 0, `no call matching ${re} in:\n${r.calls.join('\n')}`);
  return i;
};

describe('deploy.sh runs helm test after the rollout (fakes)', () => {
  it('runs helm test on the release, in the cluster\'s context, with the test Pod\'s logs, after verify.js', () => {
    const r = box.run('deploy.sh');
    assert.equal(r.status, 0, `exit ${r.status}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
    const rollout = indexOf(r, /^helm upgrade --install fast-ferry /);
    const verify = indexOf(r, /^node tools\/dist\/verify\.js --context k3d-fast-ferry --messages 5 /);
    const test = indexOf(r, /^helm test fast-ferry --namespace default --kube-context k3d-fast-ferry --logs --timeout 5m$/);
    assert.ok(rollout < verify && verify < test, 'rollout → verify.js → helm test');
    assert.match(r.stdout, /Fast Ferry is up/);
  });

  it('exits non-zero in the Verifying step, naming helm test and where to look, when the test Pod fails', () => {
    const r = box.run('deploy.sh', [], { FAKE_HELM_TEST_EXIT: '1' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /helm test failed: POST \/trigger was not delivered/);
    assert.match(r.stderr, /kubectl logs -n fast-ferry-initiator-ns deployment\/initiator -c web-app/);
    assert.match(r.stderr, /deploy\.sh failed during: Verifying/);
    assert.doesNotMatch(r.stdout, /Fast Ferry is up/);
  });

  it('does not run helm test when verify.js fails first', () => {
    const r = box.run('deploy.sh', [], { FAKE_VERIFY_EXIT: '1' });
    assert.equal(r.status, 1);
    assert.ok(!r.calls.some((c) => c.startsWith('helm test')), 'no helm test after a failed verify');
  });
});
