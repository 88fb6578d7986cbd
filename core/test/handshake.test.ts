/** HELLO and WELCOME bodies come from the network: each field is checked, and a bad one is refused by name. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FerryError } from '../src/errors.js';
import { parseHello, parseWelcome } from '../src/session/handshake.js';
import { MAX_SEQ, PROTOCOL_VERSION } from '../src/wire/constants.js';

const hello = { v: PROTOCOL_VERSION, role: 'initiator', streamId: '0123456789abcdef', peerStreamId: '', resumeFrom: 0, holdsFrom: 1, armor: 'tls' };
const welcome = { v: PROTOCOL_VERSION, role: 'terminator', sessionId: 'aaaaaaaaaaaaaaaa', streamId: 'fedcba9876543210', resumeFrom: 0, holdsFrom: 1 };

/** The refusal is a protocol error whose message names the frame's field and what it must be. */
function refusedNaming(pattern: RegExp, code = 'FERRY_ERR_PROTOCOL') {
  return (err: unknown): boolean => {
    assert.ok(err instanceof FerryError, String(err));
    assert.equal(err.code, code);
    assert.match(err.message, pattern);
    return true;
  };
}

describe('HELLO', () => {
  test('a well-formed HELLO is taken as it is, holdsFrom included', () => {
    assert.deepEqual(parseHello({ ...hello, holdsFrom: 42, resumeFrom: 7, peerStreamId: 'fedcba9876543210' }, 'tls'), { ...hello, holdsFrom: 42, resumeFrom: 7, peerStreamId: 'fedcba9876543210' });
    assert.equal(parseHello({ ...hello, holdsFrom: MAX_SEQ }, 'tls').holdsFrom, MAX_SEQ);
  });

  test('a HELLO without holdsFrom (an initiator of an older release) is refused by its version first', () => {
    const { holdsFrom: _, ...old } = hello;
    assert.throws(() => parseHello({ ...old, v: 1 }, 'tls'), refusedNaming(/HELLO speaks protocol version 1, this side speaks 2 \(deploy both apps from the same release\)/, 'FERRY_ERR_VERSION'));
  });

  test('a missing or invalid holdsFrom is refused by name', () => {
    const { holdsFrom: _, ...missing } = hello;
    assert.throws(() => parseHello(missing, 'tls'), refusedNaming(/^HELLO\.holdsFrom must be an integer from 1 to 281474976710655, got undefined$/));
    for (const bad of [0, -1, 1.5, '3', null, MAX_SEQ + 1, Number.NaN]) {
      assert.throws(() => parseHello({ ...hello, holdsFrom: bad }, 'tls'), refusedNaming(/^HELLO\.holdsFrom must be an integer from 1 to/), `holdsFrom=${String(bad)}`);
    }
  });

  test('resumeFrom may be 0 (nothing delivered yet), never negative or fractional', () => {
    assert.equal(parseHello({ ...hello, resumeFrom: 0 }, 'tls').resumeFrom, 0);
    for (const bad of [-1, 0.5, undefined]) {
      assert.throws(() => parseHello({ ...hello, resumeFrom: bad }, 'tls'), refusedNaming(/^HELLO\.resumeFrom must be an integer from 0 to/));
    }
  });

  test('the other fields are refused by name too', () => {
    assert.throws(() => parseHello({ ...hello, role: 'terminator' }, 'tls'), refusedNaming(/^HELLO\.role must be initiator/));
    assert.throws(() => parseHello({ ...hello, streamId: 'xyz' }, 'tls'), refusedNaming(/^HELLO\.streamId must be 16 hex digits/));
    assert.throws(() => parseHello({ ...hello, armor: 'none' }, 'tls'), refusedNaming(/^HELLO\.armor must be 'tunnel' or 'tls'/));
    assert.throws(() => parseHello({ ...hello, armor: 'tunnel' }, 'tls'), refusedNaming(/armor mode mismatch/));
    assert.throws(() => parseHello([], 'tls'), refusedNaming(/HELLO body must be a JSON object/));
  });
});

describe('WELCOME', () => {
  test('a well-formed WELCOME is taken as it is, holdsFrom included', () => {
    assert.deepEqual(parseWelcome({ ...welcome, holdsFrom: 9 }), { ...welcome, holdsFrom: 9 });
  });

  test('a missing or invalid holdsFrom is refused by name', () => {
    const { holdsFrom: _, ...missing } = welcome;
    assert.throws(() => parseWelcome(missing), refusedNaming(/^WELCOME\.holdsFrom must be an integer from 1 to 281474976710655, got undefined$/));
    for (const bad of [0, 2.5, '1']) assert.throws(() => parseWelcome({ ...welcome, holdsFrom: bad }), refusedNaming(/^WELCOME\.holdsFrom must be/));
  });

  test('another protocol version is refused by its version', () => {
    assert.throws(() => parseWelcome({ ...welcome, v: 1 }), refusedNaming(/WELCOME speaks protocol version 1/, 'FERRY_ERR_VERSION'));
  });
});
