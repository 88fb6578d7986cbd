/** Bad certificate material stops start-up with a line that names the file, the problem and the fix. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import { FerryError } from '../src/errors.js';
import { loadTlsMaterial } from '../src/transport/tls-material.js';
import { issueLeaf } from '../../tools/src/pki.js';
import { makeTestPki, type TestPki } from '../../test/helpers/pki.js';

let pki: TestPki;
before(() => {
  pki = makeTestPki();
});
after(() => pki.cleanup());

function certMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof FerryError && err.code === 'FERRY_ERR_CERT', String(err));
    return err.message;
  }
  return 'no error';
}

test('good material loads and reports its time to expiry', () => {
  const tls = loadTlsMaterial({ caFile: pki.ca.cert, certFile: pki.initiator.cert, keyFile: pki.initiator.key });
  assert.ok(tls.secondsToExpiry() > 300 * 86_400);
});

test('a certificate another CA issued is refused, naming both files', () => {
  const msg = certMessage(() => loadTlsMaterial({ caFile: pki.ca.cert, certFile: pki.rogue.initiator.cert, keyFile: pki.rogue.initiator.key }));
  assert.match(msg, /CN=initiator\) is not signed by the CA in .*ca\.crt: regenerate with `bash deploy.sh --rotate-certs`/);
});

test('an expired certificate is refused with its end date', () => {
  const expired = issueLeaf({ ca: pki.ca, dir: join(pki.dir, 'expired'), commonName: 'initiator', sans: ['DNS:initiator'], usage: 'client', expired: true });
  assert.match(certMessage(() => loadTlsMaterial({ caFile: pki.ca.cert, certFile: expired.cert, keyFile: expired.key })), /expired on 2020-01-02T00:00:00\.000Z/);
});

test('a file that is not PEM is refused as such', () => {
  assert.match(certMessage(() => loadTlsMaterial({ caFile: pki.ca.cert, certFile: pki.initiator.key, keyFile: pki.initiator.key })), /tls\.key is not a PEM certificate/);
});
