/**
 * The error table (errors.ts ErrorCodes) is the one definition of every FERRY_ERR_* code: its
 * close code, its HTTP status and its meaning. These tests fail when a code is used in the
 * sources without a row, or when an HTTP answer's status does not come from the table.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CloseCode, ErrorCodes, FerryError, HookError, type ErrorCode } from '../src/errors.js';
import { serve, type HttpServer } from '../src/http/server.js';
import { createTriggerApp, MAX_BODY_DEPTH, nestedDeeperThan, statusOf, type TriggerBackend } from '../src/http/trigger-app.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Where codes are raised or answered: the library, the tools and the two apps. */
const SOURCE_DIRS = ['core/src', 'tools/src', 'initiator/app', 'terminator/app'];
/** A whole code: `FERRY_ERR_` and words joined by `_` (so `FERRY_ERR_ARMOR_*` in prose is skipped). */
const CODE = /FERRY_ERR_[A-Z0-9]+(?:_[A-Z0-9]+)*/g;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(ts|js|mjs|sh)$/.test(name)) out.push(path);
  }
  return out;
}

const codes = Object.keys(ErrorCodes) as ErrorCode[];

test('every FERRY_ERR_* code used in core/src, tools/src and the apps has a row in the error table', () => {
  const missing = new Map<string, string>();
  let seen = 0;
  for (const dir of SOURCE_DIRS) {
    for (const file of sourceFiles(join(ROOT, dir))) {
      for (const [code] of readFileSync(file, 'utf8').matchAll(CODE)) {
        seen++;
        if (!(code in ErrorCodes)) missing.set(code, file.slice(ROOT.length));
      }
    }
  }
  assert.ok(seen > 50, `the scan found only ${seen} codes: are SOURCE_DIRS right?`);
  assert.deepEqual([...missing].map(([code, file]) => `${code} (${file})`), [], 'add these codes to ErrorCodes in core/src/errors.ts');
});

test('every row names a well-formed code, a close code or none, an HTTP error status or none, and a meaning', () => {
  const closeCodes: number[] = Object.values(CloseCode);
  for (const code of codes) {
    const row: { close: number | null; http: number | null; meaning: string } = ErrorCodes[code];
    assert.match(code, /^FERRY_ERR_[A-Z0-9]+(?:_[A-Z0-9]+)*$/);
    assert.ok(row.close === null || closeCodes.includes(row.close), `${code}: close ${row.close}`);
    assert.ok(row.http === null || (row.http >= 400 && row.http <= 599), `${code}: http ${row.http}`);
    assert.ok(row.meaning.length > 5, `${code}: meaning`);
  }
});

test('a FerryError carries its row\'s close code, and 1011 for a code that never ends a session by design', () => {
  assert.equal(new FerryError('FERRY_ERR_PEER_DEAD', 'x').closeCode, CloseCode.PEER_DEAD);
  assert.equal(new FerryError('FERRY_ERR_STARTUP', 'x').closeCode, CloseCode.INTERNAL_ERROR);
});

