/**
 * Adversarial (issue 15 §4), POST /trigger at its edges: empty bodies, bodies their
 * Content-Encoding cannot decode, encodings and charsets the app cannot read, JSON nested
 * thousands deep, and slow clients that trickle a request (slow loris). Each is refused with a
 * 4xx whose code names the cause, before on_trigger runs; the refusal is logged and counted.
 * A real initiator + terminator pair delivers a steady trickle the whole time: every one of its
 * triggers must be answered 200, /readyz must stay 200, the session must never drop.
 */
import assert from 'node:assert/strict';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { delta, scrape } from '../helpers/metrics.js';
import { startLegitPair, type LegitPair, type Trickle } from '../helpers/legit-pair.js';
import { eventually, get, type Proc } from '../helpers/procs.js';

/** The apps' bound on receiving one whole request (core/src/http/server.ts). */
const REQUEST_TIMEOUT_MS = 10_000;
/** Node looks for expired requests every 500 ms at that bound; the rest is a loaded machine. */
const CUT_BY_MS = REQUEST_TIMEOUT_MS + 2_000;

let pair: LegitPair;
let initiator: Proc;
let http: number;
/** The initiator's POST /trigger port. */
let trigger: number;
/** The background trickle: a legitimate trigger and a /readyz every 200 ms for as long as the suite runs. */
let trickle: Trickle;

before(async () => {
  pair = await startLegitPair({ initiatorEnv: { FERRY_HTTP_BODY_LIMIT_BYTES: '65536' } });
  ({ initiator, initiatorHttp: http, initiatorTrigger: trigger } = pair);
  trickle = pair.startTrickle({ everyMs: 200, readyz: true });
});

after(async () => {
  await pair?.stop();
});

async function stillReady(): Promise<void> {
  const ready = await get(http, '/readyz');
  assert.equal(ready.status, 200, `/readyz: ${ready.text}`);
}

/** One request written as raw bytes, `gapMs` between chunks; what came back and when the server closed. */
function rawRequest(chunks: Array<string | Buffer>, gapMs = 0): Promise<{ text: string; elapsedMs: number; sent: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect(trigger, '127.0.0.1');
    let text = '';
    let sent = 0;
    socket.setEncoding('utf8');
    socket.on('data', (data: string) => {
      text += data;
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve({ text, elapsedMs: Date.now() - started, sent }));
    const writeNext = (): void => {
      const chunk = chunks[sent];
      if (chunk === undefined || socket.destroyed) return;
      socket.write(chunk);
      sent += 1;
      if (gapMs > 0) setTimeout(writeNext, gapMs);
      else writeNext();
    };
    socket.once('connect', writeNext);
  });
}

/** The status and coded body of a raw HTTP answer. */
function parseAnswer(text: string): { status: number; body: Record<string, unknown> } {
  const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(text)?.[1]);
  const body = text.slice(text.indexOf('\r\n\r\n') + 4);
  return { status, body: body ? (JSON.parse(body) as Record<string, unknown>) : {} };
}

