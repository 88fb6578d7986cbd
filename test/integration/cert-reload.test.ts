/**
 * Certificate rotation without downtime: the initiator's Secret is updated the way Kubernetes
 * does it (new files in a fresh folder, then one atomic `..data` symlink swap). The open session
 * stays up; the next connection presents the new certificate; a broken update is refused and
 * the old certificate stays in use.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { INITIATOR_SANS, issueLeaf } from '../../tools/src/pki.js';
import { makeTestPki, type TestPki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { post, startInitiator, startTerminator } from '../helpers/procs.js';

let pki: TestPki;
let mount: string;
before(() => {
  pki = makeTestPki();
  mount = mkdtempSync(join(tmpdir(), 'ferry-secret-'));
});
after(() => {
  pki.cleanup();
  rmSync(mount, { recursive: true, force: true });
});

/** Publishes cert + key as a new Secret version: ..<version>/ then an atomic ..data swap. */
function publish(version: string, cert: string, key: string): void {
  const dir = join(mount, `..${version}`);
  mkdirSync(dir);
  copyFileSync(cert, join(dir, 'tls.crt'));
  copyFileSync(key, join(dir, 'tls.key'));
  symlinkSync(`..${version}`, join(mount, '..data_tmp'));
  renameSync(join(mount, '..data_tmp'), join(mount, '..data'));
}

const serialOf = (path: string): string => new X509Certificate(readFileSync(path)).serialNumber;

test('a rotated certificate is picked up without dropping the session, and used by the next connection', async () => {
  publish('v1', pki.initiator.cert, pki.initiator.key);
  symlinkSync('..data/tls.crt', join(mount, 'tls.crt'));
  symlinkSync('..data/tls.key', join(mount, 'tls.key'));
  const oldSerial = serialOf(pki.initiator.cert);

  const sessionPort = await freePort();
  const http = await freePort();
  const trigger = await freePort();
  const terminatorOptions = { pki, httpPort: await freePort(), sessionPort, fixture: 'terminator.ts' };
  let terminator = startTerminator(terminatorOptions);
  const initiator = startInitiator({
    pki,
    httpPort: http, triggerPort: trigger,
    sessionPort,
    fixture: 'initiator.ts',
    cert: { cert: join(mount, 'tls.crt'), key: join(mount, 'tls.key') },
    env: { FERRY_AUTO_TRIGGER_COUNT: '0' },
  });
  try {
    assert.match(await terminator.waitFor(/session open/), new RegExp(`peerSerial=${oldSerial}`));

    const fresh = issueLeaf({ ca: pki.ca, dir: join(pki.dir, 'rotated'), commonName: 'initiator', sans: INITIATOR_SANS, usage: 'client' });
    const newSerial = serialOf(fresh.cert);
    publish('v2', fresh.cert, fresh.key);
    assert.match(await initiator.waitFor(/TLS material reloaded/), new RegExp(`serial=${newSerial}`));
    assert.equal((await post(trigger, '/trigger', { after: 'rotation' })).status, 200, 'the open session still delivers');
    assert.equal(initiator.matching(/session open/).length, 1, 'the session was not dropped');

    // A broken update (a key that does not match the certificate) is refused.
    publish('v3', fresh.cert, pki.terminator.key);
    await initiator.waitFor(/TLS material changed but was refused; keeping the previous certificates: .*does not belong/);
    assert.equal((await post(trigger, '/trigger', { after: 'bad update' })).status, 200);

    // The next connection presents the rotated certificate.
    terminator.child.kill('SIGKILL');
    await terminator.exited;
    terminator = startTerminator(terminatorOptions);
    assert.match(await terminator.waitFor(/session open/), new RegExp(`peerSerial=${newSerial}`));
  } finally {
    await initiator.kill();
    await terminator.kill();
  }
});
