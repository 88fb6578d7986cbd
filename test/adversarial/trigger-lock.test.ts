/**
 * Adversarial (issue 15 §5), who may put messages into the stream: POST /trigger has a port of
 * its own (http.triggerPort), so the probes port a cluster's monitoring reaches cannot send;
 * with http.triggerTokenFile it takes a bearer token, and anything else is answered 401 before
 * its body is read or on_trigger runs. Real shipped-app fixtures on loopback: a pair with a
 * token delivers a steady authorized trickle the whole time, which must all be answered 200
 * with /readyz 200, while strangers knock; only authorized triggers reach the terminator.
 * A token file that cannot be used, or a trigger port that cannot be opened, stops the app at
 * start-up with one line.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { delta, scrape } from '../helpers/metrics.js';
import { startLegitPair, type LegitPair, type Trickle } from '../helpers/legit-pair.js';
import { makeTestPki, type TestPki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { REPO_ROOT, eventually, exitsWithin, get, post, startProcess, type Proc } from '../helpers/procs.js';

const TOKEN = 'f3rry-trigger-token-0123456789';
const INITIATOR_APP = join(REPO_ROOT, 'initiator', 'app', 'dist', 'app.js');
/** A refusal at start-up takes a Node start-up; still up after this, the app is running anyway. */
const EXIT_WITHIN_MS = 10_000;

let pair: LegitPair;
let pki: TestPki;
let terminator: Proc;
let initiator: Proc;
let http: number;
let trigger: number;
const bearer = { authorization: `Bearer ${TOKEN}` };
/** Every POST answered 200 (trickle and tests): the terminator must have delivered exactly these. */
let delivered = 0;
let trickle: Trickle;

before(async () => {
  pki = makeTestPki();
  const tokenFile = join(pki.dir, 'trigger-token');
  // As a mounted Secret made with --from-file often is: with a final newline.
  writeFileSync(tokenFile, `${TOKEN}\n`);
  pair = await startLegitPair({ pki, initiatorEnv: { FERRY_HTTP_TRIGGER_TOKEN_FILE: tokenFile } });
  ({ terminator, initiator, initiatorHttp: http, initiatorTrigger: trigger } = pair);
  trickle = pair.startTrickle({
    everyMs: 100,
    readyz: true,
    headers: bearer,
    onAnswer: ({ status }) => {
      if (status === 200) delivered += 1;
    },
  });
});

after(async () => {
  await pair?.stop();
});

describe('the probes port does not take /trigger', () => {
  for (const method of ['POST', 'GET', 'PUT']) {
    test(`${method} /trigger on http.port is 404, naming the trigger port (token or not)`, async () => {
      const res = await fetch(`http://127.0.0.1:${http}/trigger`, { method, headers: { 'content-type': 'application/json', ...bearer }, ...(method === 'GET' ? {} : { body: '{"stranger":true}' }) });
      const body = (await res.json()) as Record<string, unknown>;
      assert.equal(res.status, 404);
      assert.equal(body['error'], 'FERRY_ERR_NOT_FOUND');
      assert.equal(body['message'], `${method} /trigger is served on port ${trigger} (http.triggerPort), not on this port, which serves /healthz, /readyz and /metrics only`);
    });
  }

  test('the probes and /metrics stay on http.port, and the trigger port serves none of them', async () => {
    assert.equal((await get(http, '/healthz')).status, 200);
    assert.equal((await get(http, '/readyz')).status, 200);
    assert.match((await get(http, '/metrics')).text, /ferry_messages_refused_total/);
    for (const path of ['/healthz', '/readyz', '/metrics']) assert.equal((await get(trigger, path)).status, 404, path);
  });
});

describe('POST /trigger with http.triggerTokenFile set', () => {
  const cases: Array<[string, Record<string, string>, RegExp, string]> = [
    ['no Authorization header', {}, /needs an Authorization: Bearer <token> header/, 'Bearer realm="fast-ferry"'],
    ['a wrong token of the same length', { authorization: `Bearer ${TOKEN.replace(/.$/, 'X')}` }, /the bearer token does not match http\.triggerTokenFile/, 'Bearer realm="fast-ferry", error="invalid_token"'],
    ['a prefix of the token', { authorization: `Bearer ${TOKEN.slice(0, 8)}` }, /does not match/, 'Bearer realm="fast-ferry", error="invalid_token"'],
    ['the token and more', { authorization: `Bearer ${TOKEN}x` }, /does not match/, 'Bearer realm="fast-ferry", error="invalid_token"'],
    ['the token as Basic credentials', { authorization: `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}` }, /needs an Authorization: Bearer/, 'Bearer realm="fast-ferry"'],
    ['an empty bearer', { authorization: 'Bearer ' }, /needs an Authorization: Bearer/, 'Bearer realm="fast-ferry"'],
  ];
  for (const [name, headers, message, challenge] of cases) {
    test(`${name}: 401 FERRY_ERR_UNAUTHORIZED with WWW-Authenticate, logged and counted, not delivered`, async () => {
      const before = await scrape(http);
      const line = initiator.waitForNext(/POST \/trigger refused \(401\): .*code=FERRY_ERR_UNAUTHORIZED/, 5_000);
      const res = await post(trigger, '/trigger', { stranger: name }, false, headers);
      assert.equal(res.status, 401);
      assert.equal(res.body['error'], 'FERRY_ERR_UNAUTHORIZED');
      assert.match(String(res.body['message']), message);
      assert.equal(res.headers.get('www-authenticate'), challenge);
      await line;
      const after = await scrape(http);
      assert.equal(delta(before, after, 'ferry_messages_refused_total', { reason: 'FERRY_ERR_UNAUTHORIZED' }), 1);
    });
  }

  test('the right token: 200 delivered (also with a lower-case scheme)', async () => {
    for (const authorization of [`Bearer ${TOKEN}`, `bearer ${TOKEN}`]) {
      const res = await post(trigger, '/trigger', { authorized: authorization.slice(0, 6) }, false, { authorization });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body['status'], 'delivered');
      delivered += 1;
    }
  });

  test('a stranger without the token cannot make the initiator read a large body', async () => {
    const res = await fetch(`http://127.0.0.1:${trigger}/trigger`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ big: 'x'.repeat(4 * 1024 * 1024) }) }).catch((err: Error) => err);
    // Answered 401 before the body is read (the connection is closed after it); a client still
    // writing may see the close as a reset instead. Either way it was not 200 and not 413.
    if (!(res instanceof Error)) assert.equal(res.status, 401);
  });
});

