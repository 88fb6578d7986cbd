import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FerryError } from '../src/errors.js';
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

test('a message that cannot be JSON is refused as a bad hook result', () => {
  const circular: Record<string, unknown> = {};
  circular['self'] = circular;
  assert.equal(codeOf(() => encodePayload(circular, 4096)), 'FERRY_ERR_HOOK_RESULT');
  assert.equal(codeOf(() => encodePayload({ n: 10n }, 4096)), 'FERRY_ERR_HOOK_RESULT');
});

test('a received payload that is not JSON is a bad frame', () => {
  assert.equal(codeOf(() => parsePayload(Buffer.from('{nope'))), 'FERRY_ERR_BAD_FRAME');
  assert.deepEqual(parsePayload(Buffer.from('{"ok":true}')), { ok: true });
});
