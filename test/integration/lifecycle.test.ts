/**
 * Graceful shutdown (what Kubernetes does on every rollout): SIGTERM on either side with
 * messages in flight. Nothing accepted is lost, and whoever cannot be served is told.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { makeTestPki, type TestPki } from '../helpers/pki.js';
import { post, startPair } from '../helpers/procs.js';

let pki: TestPki;
before(() => {
  pki = makeTestPki();
});
after(() => pki.cleanup());

test('SIGTERM on the terminator lets the running hook finish and acknowledges it before closing with 1001', async () => {
  const { initiator, terminator, trigger, stop } = await startPair(pki);
  try {
    const pending = post(trigger, '/trigger', { sleepMs: 800 });
    await terminator.waitFor(/^HOOK STARTED /);
    terminator.child.kill('SIGTERM');
    const res = await pending;
    assert.equal(res.status, 200, 'the in-flight message was acknowledged');
    assert.equal(terminator.matching(/^DELIVERED /).length, 1);
    assert.deepEqual(await terminator.exited, { code: 0, signal: null });
    await initiator.waitFor(/session closed .*code=1001/);
  } finally {
    await stop();
  }
});

test('SIGTERM on the initiator drains its outbox before closing, and refuses new triggers meanwhile', async () => {
  const { initiator, terminator, trigger, stop } = await startPair(pki);
  try {
    const inFlight = [1, 2, 3].map((i) => post(trigger, '/trigger', { i, sleepMs: 300 }));
    await terminator.waitFor(/DELIVERED \S+-1 /);
    initiator.child.kill('SIGTERM');
    await initiator.waitFor(/draining/);
    const late = await post(trigger, '/trigger', { late: true }).catch((err: Error) => ({ status: 0, body: { error: err.message } }));
    assert.ok(late.status === 503 || late.status === 0, `a trigger during the drain is refused (got ${late.status})`);
    const results = await Promise.all(inFlight);
    assert.deepEqual(results.map((r) => r.status), [200, 200, 200], 'everything accepted before SIGTERM was delivered');
    assert.deepEqual(await initiator.exited, { code: 0, signal: null });
    assert.equal(terminator.matching(/^DELIVERED /).length, 3);
  } finally {
    await stop();
  }
});

test('an initiator whose drain times out tells its callers the messages were not acknowledged', async () => {
  const { initiator, terminator, trigger, stop } = await startPair(pki, { initiator: { FERRY_SESSION_DRAIN_TIMEOUT_MS: '300' } });
  try {
    const slow = post(trigger, '/trigger', { sleepMs: 3000 });
    // Accepted and on its way: the terminator's hook is running it.
    await terminator.waitFor(/^HOOK STARTED /);
    initiator.child.kill('SIGTERM');
    const res = await slow;
    assert.equal(res.status, 503);
    assert.equal(res.body['error'], 'FERRY_ERR_SHUTTING_DOWN');
    assert.match(String(res.body['message']), /before the message was acknowledged/);
    await initiator.waitFor(/drain timeout: callers told/);
  } finally {
    await stop();
  }
});