describe('the legitimate session', () => {
  test('delivered every authorized trigger and nothing else, stayed ready, never dropped', async () => {
    // The cases above take well under a second: let the trickle reach a count worth checking.
    await eventually(() => trickle.answers.length >= 10, 15_000, 'ten trickle triggers');
    await pair.assertUnharmed(10);
    assert.equal(terminator.matching(/^DELIVERED /).length, delivered, 'the terminator received exactly the authorized triggers');
    assert.equal((await get(http, '/readyz')).status, 200);
  });
});

/** Starts the shipped initiator with `env` on top of loopback ports; resolves once it exits. */
async function startRefused(env: Record<string, string>, ports: { http?: number; trigger?: number } = {}): Promise<{ code: number | null; lines: string[]; http: number }> {
  const httpPort = ports.http ?? (await freePort());
  const proc: Proc = startProcess('initiator', [INITIATOR_APP], {
    FERRY_HTTP_HOST: '127.0.0.1',
    FERRY_HTTP_PORT: String(httpPort),
    FERRY_HTTP_TRIGGER_PORT: String(ports.trigger ?? (await freePort())),
    FERRY_SESSION_URL: `wss://localhost:${await freePort()}`,
    FERRY_TLS_CA_FILE: pki.ca.cert,
    FERRY_TLS_CERT_FILE: pki.initiator.cert,
    FERRY_TLS_KEY_FILE: pki.initiator.key,
    FERRY_AUTO_TRIGGER_COUNT: '0',
    ...env,
  });
  const code = await exitsWithin(proc, EXIT_WITHIN_MS, JSON.stringify(env));
  return { code, lines: proc.lines, http: httpPort };
}

describe('a trigger lock that cannot work stops the initiator at start-up, with one line', () => {
  test('an empty token file: exit 78 naming the key and the file, no port opened', async () => {
    const file = join(pki.dir, 'empty-token');
    writeFileSync(file, ' \n');
    const r = await startRefused({ FERRY_HTTP_TRIGGER_TOKEN_FILE: file });
    assert.equal(r.code, 78, r.lines.join('\n'));
    assert.deepEqual(r.lines, [`❌ initiator cannot start: [FERRY_ERR_CONFIG] http.triggerTokenFile ${file} is empty; put the token in it, or set http.triggerTokenFile to "" for no token`]);
    await assert.rejects(fetch(`http://127.0.0.1:${r.http}/healthz`), 'the probes port was never opened');
  });

  test('a token file that cannot be read: exit 78 naming the key and the file', async () => {
    const file = join(pki.dir, 'no-such-token');
    const r = await startRefused({ FERRY_HTTP_TRIGGER_TOKEN_FILE: file });
    assert.equal(r.code, 78, r.lines.join('\n'));
    assert.equal(r.lines.length, 1, r.lines.join('\n'));
    assert.match(r.lines[0] ?? '', new RegExp(`^❌ initiator cannot start: \\[FERRY_ERR_CONFIG\\] http\\.triggerTokenFile ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} cannot be read \\(ENOENT`));
  });

  test('http.triggerPort equal to http.port: exit 78 naming both keys', async () => {
    const port = await freePort();
    const r = await startRefused({}, { http: port, trigger: port });
    assert.equal(r.code, 78, r.lines.join('\n'));
    assert.deepEqual(r.lines, [`❌ initiator cannot start: [FERRY_ERR_CONFIG] http.triggerPort and http.port are both ${port}; /trigger needs a port of its own (the default is 8081)`]);
  });

  test('a trigger port already taken: exit 1 with FERRY_ERR_STARTUP, not a process that answers its probes', async () => {
    const taken = await freePort();
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(taken, '127.0.0.1', resolve));
    try {
      const r = await startRefused({}, { trigger: taken });
      assert.equal(r.code, 1, r.lines.join('\n'));
      assert.equal(r.lines.length, 1, r.lines.join('\n'));
      assert.match(r.lines[0] ?? '', new RegExp(`^❌ initiator cannot start: \\[FERRY_ERR_STARTUP\\] listen EADDRINUSE.*127\\.0\\.0\\.1:${taken}`));
      await assert.rejects(fetch(`http://127.0.0.1:${r.http}/healthz`), 'the probes port is gone with the process');
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
  });
});
