import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ArmorError, FerryError } from '../src/errors.js';
import { channelFailure, classifyDialError, reasonLabel, tlsRefusal, upgradeRefusal } from '../src/transport/failures.js';

function nodeError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

test('a certificate problem on dial is FERRY_ERR_TLS, a refused connection FERRY_ERR_DIAL_FAILED; both name the URL', () => {
  const tls = classifyDialError('wss://t:8443', nodeError('UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate'));
  assert.equal(tls.code, 'FERRY_ERR_TLS');
  assert.equal(tls.message, 'dial wss://t:8443 failed: UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to verify the first certificate');
  const refused = classifyDialError('wss://t:8443', nodeError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:8443'));
  assert.equal(refused.code, 'FERRY_ERR_DIAL_FAILED');
  assert.equal(reasonLabel(refused), 'ECONNREFUSED', 'the metric label is the cause, not the Ferry code');
  assert.equal(reasonLabel(new FerryError('FERRY_ERR_DIAL_TIMEOUT', 'slow')), 'FERRY_ERR_DIAL_TIMEOUT');
});

test('session port refusals: TLS failures are FERRY_ERR_TLS, a slow upgrade FERRY_ERR_HANDSHAKE_TIMEOUT, a bad one FERRY_ERR_PROTOCOL', () => {
  assert.deepEqual(tlsRefusal(nodeError('ERR_SSL_UNSUPPORTED_PROTOCOL', 'tls 1.2')), { code: 'FERRY_ERR_TLS', reason: 'ERR_SSL_UNSUPPORTED_PROTOCOL' });
  assert.deepEqual(tlsRefusal(new Error('no code')), { code: 'FERRY_ERR_TLS', reason: 'TLS_ERROR' });
  assert.deepEqual(upgradeRefusal(nodeError('ERR_HTTP_REQUEST_TIMEOUT', 'timeout')), { code: 'FERRY_ERR_HANDSHAKE_TIMEOUT', reason: 'ERR_HTTP_REQUEST_TIMEOUT' });
  assert.deepEqual(upgradeRefusal(nodeError('HPE_INVALID_METHOD', 'bad')), { code: 'FERRY_ERR_PROTOCOL', reason: 'HPE_INVALID_METHOD' });
});

test('a channel that cannot be opened keeps its own coded error, anything else is FERRY_ERR_ARMOR_HANDSHAKE', () => {
  const armor = new ArmorError('FERRY_ERR_ARMOR_DECRYPT', 'forged frame');
  assert.equal(channelFailure(armor), armor);
  const other = channelFailure(new Error('socket closed'));
  assert.equal(other.code, 'FERRY_ERR_ARMOR_HANDSHAKE');
  assert.equal(other.message, 'socket closed');
});
