/**
 * The session's life with real processes over real mutual TLS: the shipped apps' auto-trigger,
 * a terminator that starts late or restarts mid-stream, an outsider's certificate, a circuit
 * that opens, and start-up refusing bad configuration.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { makeTestPki, type TestPki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { sample, scrape } from '../helpers/metrics.js';
import { REPO_ROOT, get, post, startInitiator, startProcess, startTerminator } from '../helpers/procs.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';

let pki: TestPki;
before(() => {
  pki = makeTestPki();
});
after(() => pki.cleanup());

describe('the shipped apps', () => {
  test('deliver the auto-trigger and print both lines exactly', async () => {
    const sessionPort = await freePort();
    const terminator = startTerminator({ pki, httpPort: await freePort(), sessionPort });
    const initiator = startInitiator({ pki, httpPort: await freePort(), triggerPort: await freePort(), sessionPort });
    try {
      await initiator.waitFor(/Auto-trigger complete/, 20_000);
      assert.ok(initiator.lines.includes('🔁 Auto-trigger starting — sending 5 messages'));
      assert.ok(initiator.lines.includes('🔁 Auto-trigger complete — 5/5 messages sent.'));
      assert.equal(terminator.matching(/📨 Received [0-9a-f]{16}-\d+: \{"message":"auto-trigger \d\/5"/).length, 5);
    } finally {
      await initiator.kill();
      await terminator.kill();
    }
  });

  test('pass an application/octet-stream trigger through as bytes, which the terminator logs as their length and a hex prefix', async () => {
    const sessionPort = await freePort();
    const http = await freePort();
    const terminator = startTerminator({ pki, httpPort: await freePort(), sessionPort });
    await terminator.waitFor(/terminator up/);
    const trigger = await freePort();
    const initiator = startInitiator({ pki, httpPort: http, triggerPort: trigger, sessionPort, env: { FERRY_AUTO_TRIGGER_COUNT: '0' } });
    try {
      await initiator.waitFor(/session open/);
      const body = Buffer.from('000102030405060708090a0b0c0d0e0f1011121314151617', 'hex');
      const res = await fetch(`http://127.0.0.1:${trigger}/trigger`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body });
      const answer = (await res.json()) as Record<string, unknown>;
      assert.equal(res.status, 200, JSON.stringify(answer));
      await terminator.waitFor(new RegExp(`📨 Received ${String(answer['id'])}: 24 bytes 000102030405060708090a0b0c0d0e0f…$`));
    } finally {
      await initiator.kill();
      await terminator.kill();
    }
  });

  test('drain on SIGTERM: the initiator closes with 1001 and exits 0', async () => {
    const sessionPort = await freePort();
    const terminator = startTerminator({ pki, httpPort: await freePort(), sessionPort });
    const initiator = startInitiator({ pki, httpPort: await freePort(), triggerPort: await freePort(), sessionPort, env: { FERRY_AUTO_TRIGGER_COUNT: '0' } });
    try {
      await initiator.waitFor(/session open/);
      await initiator.kill('SIGTERM');
      assert.deepEqual(await initiator.exited, { code: 0, signal: null });
      await terminator.waitFor(/session closed .*code=1001/);
    } finally {
      await terminator.kill();
    }
  });
});

describe('reconnecting', () => {
  test('a terminator that starts late is reached by retrying, and the auto-trigger then completes', async () => {
    const sessionPort = await freePort();
    const initiatorHttp = await freePort();
    const initiator = startInitiator({ pki, httpPort: initiatorHttp, triggerPort: await freePort(), sessionPort });
    try {
      await initiator.waitFor(/reconnecting in \d+ ms: .*ECONNREFUSED/);
      await new Promise((r) => setTimeout(r, 1000));
      const terminator = startTerminator({ pki, httpPort: await freePort(), sessionPort });
      try {
        await initiator.waitFor(/Auto-trigger complete — 5\/5 messages sent\./, 20_000);
        // One line for the streak's first refused dial, one summary with the count once a session opened.
        assert.equal(initiator.matching(/reconnecting in \d+ ms: .*ECONNREFUSED/).length, 1, 'repeats of one cause are not logged one by one');
        const [summary] = initiator.matching(/dial attempts failed: .*ECONNREFUSED.* \(×\d+ since \d\d:\d\d:\d\d\)/);
        assert.ok(summary && Number(/×(\d+)/.exec(summary)?.[1]) >= 2, `it retried more than once: ${summary}`);
        const metrics = await scrape(initiatorHttp);
        assert.equal(sample(metrics, 'ferry_reconnects_total'), 0, 'dials before the first session are not reconnects');
        assert.ok(sample(metrics, 'ferry_dial_failures_total', { reason: 'ECONNREFUSED' }) >= 2, 'they are dial failures');
      } finally {
        await terminator.kill();
      }
    } finally {
      await initiator.kill();
    }
  });

  test('a terminator killed mid-stream: a new session resends every unacknowledged message', async () => {
    const sessionPort = await freePort();
    const terminatorHttp = await freePort();
    const http = await freePort();
    const trigger = await freePort();
    const options = { pki, httpPort: terminatorHttp, sessionPort, fixture: 'terminator.ts' };
    let terminator = startTerminator(options);
    await terminator.waitFor(/terminator up/);
    const initiator = startInitiator({
      pki,
      httpPort: http, triggerPort: trigger,
      sessionPort,
      fixture: 'initiator.ts',
      env: { FERRY_AUTO_TRIGGER_COUNT: '0', FERRY_SESSION_ACK_TIMEOUT_MS: '30000' },
    });
    try {
      await initiator.waitFor(/session open/);
      const total = 60;
      // Each delivery takes 50 ms, so most of these are still unacknowledged at the kill.
      const responses = Array.from({ length: total }, (_, i) => post(trigger, '/trigger', { i, sleepMs: 50 }));
      await terminator.waitFor(/DELIVERED \S+-10 /, 10_000);
      terminator.child.kill('SIGKILL');
      await terminator.exited;
      const deliveredBefore = terminator.matching(/^DELIVERED /).length;
      terminator = startTerminator(options);
      const results = await Promise.all(responses);
      assert.deepEqual(results.map((r) => r.status), Array(total).fill(200), 'every caller got 200');
      const ids = new Set(results.map((r) => String(r.body['id'])));
      const deliveredAfter = terminator.matching(/^DELIVERED /);
      const seen = new Set([...deliveredAfter.map((l) => l.split(' ')[1])]);
      for (const id of ids) {
        const before = deliveredBefore > 0;
        assert.ok(before, 'the first terminator delivered some');
        if (!seen.has(id)) {
          // Delivered by the first terminator (it printed it before being killed).
          assert.ok(results.some((r) => r.body['id'] === id));
        }
      }
      const redelivered = deliveredAfter.filter((l) => l.endsWith('redelivered=true')).length;
      assert.ok(deliveredAfter.length > 0, 'the second terminator delivered the rest');
      assert.ok(redelivered > 0, 'resent messages are flagged redelivered');
      assert.ok(deliveredBefore + deliveredAfter.length >= total, `every message reached a hook (${deliveredBefore} + ${deliveredAfter.length} ≥ ${total})`);
      assert.equal(initiator.matching(/session open/).length, 2, 'exactly one new session');
      const metrics = await scrape(http);
      assert.ok(sample(metrics, 'ferry_reconnects_total') >= 1, 'the dials after the lost session are reconnects');
      assert.equal(sample(metrics, 'ferry_sessions_closed_total', { reason: 'FERRY_ERR_PEER_GONE' }), 1, 'a killed peer (1006) is FERRY_ERR_PEER_GONE');
      assert.equal(sample(metrics, 'ferry_sessions_closed_total'), 1, 'and counted once');
    } finally {
      await initiator.kill();
      await terminator.kill();
    }
  });

  test('after reconnect.maxRetries failures the circuit opens: one clear line, /readyz fails', async () => {
    const http = await freePort();
    const trigger = await freePort();
    const initiator = startInitiator({ pki, httpPort: http, triggerPort: trigger, sessionPort: await freePort(), env: { FERRY_RECONNECT_MAX_RETRIES: '3' } });
    try {
      const line = await initiator.waitFor(/circuit open/, 10_000);
      assert.match(line, /3 connection attempts in a row failed/);
      const ready = await get(http, '/readyz');
      assert.equal(ready.status, 503);
      assert.match(ready.text, /circuit open/);
      const refused = await post(trigger, '/trigger', { late: true });
      assert.equal(refused.status, 503);
      assert.equal(refused.body['error'], 'FERRY_ERR_CIRCUIT_OPEN');
    } finally {
      await initiator.kill();
    }
  });
});

describe('authentication', () => {
  test('a client presenting a certificate from another CA is refused, and the terminator log names the cause', async () => {
    const sessionPort = await freePort();
    const terminator = startTerminator({ pki, httpPort: await freePort(), sessionPort });
    await terminator.waitFor(/terminator up/);
    try {
      // An outsider that trusts the bundle CA (so it gets as far as sending its certificate)
      // but holds a certificate another CA issued.
      const socket = connect({
        host: '127.0.0.1',
        port: sessionPort,
        servername: 'localhost',
        ca: readFileSync(pki.ca.cert),
        cert: readFileSync(pki.rogue.initiator.cert),
        key: readFileSync(pki.rogue.initiator.key),
        minVersion: 'TLSv1.3',
      });
      const outcome = await new Promise<string>((resolve) => {
        socket.on('error', (err) => resolve(`error ${err.message}`));
        socket.on('close', () => resolve('closed'));
        socket.on('secureConnect', () => socket.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n'));
        socket.on('data', (d) => resolve(`data ${d.toString()}`));
      });
      assert.doesNotMatch(outcome, /^data/, 'the outsider got no answer');
      const refused = await terminator.waitFor(/TLS handshake refused/);
      assert.match(refused, /code=FERRY_ERR_TLS/);
      assert.match(refused, /certificate/i);
      const metrics = await get(Number(terminator.lines[0]?.match(/http=127\.0\.0\.1:(\d+)/)?.[1]), '/metrics');
      assert.match(metrics.text, /ferry_handshake_failures_total\{reason="[A-Z_]+",role="terminator"\} 1/);
    } finally {
      await terminator.kill();
    }
  });

  test('a terminator whose certificate comes from another CA is refused by the initiator', async () => {
    const sessionPort = await freePort();
    const terminator = startTerminator({ pki, httpPort: await freePort(), sessionPort, cert: pki.rogue.terminator, ca: pki.rogue.ca.cert });
    await terminator.waitFor(/terminator up/);
    const initiator = startInitiator({ pki, httpPort: await freePort(), triggerPort: await freePort(), sessionPort });
    try {
      const line = await initiator.waitFor(/reconnecting in \d+ ms: dial .* failed/);
      assert.match(line, /code=FERRY_ERR_TLS/);
      assert.equal(initiator.matching(/session open/).length, 0);
    } finally {
      await initiator.kill();
      await terminator.kill();
    }
  });
});

describe('start-up checks', () => {
  const app = join(REPO_ROOT, 'initiator', 'app', 'dist', 'app.js');

  test('a malformed setting stops the process with one line naming key, value and expected form', async () => {
    const proc = startProcess('initiator', [app], { FERRY_SESSION_PING_INTERVAL_MS: 'soon', FERRY_TLS_CA_FILE: pki.ca.cert });
    const { code } = await proc.exited;
    assert.equal(code, 78);
    assert.deepEqual(proc.lines, ['❌ initiator cannot start: [FERRY_ERR_CONFIG] invalid config FERRY_SESSION_PING_INTERVAL_MS="soon": expected an integer from 100 to 86400000']);
  });

  test('a missing certificate stops the process naming the file and the fix', async () => {
    const proc = startProcess('initiator', [app], { FERRY_TLS_CA_FILE: pki.ca.cert, FERRY_TLS_CERT_FILE: '/nonexistent/tls.crt', FERRY_TLS_KEY_FILE: pki.initiator.key });
    const { code } = await proc.exited;
    assert.equal(code, 78);
    assert.equal(proc.lines.length, 1);
    assert.match(proc.lines[0] ?? '', /\[FERRY_ERR_CERT\] cannot read the certificate \/nonexistent\/tls\.crt \(tls\.certFile\): ENOENT: regenerate with/);
  });

  test('a key that does not belong to the certificate is refused before any socket opens', async () => {
    const http = await freePort();
    const trigger = await freePort();
    const proc = startProcess('initiator', [app], { FERRY_HTTP_PORT: String(http), FERRY_TLS_CA_FILE: pki.ca.cert, FERRY_TLS_CERT_FILE: pki.initiator.cert, FERRY_TLS_KEY_FILE: pki.terminator.key });
    const { code } = await proc.exited;
    assert.equal(code, 78);
    assert.match(proc.lines.join('\n'), /does not belong to the certificate/);
    await assert.rejects(fetch(`http://127.0.0.1:${http}/healthz`), 'the HTTP port was never opened');
  });
});

