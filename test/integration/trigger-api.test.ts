/**
 * The initiator's HTTP contract, end to end: real initiator and terminator processes over
 * mutual TLS on loopback. A 200 means the terminator's hook ran; every refusal names its cause.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTestPki, type TestPki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { get, post, startInitiator, startTerminator, type Proc } from '../helpers/procs.js';

describe('POST /trigger against a live terminator', () => {
  let pki: TestPki;
  let terminator: Proc;
  let initiator: Proc;
  let http: number;
  let trigger: number;
  const dir = mkdtempSync(join(tmpdir(), 'ferry-trigger-api-'));
  const deliveries = join(dir, 'delivered.log');

  before(async () => {
    pki = makeTestPki();
    const sessionPort = await freePort();
    http = await freePort();
    trigger = await freePort();
    terminator = startTerminator({ pki, httpPort: await freePort(), sessionPort, fixture: 'terminator.ts', env: { FERRY_TEST_DELIVERY_FILE: deliveries } });
    await terminator.waitFor(/terminator up/);
    initiator = startInitiator({
      pki,
      httpPort: http, triggerPort: trigger,
      sessionPort,
      fixture: 'initiator.ts',
      env: { FERRY_SESSION_ACK_TIMEOUT_MS: '1500', FERRY_HTTP_BODY_LIMIT_BYTES: '4096', FERRY_AUTO_TRIGGER_COUNT: '0' },
    });
    await initiator.waitFor(/session open/);
  });

  after(async () => {
    await initiator?.kill();
    await terminator?.kill();
    pki?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  test('answers 200 with the message id only after the terminator hook ran', async () => {
    const res = await post(trigger, '/trigger', { hello: 'world' });
    assert.equal(res.status, 200);
    assert.equal(res.body['status'], 'delivered');
    assert.match(String(res.body['id']), /^[0-9a-f]{16}-\d+$/);
    assert.equal(typeof res.body['seq'], 'number');
    // The hook wrote its file before it returned, and the ack leaves only after that.
    const delivered = existsSync(deliveries) ? readFileSync(deliveries, 'utf8').split('\n') : [];
    assert.ok(delivered.includes(String(res.body['id'])), `the hook ran before the 200 (delivered: ${delivered.join(' ')})`);
  });

  test('gives consecutive sequence numbers to consecutive messages', async () => {
    const a = await post(trigger, '/trigger', { n: 1 });
    const b = await post(trigger, '/trigger', { n: 2 });
    assert.equal(Number(b.body['seq']), Number(a.body['seq']) + 1);
  });

  test('refuses invalid JSON with 400 naming the parse error', async () => {
    const res = await post(trigger, '/trigger', '{"unterminated', true);
    assert.equal(res.status, 400);
    assert.equal(res.body['error'], 'FERRY_ERR_BAD_REQUEST');
    assert.match(String(res.body['message']), /invalid JSON/);
  });

  test('refuses a JSON array with 400 saying an object is required', async () => {
    const res = await post(trigger, '/trigger', [1, 2, 3]);
    assert.equal(res.status, 400);
    assert.match(String(res.body['message']), /must be a JSON object, got an array/);
  });

  test('refuses a body over http.bodyLimitBytes with 413', async () => {
    const res = await post(trigger, '/trigger', { big: 'x'.repeat(8192) });
    assert.equal(res.status, 413);
    assert.equal(res.body['error'], 'FERRY_ERR_PAYLOAD_TOO_BIG');
  });

  test('answers 422 with the hook message when on_trigger throws', async () => {
    const res = await post(trigger, '/trigger', { reject: 'customer id missing' });
    assert.equal(res.status, 422);
    assert.equal(res.body['error'], 'FERRY_ERR_HOOK_FAILED');
    assert.match(String(res.body['message']), /customer id missing/);
    assert.equal(res.body['hook'], 'on_trigger');
  });

  test('answers 422 when on_trigger returns something that is not an object', async () => {
    const res = await post(trigger, '/trigger', { returnArray: true });
    assert.equal(res.status, 422);
    assert.equal(res.body['error'], 'FERRY_ERR_HOOK_RESULT');
  });

  test("answers 502 when the terminator's hook throws, and the session survives", async () => {
    const res = await post(trigger, '/trigger', { fail: 'database down' });
    assert.equal(res.status, 502);
    assert.equal(res.body['error'], 'FERRY_ERR_REMOTE_HOOK');
    assert.match(String(res.body['message']), /database down/);
    // Logged on both sides: where the hook failed, and where the caller was answered 502.
    await terminator.waitFor(/WARN on_receive_terminator failed: .*database down/, 5000);
    await initiator.waitFor(/WARN message [0-9a-f]{16}-\d+ not delivered: the terminator's on_receive_terminator failed: .*database down \(its caller was told FERRY_ERR_REMOTE_HOOK\)/, 5000);
    const next = await post(trigger, '/trigger', { after: 'failure' });
    assert.equal(next.status, 200);
    assert.equal(initiator.matching(/session open/).length, 1, 'no reconnect happened');
  });

  test('answers 504 when no acknowledgement comes within session.ackTimeoutMs', async () => {
    // Armed before the POST: the hook's last line, which comes a second after the 504.
    const hookDone = terminator.waitForNext(/^DELIVERED /, 10_000);
    const res = await post(trigger, '/trigger', { sleepMs: 2500 });
    assert.equal(res.status, 504);
    assert.equal(res.body['error'], 'FERRY_ERR_ACK_TIMEOUT');
    assert.match(String(res.body['message']), /may still be delivered/);
    // The hook runs on after the 504 ("may still be delivered"). The terminator hands messages
    // to it one at a time, so the tests below would queue behind it and spend most of their
    // own ackTimeoutMs waiting: wait for it here.
    await hookDone;
  });

  test('answers 405 to other methods on /trigger and JSON 404 elsewhere', async () => {
    const res = await fetch(`http://127.0.0.1:${trigger}/trigger`);
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'POST');
    const missing = await get(http, '/nope');
    assert.equal(missing.status, 404);
    assert.match(missing.text, /FERRY_ERR_NOT_FOUND/);
  });

  test('reports ready while the session is open', async () => {
    const res = await get(http, '/readyz');
    assert.equal(res.status, 200);
    assert.match(res.text, /session [0-9a-f]{16} open/);
    assert.equal((await get(http, '/healthz')).status, 200);
  });

  test('exposes delivery metrics with units in their names', async () => {
    const res = await get(http, '/metrics');
    assert.equal(res.status, 200);
    const delivered = /ferry_messages_delivered_total\{role="initiator"\} (\d+)/.exec(res.text);
    assert.ok(delivered && Number(delivered[1]) >= 3, 'the delivered counter counts the deliveries above');
    assert.match(res.text, /ferry_delivery_latency_seconds_bucket/);
    assert.match(res.text, /^ferry_messages_failed_total\{reason="FERRY_ERR_REMOTE_HOOK",role="initiator"\} [1-9]/m, "the 502 above is a failed delivery");
    assert.doesNotMatch(res.text, /ferry_messages_refused_total\{reason="FERRY_ERR_REMOTE_HOOK"/, 'a failed delivery is not a refusal');
    assert.match(res.text, /ferry_hook_errors_total\{hook="on_trigger",reason="FERRY_ERR_HOOK_FAILED",role="initiator"\} 1/);
    assert.match(res.text, /ferry_outbox_depth\{role="initiator"\} \d+/);
  });

  test('streams a reply from the terminator back to the initiator hook', async () => {
    const res = await post(trigger, '/trigger', { reply: 'pong-42' });
    assert.equal(res.status, 200);
    await initiator.waitFor(/REPLY \{"answer":"pong-42"\}/, 5000);
  });
});

describe('POST /trigger with no terminator', () => {
  test('answers 503 with Retry-After while no session can be had', async () => {
    const pki = makeTestPki();
    const http = await freePort();
    const trigger = await freePort();
    const initiator = startInitiator({ pki, httpPort: http, triggerPort: trigger, sessionPort: await freePort(), fixture: 'initiator.ts' });
    try {
      await initiator.waitFor(/initiator up/);
      const res = await post(trigger, '/trigger', { hello: 'nobody' });
      assert.equal(res.status, 503);
      assert.equal(res.body['error'], 'FERRY_ERR_NO_SESSION');
      assert.ok(Number(res.headers.get('retry-after')) >= 1);
      const ready = await get(http, '/readyz');
      assert.equal(ready.status, 503);
      assert.match(ready.text, /no session/);
    } finally {
      await initiator.kill();
      pki.cleanup();
    }
  });
});