describe('POST /trigger bodies that must be refused by name, before on_trigger', () => {
  const json = '{"encoded":true}';
  const deep = `{"deep":${'['.repeat(5_000)}${']'.repeat(5_000)}}`;
  const cases: Array<[string, Record<string, string>, string | Buffer, number, string, RegExp]> = [
    ['an empty body sent as application/json', { 'content-type': 'application/json' }, '', 400, 'FERRY_ERR_BAD_REQUEST', /empty body: POST \/trigger takes a JSON object/],
    ['an empty body sent as text/plain', { 'content-type': 'text/plain' }, '', 400, 'FERRY_ERR_BAD_REQUEST', /empty body: POST \/trigger takes a JSON object/],
    ['a body of whitespace', { 'content-type': 'application/json' }, ' \r\n\t', 400, 'FERRY_ERR_BAD_REQUEST', /empty body: POST \/trigger takes a JSON object/],
    ['an empty gzip stream', { 'content-encoding': 'gzip' }, gzipSync(''), 400, 'FERRY_ERR_BAD_REQUEST', /empty body: POST \/trigger takes a JSON object/],
    ['Content-Encoding: gzip on a body that is not gzip', { 'content-encoding': 'gzip' }, json, 400, 'FERRY_ERR_BAD_REQUEST', /body is not valid gzip data \(Content-Encoding: gzip\): incorrect header check/],
    ['a gzip body cut short', { 'content-encoding': 'gzip' }, gzipSync(json).subarray(0, 12), 400, 'FERRY_ERR_BAD_REQUEST', /body is not valid gzip data .*unexpected end of file/],
    ['Content-Encoding: deflate on a body that is not deflate', { 'content-encoding': 'deflate' }, json, 400, 'FERRY_ERR_BAD_REQUEST', /body is not valid deflate data/],
    ['Content-Encoding: br on a body that is not brotli', { 'content-encoding': 'br' }, json, 400, 'FERRY_ERR_BAD_REQUEST', /body is not valid br data/],
    ['an unknown Content-Encoding', { 'content-encoding': 'x-squash' }, json, 415, 'FERRY_ERR_UNSUPPORTED_ENCODING', /Content-Encoding "x-squash" is not supported; send the body as identity, gzip, deflate or br/],
    ['two stacked encodings', { 'content-encoding': 'gzip, gzip' }, gzipSync(gzipSync(json)), 415, 'FERRY_ERR_UNSUPPORTED_ENCODING', /Content-Encoding "gzip, gzip" is not supported/],
    ['a charset JSON is never sent in', { 'content-type': 'application/json; charset=latin1' }, json, 415, 'FERRY_ERR_UNSUPPORTED_ENCODING', /unsupported charset "LATIN1"/],
    ['a gzip bomb (10 MB of JSON in 10 KB)', { 'content-encoding': 'gzip' }, gzipSync(`{"a":"${'x'.repeat(10_000_000)}"}`), 413, 'FERRY_ERR_PAYLOAD_TOO_BIG', /larger than http\.bodyLimitBytes \(65536 bytes once decoded from gzip\)/],
    ['JSON nested 5,000 deep', { 'content-type': 'application/json' }, deep, 400, 'FERRY_ERR_BAD_REQUEST', /nests objects and arrays more than 64 levels deep/],
    ['a number', { 'content-type': 'application/json' }, '42', 400, 'FERRY_ERR_BAD_REQUEST', /must be a JSON object, got a number(?!\w)/],
    ['null', { 'content-type': 'application/json' }, 'null', 400, 'FERRY_ERR_BAD_REQUEST', /must be a JSON object, got null(?!\w)/],
  ];
  for (const [what, headers, body, status, code, text] of cases) {
    test(`${what} is answered ${status} ${code}, logged and counted`, async () => {
      const before = await scrape(http);
      const line = initiator.waitForNext(new RegExp(`POST /trigger refused \\(${status}\\): .*code=${code}`), 5_000);
      const res = await fetch(`http://127.0.0.1:${trigger}/trigger`, { method: 'POST', headers, body });
      const answer = (await res.json()) as Record<string, unknown>;
      assert.equal(res.status, status, JSON.stringify(answer));
      assert.equal(answer['error'], code);
      assert.match(String(answer['message']), text);
      assert.match(await line, text);
      const after = await scrape(http);
      assert.equal(delta(before, after, 'ferry_messages_refused_total', { reason: code }), 1);
      await stillReady();
    });
  }

  test('a POST with no body at all (no Content-Length, no Transfer-Encoding) is refused as an empty body', async () => {
    const { text } = await rawRequest([`POST /trigger HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`]);
    const { status, body } = parseAnswer(text);
    assert.equal(status, 400);
    assert.equal(body['error'], 'FERRY_ERR_BAD_REQUEST');
    assert.match(String(body['message']), /empty body: POST \/trigger takes a JSON object/);
  });

  test('gzip, deflate and br bodies that are what they say are delivered', async () => {
    const encoders: Array<[string, (b: Buffer) => Buffer]> = [['gzip', gzipSync], ['deflate', deflateSync], ['br', brotliCompressSync]];
    for (const [encoding, encode] of encoders) {
      const res = await fetch(`http://127.0.0.1:${trigger}/trigger`, { method: 'POST', headers: { 'content-encoding': encoding }, body: encode(Buffer.from(JSON.stringify({ encoding }))) });
      assert.equal(res.status, 200, `${encoding}: ${await res.text()}`);
    }
  });

  test('on_trigger never ran for any of them', () => {
    assert.deepEqual(initiator.matching(/on_trigger refused/), []);
  });
});

