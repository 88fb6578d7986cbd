import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FerryError } from '../src/errors.js';
import { FLAG_BYTES, FLAG_REDELIVERED } from '../src/wire/constants.js';
import { encodePayload, parsePayload } from '../src/wire/payload.js';

const codeOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    return err instanceof FerryError ? err.code : String(err);
  }
  return 'none';
};

test('a message is sent as its JSON text', () => {
  assert.equal(encodePayload({ a: 1, b: 'é' }, 4096), '{"a":1,"b":"é"}');
});

test('a message too large for one WebSocket message is refused, counting UTF-8 bytes', () => {
  assert.equal(codeOf(() => encodePayload({ s: 'x'.repeat(5000) }, 4096)), 'FERRY_ERR_PAYLOAD_TOO_BIG');
  // 1,400 three-byte characters: 1,408 UTF-16 units of JSON but 4,208 bytes (the limit is 4,032).
  assert.equal(codeOf(() => encodePayload({ s: '€'.repeat(1400) }, 4096)), 'FERRY_ERR_PAYLOAD_TOO_BIG');
  assert.equal(codeOf(() => encodePayload({ s: 'x'.repeat(1400) }, 4096)), 'none');
});

const refusal = (message: unknown): string => {
  try {
    encodePayload(message, 4096);
  } catch (err) {
    return err instanceof FerryError ? `${err.code}: ${err.message}` : String(err);
  }
  return 'none';
};

test('a message that cannot be JSON is refused as a bad payload', () => {
  const circular: Record<string, unknown> = {};
  circular['self'] = circular;
  assert.match(refusal(circular), /^FERRY_ERR_BAD_PAYLOAD: the message cannot be sent as JSON: .*circular/i);
  assert.match(refusal({ n: 10n }), /^FERRY_ERR_BAD_PAYLOAD: .*BigInt/);
  assert.match(refusal(() => 1), /^FERRY_ERR_BAD_PAYLOAD: a message must be a JSON value or bytes .*got a function/);
  assert.match(refusal(undefined), /got undefined$/);
  assert.match(refusal(Symbol('s')), /got a symbol/);
});

test('bytes inside a JSON message are refused with their path, never sent as {"type":"Buffer",…}', () => {
  assert.match(refusal({ raw: Buffer.from('hi') }), /^FERRY_ERR_BAD_PAYLOAD: \$\.raw is a Buffer inside a JSON message: JSON would send it as \{"type":"Buffer","data":\[…\]\}\. Send bytes on their own/);
  assert.match(refusal({ readings: [{ ok: 1 }, { blob: new Uint8Array([1, 2]) }] }), /\$\.readings\[1\]\.blob is a Uint8Array inside a JSON message/);
  assert.match(refusal({ 'odd key': new ArrayBuffer(4) }), /\$\["odd key"\] is a ArrayBuffer/);
  assert.match(refusal([new Float32Array(2)]), /\$\[0\] is a Float32Array/);
});

test('a Map, a Set or another object JSON would send as {} is refused by name', () => {
  assert.match(refusal({ m: new Map([['a', 1]]) }), /^FERRY_ERR_BAD_PAYLOAD: \$\.m is a Map, which JSON would send as \{\}/);
  assert.match(refusal({ s: new Set([1]) }), /\$\.s is a Set/);
  assert.match(refusal(new Map()), /^FERRY_ERR_BAD_PAYLOAD: \$ is a Map/);
  assert.match(refusal({ e: /x/ }), /\$\.e is a RegExp/);
  assert.match(refusal({ deep: { er: new Error('boom') } }), /\$\.deep\.er is a Error/);
});

test('plain JSON passes as JSON.stringify sends it: a Date by its toJSON, a class by its fields, undefined fields left out', () => {
  class Reading {
    constructor(readonly value: number) {}
  }
  const at = new Date(0);
  assert.equal(encodePayload({ at, r: new Reading(3), gone: undefined, empty: {}, list: [] }, 4096), '{"at":"1970-01-01T00:00:00.000Z","r":{"value":3},"empty":{},"list":[]}');
  assert.equal(encodePayload(Object.assign(Object.create(null) as object, { a: 1 }), 4096), '{"a":1}');
  assert.equal(encodePayload([1, 'two', null], 4096), '[1,"two",null]');
  // Boxed primitives have no fields, yet JSON sends the value inside: no lookalike to refuse.
  assert.equal(encodePayload({ n: new Number(3), b: new Boolean(false), s: new String('x') }, 4096), '{"n":3,"b":false,"s":"x"}');
});

test('bytes are sent as they are (the caller\'s own buffer, no copy), size-limited like JSON', () => {
  const bytes = Buffer.from([0, 1, 2, 255]);
  assert.equal(encodePayload(bytes, 4096), bytes, 'the same Buffer, not a copy');
  const plain = new Uint8Array([9, 8]);
  assert.equal(encodePayload(plain, 4096), plain);
  assert.equal((encodePayload(Buffer.alloc(0), 4096) as Uint8Array).length, 0, 'zero bytes is a message');
  assert.equal(codeOf(() => encodePayload(Buffer.alloc(4096 - 64), 4096)), 'none', 'exactly maxPayloadBytes minus the headroom fits');
  assert.equal(codeOf(() => encodePayload(Buffer.alloc(4096 - 63), 4096)), 'FERRY_ERR_PAYLOAD_TOO_BIG');
});

test('a received payload that is not JSON is a bad frame', () => {
  assert.equal(codeOf(() => parsePayload(Buffer.from('{nope'))), 'FERRY_ERR_BAD_FRAME');
  assert.deepEqual(parsePayload(Buffer.from('{"ok":true}')), { ok: true });
});

test('a received bytes payload is handed over as a view of the frame it came in, whatever else is flagged', () => {
  const batch = Buffer.from('head\x00\x01\xfftail', 'latin1');
  const got = parsePayload(batch, 4, 7, FLAG_BYTES | FLAG_REDELIVERED) as Buffer;
  assert.ok(Buffer.isBuffer(got));
  assert.deepEqual([...got], [0, 1, 255]);
  assert.equal(got.buffer, batch.buffer, 'no copy');
  assert.equal(codeOf(() => parsePayload(batch, 4, 7, FLAG_REDELIVERED)), 'FERRY_ERR_BAD_FRAME', 'without the kind it is JSON');
});
