/**
 * Adversarial (issue 4 §5), the initiator's side: a terminator whose certificate does not
 * carry the dialed name, bad bodies on POST /trigger, and bad configuration values. Refusals
 * are coded in the log and counted on /metrics; a real pair keeps delivering alongside; a bad
 * setting stops the process before any socket opens, with one line naming key, value and the
 * expected form (exit 78), so there is no /metrics to count it on.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { issueLeaf } from '../../tools/src/pki.js';
import { delta, scrape } from '../helpers/metrics.js';
import { startLegitPair, type LegitPair } from '../helpers/legit-pair.js';
import { type TestPki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { REPO_ROOT, post, startInitiator, startProcess, startTerminator, type Proc } from '../helpers/procs.js';

let pair: LegitPair;
let pki: TestPki;
let terminator: Proc;
let initiator: Proc;
let initiatorHttp: number;
let initiatorTrigger: number;

before(async () => {
  pair = await startLegitPair({ initiatorEnv: { FERRY_HTTP_BODY_LIMIT_BYTES: '65536' } });
  ({ pki, terminator, initiator, initiatorHttp, initiatorTrigger } = pair);
});

after(async () => {
  await pair?.stop();
});

const legitDelivers = (): Promise<void> => pair.delivers();

describe('the terminator\'s identity', () => {
  test('a terminator certificate without the dialed name is refused by the initiator', async () => {
    const wrongName = issueLeaf({ ca: pki.ca, dir: join(pki.dir, 'wrong-name'), commonName: 'terminator', sans: ['DNS:somewhere-else.example'], usage: 'server' });
    const port = await freePort();
    const impostor = startTerminator({ pki, httpPort: await freePort(), sessionPort: port, cert: wrongName });
    await impostor.waitFor(/terminator up/);
    const http = await freePort();
    const trigger = await freePort();
    const victim = startInitiator({ pki, httpPort: http, triggerPort: trigger, sessionPort: port, env: { FERRY_AUTO_TRIGGER_COUNT: '0' } });
    try {
      const line = await victim.waitFor(/reconnecting in \d+ ms: dial .* failed/);
      assert.match(line, /ERR_TLS_CERT_ALTNAME_INVALID/);
      assert.match(line, /code=FERRY_ERR_TLS/);
      const metrics = await scrape(http);
      assert.ok(delta(new Map(), metrics, 'ferry_handshake_failures_total', { reason: 'ERR_TLS_CERT_ALTNAME_INVALID' }) >= 1);
      assert.equal(victim.matching(/session open/).length, 0, 'no session with the impostor');
      const refused = await post(trigger, '/trigger', { to: 'impostor' });
      assert.equal(refused.status, 503, 'nothing is sent to it');
      assert.equal(impostor.child.exitCode, null);
      await legitDelivers();
    } finally {
      await victim.kill();
      await impostor.kill();
    }
  });
});

describe('POST /trigger', () => {
  const cases: Array<[string, string, number, string, RegExp]> = [
    ['invalid JSON', '{"unterminated": ', 400, 'FERRY_ERR_BAD_REQUEST', /invalid JSON/],
    ['a non-object (an array)', '[1,2,3]', 400, 'FERRY_ERR_BAD_REQUEST', /must be a JSON object, got an array/],
    ['a non-object (a string)', '"just text"', 400, 'FERRY_ERR_BAD_REQUEST', /must be a JSON object, got a string/],
    ['a huge body (1 MiB over a 64 KiB limit)', JSON.stringify({ big: 'x'.repeat(1024 * 1024) }), 413, 'FERRY_ERR_PAYLOAD_TOO_BIG', /larger than http.bodyLimitBytes/],
  ];
  for (const [what, body, status, code, text] of cases) {
    test(`${what} is refused with ${status} ${code}, logged and counted`, async () => {
      const before = await scrape(initiatorHttp);
      const line = initiator.waitForNext(new RegExp(`POST /trigger refused \\(${status}\\): .*code=${code}`), 5_000);
      const res = await post(initiatorTrigger, '/trigger', body, true);
      assert.equal(res.status, status);
      assert.equal(res.body['error'], code);
      assert.match(String(res.body['message']), text);
      assert.match(await line, text);
      const after = await scrape(initiatorHttp);
      assert.equal(delta(before, after, 'ferry_messages_refused_total', { reason: code }), 1);
      await legitDelivers();
    });
  }

  test('the legitimate session never dropped and nothing crashed', () => {
    assert.equal(initiator.matching(/^session open/).length, 1);
    assert.equal(initiator.child.exitCode, null);
    assert.equal(terminator.child.exitCode, null);
  });
});

describe('bad configuration values', () => {
  const app = join(REPO_ROOT, 'initiator', 'app', 'dist', 'app.js');
  const terminatorApp = join(REPO_ROOT, 'terminator', 'app', 'dist', 'app.js');
  const cases: Array<[string, string, Record<string, string>, RegExp]> = [
    ['an unknown armor mode', app, { FERRY_ARMOR_MODE: 'plaintext' }, /invalid config FERRY_ARMOR_MODE="plaintext": expected one of tunnel, tls/],
    ['a ws:// session URL', app, { FERRY_SESSION_URL: 'ws://terminator:8443' }, /invalid config FERRY_SESSION_URL="ws:\/\/terminator:8443": expected a wss:\/\/ URL/],
    ['a negative payload limit', terminatorApp, { FERRY_SESSION_MAX_PAYLOAD_BYTES: '-1' }, /invalid config FERRY_SESSION_MAX_PAYLOAD_BYTES="-1": expected an integer from 4096/],
    ['a rekey beyond the AEAD limit', terminatorApp, { FERRY_ARMOR_REKEY_MESSAGES: String(2 ** 25) }, /invalid config FERRY_ARMOR_REKEY_MESSAGES=.*expected an integer from 1 to 16777216/],
    ['a port out of range', terminatorApp, { FERRY_SESSION_LISTEN_PORT: '70000' }, /invalid config FERRY_SESSION_LISTEN_PORT=.*expected an integer from 1 to 65535/],
    ['a fractional ping interval', app, { FERRY_SESSION_PING_INTERVAL_MS: '500.5' }, /invalid config FERRY_SESSION_PING_INTERVAL_MS=.*expected an integer/],
  ];
  for (const [what, entry, env, expected] of cases) {
    test(`${what} stops the process at start-up with one line naming the key (exit 78)`, async () => {
      const proc = startProcess('app', [entry], { FERRY_TLS_CA_FILE: pki.ca.cert, FERRY_TLS_CERT_FILE: pki.initiator.cert, FERRY_TLS_KEY_FILE: pki.initiator.key, ...env });
      const { code } = await proc.exited;
      assert.equal(code, 78);
      assert.equal(proc.lines.length, 1, proc.lines.join('\n'));
      assert.match(proc.lines[0] ?? '', /^❌ (initiator|terminator) cannot start: \[FERRY_ERR_CONFIG\] /);
      assert.match(proc.lines[0] ?? '', expected);
    });
  }

  test('an unknown key in the mounted config file is refused by name', async () => {
    const file = join(pki.dir, 'typo.yaml');
    writeFileSync(file, 'session:\n  pingIntervalMS: 500\n');
    const proc = startProcess('app', [app], { FERRY_CONFIG_FILE: file, FERRY_TLS_CA_FILE: pki.ca.cert });
    assert.equal((await proc.exited).code, 78);
    assert.match(proc.lines.join('\n'), /\[FERRY_ERR_CONFIG\] invalid config session\.pingIntervalMS=500: expected one of the known keys/);
  });
});