describe('slow clients (slow loris) on the HTTP port', () => {
  test(`requests that do not arrive whole within ${REQUEST_TIMEOUT_MS} ms are cut with 408 while the session keeps delivering`, { timeout: 3 * REQUEST_TIMEOUT_MS }, async () => {
    const before = await scrape(http);
    const head = `POST /trigger HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n`;
    const attackStarted = Date.now();
    // 100 connections that send 1 of 100 body bytes and stall; one that sends its body a byte
    // every 500 ms (it would finish after 50 s); one that sends a header line every 500 ms;
    // one that connects and says nothing.
    const stalled = Array.from({ length: 100 }, () => rawRequest([`${head}{`]));
    const dripBody = rawRequest([head, ...`{"drip":"${'x'.repeat(85)}"}`], 500);
    const dripHeaders = rawRequest(['POST /trigger HTTP/1.1\r\n', ...Array.from({ length: 100 }, (_, i) => `X-Drip-${i}: x\r\n`)], 500);
    const silent = rawRequest([]);

    const cut = await Promise.all([...stalled, dripBody, dripHeaders, silent]);
    for (const [i, { text, elapsedMs }] of cut.entries()) {
      const { status, body } = parseAnswer(text);
      assert.equal(status, 408, `connection ${i}: ${text}`);
      assert.equal(body['error'], 'FERRY_ERR_REQUEST_TIMEOUT');
      assert.match(String(body['message']), /did not arrive within 10000 ms/);
      assert.ok(elapsedMs >= REQUEST_TIMEOUT_MS - 50 && elapsedMs < CUT_BY_MS, `connection ${i} was cut after ${elapsedMs} ms`);
    }
    assert.ok((await dripBody).sent < 40, 'the dripping body was cut long before it was complete');

    // The requests whose headers arrived reached the app: each is counted as a 408 refusal.
    // Counted once the server sees the connection it cut close, which can come after the 408
    // reached the client (the loop may answer the next scrape before it runs its close
    // callbacks): wait for the count, then hold it to exactly 101.
    const timeouts = async (): Promise<number> => delta(before, await scrape(http), 'ferry_messages_refused_total', { reason: 'FERRY_ERR_REQUEST_TIMEOUT' });
    await eventually(async () => (await timeouts()) >= 101, 2_000, '101 requests counted as cut');
    assert.equal(await timeouts(), 101);
    await initiator.waitFor(/POST \/trigger refused \(408\): the body did not arrive within 10000 ms.*code=FERRY_ERR_REQUEST_TIMEOUT/, 2_000);

    // The legitimate trickle went on through the whole attack, and the initiator stayed ready.
    const during = trickle.answers.filter((a) => a.at >= attackStarted);
    assert.ok(during.length >= 20, `only ${during.length} legitimate triggers answered during the attack`);
    assert.deepEqual(during.filter((a) => a.status !== 200 || a.ready !== 200), [], 'every legitimate trigger during the attack was delivered, /readyz 200');
    await stillReady();
  });
});

describe('the legitimate session', () => {
  test('delivered every trigger of the trickle, never dropped, and nothing crashed', async () => {
    await pair.assertUnharmed(31);
    await stillReady();
  });
});
