/**
 * POST /trigger across a terminator restart (issue 12 §3), real processes over real TLS: once a
 * session opened, a request that arrives while the initiator reconnects waits in the outbox
 * and is answered 200 when the next session delivers it; 504 at session.ackTimeoutMs, the
 * message still queued and delivered later; 503 when the outbox is full or the process
 * drains. /readyz stays 200 while reconnecting (it accepts work) for up to session.ackTimeoutMs
 * and says so. The auto-trigger
 * rides through a restart too and still reports every message acknowledged.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { makeTestPki, type TestPki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { eventually, get, post, startInitiator, startTerminator, type Proc } from '../helpers/procs.js';

let pki: TestPki;
before(() => {
  pki = makeTestPki();
});
after(() => pki.cleanup());

async function pairOn(env: Record<string, string> = {}): Promise<{ sessionPort: number; http: number; trigger: number; terminator: Proc; initiator: Proc }> {
  const sessionPort = await freePort();
  const http = await freePort();
  const trigger = await freePort();
  const terminator = startTerminator({ pki, httpPort: await freePort(), sessionPort, fixture: 'terminator.ts' });
  await terminator.waitFor(/terminator up/);
  const initiator = startInitiator({ pki, httpPort: http, triggerPort: trigger, sessionPort, fixture: 'initiator.ts', env: { FERRY_AUTO_TRIGGER_COUNT: '0', ...env } });
  await initiator.waitFor(/^session open/);
  return { sessionPort, http, trigger, terminator, initiator };
}

test('a request that arrives while the terminator is away is answered 200 once the restarted terminator got it; /readyz stays 200', async () => {
  const { sessionPort, http, trigger, terminator, initiator } = await pairOn();
  let restarted: Proc | undefined;
  try {
    assert.equal((await post(trigger, '/trigger', { before: true })).status, 200);
    const closed = initiator.waitForNext(/session closed/);
    terminator.child.kill('SIGKILL');
    await closed;
    const waiting = post(trigger, '/trigger', { during: 'restart' });
    await eventually(async () => /messages are queued: 1 of/.test((await get(http, '/readyz')).text), 5_000, 'the request queued');
    const ready = await get(http, '/readyz');
    assert.equal(ready.status, 200);
    assert.match(ready.text, /reconnecting \((backoff|connecting|handshaking), \d+ failed attempts, no session for \d+ ms; messages are queued: 1 of 10000\)/);
    restarted = startTerminator({ pki, httpPort: await freePort(), sessionPort, fixture: 'terminator.ts' });
    const answer = await waiting;
    assert.equal(answer.status, 200);
    assert.equal(answer.body['status'], 'delivered');
    assert.equal(restarted.matching(new RegExp(`^DELIVERED ${String(answer.body['id'])} `)).length, 1, 'the restarted terminator ran its hook for it');
    assert.match((await get(http, '/readyz')).text, /session [0-9a-f]{16} open/);
  } finally {
    await initiator.kill();
    await restarted?.kill();
  }
});

test('while reconnecting: 504 at session.ackTimeoutMs with the message still delivered later, /readyz 503 from then on, 503 when the outbox is full', async () => {
  const { sessionPort, http, trigger, terminator, initiator } = await pairOn({ FERRY_SESSION_ACK_TIMEOUT_MS: '400', FERRY_SESSION_OUTBOX_LIMIT: '2' });
  let restarted: Proc | undefined;
  try {
    const closed = initiator.waitForNext(/session closed/);
    terminator.child.kill('SIGKILL');
    await closed;
    const [late, second] = await Promise.all([post(trigger, '/trigger', { late: 1 }), post(trigger, '/trigger', { late: 2 })]);
    for (const res of [late, second]) {
      assert.equal(res.status, 504);
      assert.equal(res.body['error'], 'FERRY_ERR_ACK_TIMEOUT');
      assert.match(String(res.body['message']), /stays queued and may still be delivered/);
    }
    // No session for longer than callers wait: unready, so a Service prefers a replica that can deliver.
    const unready = await get(http, '/readyz');
    assert.equal(unready.status, 503);
    assert.match(unready.text, /reconnecting for longer than session.ackTimeoutMs=400 \(.*no session for \d+ ms; messages are queued: 2 of 2\)/);
    const full = await post(trigger, '/trigger', { late: 3 });
    assert.equal(full.status, 503);
    assert.equal(full.body['error'], 'FERRY_ERR_OUTBOX_FULL');
    assert.ok(Number(full.headers.get('retry-after')) >= 1);
    restarted = startTerminator({ pki, httpPort: await freePort(), sessionPort, fixture: 'terminator.ts' });
    // The two that timed out for their callers are still delivered, once each.
    await restarted.waitFor(/^DELIVERED \S+-2 /, 10_000);
    assert.equal(restarted.matching(/^DELIVERED /).length, 2);
    assert.equal((await get(http, '/readyz')).status, 200, 'ready again with a session');
  } finally {
    await initiator.kill();
    await restarted?.kill();
  }
});

test('a request waiting for a session when the initiator drains is answered 503 FERRY_ERR_SHUTTING_DOWN once the drain times out with no terminator back', async () => {
  const { http, trigger, terminator, initiator } = await pairOn({ FERRY_SESSION_DRAIN_TIMEOUT_MS: '500' });
  try {
    const closed = initiator.waitForNext(/session closed/);
    terminator.child.kill('SIGKILL');
    await closed;
    const waiting = post(trigger, '/trigger', { never: 'delivered' });
    await eventually(async () => /messages are queued: 1 of/.test((await get(http, '/readyz')).text), 5_000, 'the request queued');
    initiator.child.kill('SIGTERM');
    const answer = await waiting;
    assert.equal(answer.status, 503);
    assert.equal(answer.body['error'], 'FERRY_ERR_SHUTTING_DOWN');
    assert.equal((await initiator.exited).code, 0);
  } finally {
    await initiator.kill();
  }
});

test('SIGTERM while the terminator restarts: the initiator keeps dialing during its drain, the queued request is answered 200 and the process exits 0', async () => {
  const { sessionPort, http, trigger, terminator, initiator } = await pairOn({ FERRY_SESSION_DRAIN_TIMEOUT_MS: '20000' });
  let restarted: Proc | undefined;
  try {
    const closed = initiator.waitForNext(/session closed/);
    terminator.child.kill('SIGKILL');
    await closed;
    const waiting = post(trigger, '/trigger', { during: 'drain' });
    await eventually(async () => /messages are queued: 1 of/.test((await get(http, '/readyz')).text), 5_000, 'the request queued');
    const draining = initiator.waitForNext(/draining/);
    initiator.child.kill('SIGTERM');
    await draining;
    restarted = startTerminator({ pki, httpPort: await freePort(), sessionPort, fixture: 'terminator.ts' });
    const answer = await waiting;
    assert.equal(answer.status, 200);
    assert.equal(answer.body['status'], 'delivered');
    assert.equal(restarted.matching(new RegExp(`^DELIVERED ${String(answer.body['id'])} `)).length, 1, 'the restarted terminator ran its hook for it');
    assert.equal((await initiator.exited).code, 0);
  } finally {
    await initiator.kill();
    await restarted?.kill();
  }
});

test('the auto-trigger rides through a terminator kill -9 and still reports N/N messages sent', async () => {
  const COUNT = 30_000;
  const dir = mkdtempSync(join(tmpdir(), 'ferry-auto-'));
  const deliveries = join(dir, 'deliveries.log');
  const sessionPort = await freePort();
  const options = { pki, httpPort: await freePort(), sessionPort, fixture: 'recording-terminator.ts', env: { FERRY_TEST_DELIVERY_FILE: deliveries } };
  let terminator = startTerminator(options);
  await terminator.waitFor(/terminator up/);
  const initiator = startInitiator({ pki, httpPort: await freePort(), triggerPort: await freePort(), sessionPort, fixture: 'initiator.ts', env: { FERRY_AUTO_TRIGGER_COUNT: String(COUNT) } });
  const lines = (): number => (existsSync(deliveries) ? readFileSync(deliveries, 'utf8').split('\n').length : 0);
  try {
    await eventually(() => lines() > 3_000, 20_000, 'the first deliveries');
    assert.equal(initiator.matching(/Auto-trigger complete/).length, 0, 'the auto-trigger was still running at the kill');
    terminator.child.kill('SIGKILL');
    await terminator.exited;
    terminator = startTerminator(options);
    const done = await initiator.waitFor(/Auto-trigger complete/, 60_000);
    assert.match(done, new RegExp(`Auto-trigger complete — ${COUNT}/${COUNT} messages sent\\.$`), 'every message acknowledged, no failure appended');
    assert.equal(initiator.matching(/^session open/).length, 2);
  } finally {
    await initiator.kill();
    await terminator.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});