test('the http/ sources take no status literal: statuses come from the table (readyz\'s 200/503 aside)', () => {
  const dir = join(ROOT, 'core/src/http');
  const offenders: string[] = [];
  for (const file of sourceFiles(dir)) {
    readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
      if (/^\s*(\*|\/\/|\/\*)/.test(line)) return; // comments may name statuses
      // The readiness probe answers 200 or 503 by Kubernetes convention and carries no code.
      if (/state\.ready \? 200 : 503/.test(line)) return;
      // Reading a status is fine (Retry-After goes with every 503); answering with a literal is not.
      if (/status === 503\) res\.set\('retry-after'/.test(line)) return;
      if (/\b[1-5]\d\d\b/.test(line)) offenders.push(`${file.slice(ROOT.length)}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(offenders, []);
});

describe('the trigger app, with a stand-in backend that throws each coded error in turn', () => {
  let server: HttpServer;
  let base: string;
  let next: unknown = null;
  const refused: Array<[string, number]> = [];

  const backend: TriggerBackend = {
    async trigger() {
      if (next !== null) throw next;
      return { id: 'stream-1', seq: 1, redelivered: false };
    },
    retryAfterSeconds: () => 1,
    refused: (code, status) => void refused.push([code, status]),
  };

  before(async () => {
    server = await serve(createTriggerApp(backend, 1024), '127.0.0.1', 0);
    base = `http://127.0.0.1:${server.port}`;
  });
  after(() => server.close());

  /** The answer, checked against the table: its status is its code's `http`. */
  async function answer(path: string, init?: RequestInit): Promise<{ status: number; code: string }> {
    const res = await fetch(`${base}${path}`, init);
    const body = (await res.json()) as { error?: string };
    if (res.status === 200) return { status: 200, code: '' };
    assert.ok(body.error !== undefined && body.error in ErrorCodes, `${path}: ${res.status} without a table code: ${JSON.stringify(body)}`);
    assert.equal(res.status, statusOf(body.error as ErrorCode), `${body.error} answered with ${res.status}`);
    return { status: res.status, code: body.error };
  }
  const post = (body: string, headers: Record<string, string> = {}) =>
    answer('/trigger', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

  test('refusals before on_trigger: each code with its table status', async () => {
    assert.deepEqual(await post('{"unterminated": '), { status: 400, code: 'FERRY_ERR_BAD_REQUEST' });
    assert.deepEqual(await post('[1,2]'), { status: 400, code: 'FERRY_ERR_BAD_REQUEST' });
    assert.deepEqual(await post(JSON.stringify({ pad: 'x'.repeat(2048) })), { status: 413, code: 'FERRY_ERR_PAYLOAD_TOO_BIG' });
    assert.deepEqual(await post('{}', { 'content-encoding': 'x-unknown' }), { status: 415, code: 'FERRY_ERR_UNSUPPORTED_ENCODING' });
    assert.deepEqual(await post('{}', { 'content-type': 'application/json; charset=latin1' }), { status: 415, code: 'FERRY_ERR_UNSUPPORTED_ENCODING' });
    assert.deepEqual(await post(''), { status: 400, code: 'FERRY_ERR_BAD_REQUEST' });
    assert.deepEqual(await post('{}', { 'content-encoding': 'gzip' }), { status: 400, code: 'FERRY_ERR_BAD_REQUEST' });
    assert.deepEqual(await post(`${'['.repeat(65)}${']'.repeat(65)}`.replace(/^\[/, '{"a":[').replace(/\]$/, ']}')), { status: 400, code: 'FERRY_ERR_BAD_REQUEST' });
    assert.deepEqual(await answer('/trigger'), { status: 405, code: 'FERRY_ERR_METHOD' });
    assert.deepEqual(await answer('/nowhere'), { status: 404, code: 'FERRY_ERR_NOT_FOUND' });
    assert.deepEqual(refused.map(([code, status]) => `${code} ${status}`), [
      'FERRY_ERR_BAD_REQUEST 400',
      'FERRY_ERR_BAD_REQUEST 400',
      'FERRY_ERR_PAYLOAD_TOO_BIG 413',
      'FERRY_ERR_UNSUPPORTED_ENCODING 415',
      'FERRY_ERR_UNSUPPORTED_ENCODING 415',
      'FERRY_ERR_BAD_REQUEST 400',
      'FERRY_ERR_BAD_REQUEST 400',
      'FERRY_ERR_BAD_REQUEST 400',
    ]);
  });

  test('every code the backend can throw is answered with its table status (500 when it has none)', async () => {
    for (const code of codes) {
      next = code.startsWith('FERRY_ERR_HOOK_') ? new HookError(code as 'FERRY_ERR_HOOK_FAILED', 'on_trigger', 'x') : new FerryError(code, 'x');
      const got = await post('{}');
      assert.deepEqual(got, { status: ErrorCodes[code].http ?? 500, code }, code);
    }
    next = new Error('not a FerryError');
    assert.deepEqual(await post('{}'), { status: 500, code: 'FERRY_ERR_INTERNAL' });
    next = null;
    assert.deepEqual(await post('{}'), { status: 200, code: '' });
  });

  test('a 503 carries Retry-After', async () => {
    next = new FerryError('FERRY_ERR_OUTBOX_FULL', 'full');
    const res = await fetch(`${base}/trigger`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    await res.arrayBuffer();
    next = null;
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '1');
  });
});

describe('the HTTP server answers what it cannot hand to the app with coded JSON and the table status', () => {
  let server: HttpServer;
  before(async () => {
    const backend: TriggerBackend = { trigger: async () => ({ id: 's-1', seq: 1, redelivered: false }), retryAfterSeconds: () => 1 };
    server = await serve(createTriggerApp(backend, 1024), '127.0.0.1', 0, { requestTimeoutMs: 300 });
  });
  after(() => server.close());

  function raw(data: string): Promise<{ status: number; code: unknown; ms: number }> {
    return new Promise((resolve) => {
      const started = Date.now();
      const socket = connect(server.port, '127.0.0.1');
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (d: string) => (text += d));
      socket.on('error', () => {});
      socket.on('close', () => {
        const body = text.slice(text.indexOf('\r\n\r\n') + 4);
        resolve({ status: Number(text.slice(9, 12)), code: body ? (JSON.parse(body) as { error?: unknown }).error : undefined, ms: Date.now() - started });
      });
      socket.write(data);
    });
  }

  test('a body that stalls is cut with 408 FERRY_ERR_REQUEST_TIMEOUT soon after requestTimeoutMs', async () => {
    const got = await raw('POST /trigger HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{');
    assert.deepEqual({ status: got.status, code: got.code }, { status: statusOf('FERRY_ERR_REQUEST_TIMEOUT'), code: 'FERRY_ERR_REQUEST_TIMEOUT' });
    assert.ok(got.ms >= 300 && got.ms < 1_500, `cut after ${got.ms} ms`);
  });

  test('headers over the limit are 431 FERRY_ERR_HEADERS_TOO_LARGE, malformed HTTP 400 FERRY_ERR_BAD_REQUEST', async () => {
    const big = await raw(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    assert.deepEqual({ status: big.status, code: big.code }, { status: statusOf('FERRY_ERR_HEADERS_TOO_LARGE'), code: 'FERRY_ERR_HEADERS_TOO_LARGE' });
    const bad = await raw('POST /trigger HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n');
    assert.deepEqual({ status: bad.status, code: bad.code }, { status: statusOf('FERRY_ERR_BAD_REQUEST'), code: 'FERRY_ERR_BAD_REQUEST' });
  });

  test('a complete request is not cut while its answer takes longer than requestTimeoutMs', async () => {
    const slowBackend: TriggerBackend = { trigger: () => new Promise((r) => setTimeout(() => r({ id: 's-1', seq: 1, redelivered: false }), 600)), retryAfterSeconds: () => 1 };
    const slow = await serve(createTriggerApp(slowBackend, 1024), '127.0.0.1', 0, { requestTimeoutMs: 300 });
    try {
      const res = await fetch(`http://127.0.0.1:${slow.port}/trigger`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      assert.equal(res.status, 200);
    } finally {
      await slow.close();
    }
  });
});

test('nestedDeeperThan measures a million levels without overflowing the stack', () => {
  const deep = JSON.parse(`${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`) as object;
  assert.equal(nestedDeeperThan(deep, MAX_BODY_DEPTH), true);
  assert.equal(nestedDeeperThan(JSON.parse(`${'['.repeat(MAX_BODY_DEPTH)}${']'.repeat(MAX_BODY_DEPTH)}`) as object, MAX_BODY_DEPTH), false);
  assert.equal(nestedDeeperThan({ a: [{ b: {} }] }, 3), true);
  assert.equal(nestedDeeperThan({ a: [{ b: 1 }] }, 3), false);
});
