/**
 * No hot loop (issue 12 §2): a terminator that refuses every stream right after the session
 * opened (FERRY_ERR_SEQUENCE, as a replica that cannot follow the stream does) must meet a
 * growing backoff and, with reconnect.maxRetries, an open circuit; the initiator's log names
 * the cause once per streak, with a count, not once per attempt. Real processes, real TLS.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { scrape, sample } from '../helpers/metrics.js';
import { makeTestPki, type TestPki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { get, post, startInitiator, startTerminator } from '../helpers/procs.js';

let pki: TestPki;
before(() => {
  pki = makeTestPki();
});
after(() => pki.cleanup());

const MAX_RETRIES = 6;

test('a terminator that refuses the stream right after open: backoff grows, the circuit opens at maxRetries, one log line per streak', async () => {
  const sessionPort = await freePort();
  const http = await freePort();
  const trigger = await freePort();
  const terminator = startTerminator({ pki, httpPort: await freePort(), sessionPort, fixture: 'refusing-terminator.ts' });
  await terminator.waitFor(/terminator up/);
  const initiator = startInitiator({
    pki,
    httpPort: http,
    triggerPort: trigger,
    sessionPort,
    fixture: 'initiator.ts',
    env: { FERRY_AUTO_TRIGGER_COUNT: '0', FERRY_RECONNECT_INTERVAL_MS: '100', FERRY_RECONNECT_GROWTH: '2', FERRY_RECONNECT_MAX_DELAY_MS: '5000', FERRY_RECONNECT_MAX_RETRIES: String(MAX_RETRIES) },
  });
  try {
    await initiator.waitFor(/^session open/, 10_000);
    // Accepted while reconnecting (a session opened once); told 503 when the circuit opens.
    const caller = post(trigger, '/trigger', { queued: 'while refused' });
    const circuit = await initiator.waitFor(/circuit open/, 20_000);
    assert.match(circuit, new RegExp(`${MAX_RETRIES} connection attempts in a row failed`));
    assert.match(circuit, /FERRY_ERR_SEQUENCE/);
    const answer = await caller;
    assert.equal(answer.status, 503);
    assert.equal(answer.body['error'], 'FERRY_ERR_CIRCUIT_OPEN');

    // Every failed session was one attempt: exactly maxRetries sessions, then none.
    const sessions = initiator.matching(/^session open/).length;
    assert.equal(sessions, MAX_RETRIES, 'one session per attempt until the circuit opened');
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(initiator.matching(/^session open/).length, MAX_RETRIES, 'no session after the circuit opened');
    assert.equal(terminator.matching(/^REFUSED /).length, MAX_RETRIES);

    // The dial loop's lines: the first failure of the streak, then one summary with the count.
    const firsts = initiator.matching(/WARN reconnecting in \d+ ms: .*FERRY_ERR_SEQUENCE/);
    assert.equal(firsts.length, 1, `one line for the streak's first failure, got: ${firsts.join(' | ')}`);
    assert.match(firsts[0] ?? '', /attempt=1 delayCeilingMs=100\b/);
    const summaries = initiator.matching(/WARN session ended: .*FERRY_ERR_SEQUENCE.*\(×\d+ since \d\d:\d\d:\d\d\)/);
    assert.equal(summaries.length, 1, 'one summary line for the streak');
    // The backoff grew: its ceiling doubled with each failed session (100 ms → 1600 ms).
    assert.match(summaries[0] ?? '', new RegExp(`×${MAX_RETRIES - 1} since .*attempt=${MAX_RETRIES - 1} delayCeilingMs=1600\\b`));

    const ready = await get(http, '/readyz');
    assert.equal(ready.status, 503);
    assert.match(ready.text, /circuit open/);
    const metrics = await scrape(http);
    assert.equal(sample(metrics, 'ferry_reconnects_total'), MAX_RETRIES - 1);
    assert.equal(sample(metrics, 'ferry_circuit_open'), 1);
  } finally {
    await initiator.kill();
    await terminator.kill();
  }
});
