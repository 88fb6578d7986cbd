/** Bad certificate material stops start-up with a line that names the file, the problem and the fix. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FerryError } from '../src/errors.js';
import { silentLogger, type LogFields } from '../src/log.js';
import { loadTlsMaterial } from '../src/transport/tls-material.js';
import { watchTlsMaterial } from '../src/transport/tls-reload.js';
import { INITIATOR_SANS, issueLeaf } from '../../tools/src/pki.js';
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
  const tls = loadTlsMaterial({ caFile: pki.ca.cert, certFile: pki.initiator.cert, keyFile: pki.initiator.key }, 'initiator');
  assert.ok(tls.secondsToExpiry() > 300 * 86_400);
});

test('a certificate another CA issued is refused, naming both files', () => {
  const msg = certMessage(() => loadTlsMaterial({ caFile: pki.ca.cert, certFile: pki.rogue.initiator.cert, keyFile: pki.rogue.initiator.key }, 'initiator'));
  assert.match(msg, /CN=initiator\) is not signed by the CA in .*ca\.crt: regenerate with `bash deploy.sh --rotate-certs`/);
});

test('an expired certificate is refused with its end date', () => {
  const expired = issueLeaf({ ca: pki.ca, dir: join(pki.dir, 'expired'), commonName: 'initiator', sans: ['DNS:initiator'], usage: 'client', expired: true });
  assert.match(certMessage(() => loadTlsMaterial({ caFile: pki.ca.cert, certFile: expired.cert, keyFile: expired.key }, 'initiator')), /expired on 2020-01-02T00:00:00\.000Z/);
});

test('the bundle PKI deploy.sh issues passes for both roles', () => {
  assert.equal(loadTlsMaterial({ caFile: pki.ca.cert, certFile: pki.initiator.cert, keyFile: pki.initiator.key }, 'initiator').role, 'initiator');
  assert.equal(loadTlsMaterial({ caFile: pki.ca.cert, certFile: pki.terminator.cert, keyFile: pki.terminator.key }, 'terminator').role, 'terminator');
});

test('the CA certificate (with its own key) is refused as a pod\'s own certificate, naming the file and the fix', () => {
  for (const role of ['initiator', 'terminator'] as const) {
    const msg = certMessage(() => loadTlsMaterial({ caFile: pki.ca.cert, certFile: pki.ca.cert, keyFile: pki.ca.key }, role));
    assert.ok(msg.startsWith(`${pki.ca.cert} (tls.certFile, CN=Fast Ferry bundle CA) is a CA certificate (basicConstraints CA:TRUE), not the ${role}'s own: point tls.certFile and tls.keyFile at the ${role}'s tls.crt and tls.key, or regenerate with \`bash deploy.sh --rotate-certs\``), msg);
  }
});

test('a certificate made for the other role is refused by its extended key usage', () => {
  assert.match(
    certMessage(() => loadTlsMaterial({ caFile: pki.ca.cert, certFile: pki.terminator.cert, keyFile: pki.terminator.key }, 'initiator')),
    /terminator\/tls\.crt \(tls\.certFile, CN=terminator\) has extended key usage serverAuth, but the initiator needs clientAuth \(is it the terminator's certificate\?\): point tls\.certFile/,
  );
  assert.match(
    certMessage(() => loadTlsMaterial({ caFile: pki.ca.cert, certFile: pki.initiator.cert, keyFile: pki.initiator.key }, 'terminator')),
    /initiator\/tls\.crt \(tls\.certFile, CN=initiator\) has extended key usage clientAuth, but the terminator needs serverAuth \(is it the initiator's certificate\?\)/,
  );
});

test('a leaf in the CA file is refused as not a CA', () => {
  assert.match(
    certMessage(() => loadTlsMaterial({ caFile: pki.terminator.cert, certFile: pki.initiator.cert, keyFile: pki.initiator.key }, 'initiator')),
    /terminator\/tls\.crt \(tls\.caFile, CN=terminator\) is not a CA certificate \(no basicConstraints CA:TRUE\): point tls\.caFile at the bundle's ca\.crt/,
  );
});

test('a key of another certificate is refused, naming both files', () => {
  assert.match(
    certMessage(() => loadTlsMaterial({ caFile: pki.ca.cert, certFile: pki.initiator.cert, keyFile: pki.terminator.key }, 'initiator')),
    /terminator\/tls\.key \(tls\.keyFile\) does not belong to the certificate .*initiator\/tls\.crt \(tls\.certFile\): regenerate/,
  );
});

test('a file that is not PEM is refused as such', () => {
  assert.match(certMessage(() => loadTlsMaterial({ caFile: pki.ca.cert, certFile: pki.initiator.key, keyFile: pki.initiator.key }, 'initiator')), /tls\.key is not a PEM certificate/);
});

test('the watcher reloads on a real change only: a folder event that leaves the files as they were is not a reload', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-watch-'));
  const paths = { caFile: join(dir, 'ca.crt'), certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') };
  copyFileSync(pki.ca.cert, paths.caFile);
  copyFileSync(pki.initiator.cert, paths.certFile);
  copyFileSync(pki.initiator.key, paths.keyFile);
  const lines: string[] = [];
  const logger = { ...silentLogger, info: (msg: string, fields?: LogFields) => lines.push(`${msg} ${String(fields?.['serial'])}`) };
  const reloaded: string[] = [];
  const stop = watchTlsMaterial(paths, logger, loadTlsMaterial(paths, 'initiator'), (tls) => reloaded.push(tls.certificate.serialNumber));
  try {
    // What a Secret update does first: a new folder appears; the files in use are unchanged.
    mkdirSync(join(dir, '..2026_11_23_v2'));
    await new Promise((resolve) => setTimeout(resolve, 600));
    assert.deepEqual(reloaded, [], 'nothing changed, nothing reloaded');
    assert.deepEqual(lines, [], 'and nothing logged');
    const fresh = issueLeaf({ ca: pki.ca, dir: join(dir, 'fresh'), commonName: 'initiator', sans: INITIATOR_SANS, usage: 'client' });
    copyFileSync(fresh.key, paths.keyFile);
    copyFileSync(fresh.cert, paths.certFile);
    const serial = new X509Certificate(readFileSync(fresh.cert)).serialNumber;
    const deadline = performance.now() + 5000;
    while (reloaded.length === 0 && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(reloaded, [serial]);
    assert.deepEqual(lines, [`🔐 TLS material reloaded: new connections use the new certificate ${serial}`]);
  } finally {
    stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
