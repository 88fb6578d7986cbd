/**
 * A terminator hook fails and the connection dies before its NACK gets out: the initiator's
 * caller must still hear of the failure, not be told the message was delivered. Real runtimes
 * in one process, over mutual TLS through a loopback relay that the hook cuts (test/helpers/link.ts).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { FerryError, loadConfig, silentLogger, startInitiator, startTerminator } from '@fast-ferry/core';
import { openLink } from '../helpers/link.js';
import { sample, scrape } from '../helpers/metrics.js';
import { makeTestPki, type TestPki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';

let pki: TestPki;
before(() => {
  pki = makeTestPki();
});
after(() => pki.cleanup());

test('a hook failure whose NACK died with the connection is reported to the caller after the reconnect', async () => {
  const received: unknown[] = [];
  let cutLink = (): void => {};
  const terminator = await startTerminator(
    {
      on_receive_terminator: (payload) => {
        if ((payload as { fail?: unknown }).fail === true) {
          // The NACK and the ACK for this message are written after the hook returns: into a
          // flow the link now swallows. New flows go through again.
          cutLink();
          throw new Error('refused by the test hook');
        }
        received.push(payload);
      },
    },
    {
      logger: silentLogger,
      config: loadConfig({
        env: {},
        overrides: {
          'session.listenHost': '127.0.0.1',
          'session.listenPort': await freePort(),
          'session.pingIntervalMs': 200,
          'http.host': '127.0.0.1',
          'http.port': await freePort(),
          'tls.caFile': pki.ca.cert,
          'tls.certFile': pki.terminator.cert,
          'tls.keyFile': pki.terminator.key,
        },
      }),
    },
  );
  const link = await openLink(terminator.sessionPort);
  cutLink = () => {
    link.cut();
    link.heal();
  };
  const initiatorHttp = await freePort();
  const initiator = await startInitiator(
    { on_trigger: (payload) => payload },
    {
      logger: silentLogger,
      config: loadConfig({
        env: {},
        overrides: {
          'session.url': `wss://127.0.0.1:${link.port}`,
          'session.serverName': 'localhost',
          'session.pingIntervalMs': 200,
          'reconnect.intervalMs': 50,
          'http.host': '127.0.0.1',
          'http.port': initiatorHttp,
          'tls.caFile': pki.ca.cert,
          'tls.certFile': pki.initiator.cert,
          'tls.keyFile': pki.initiator.key,
          'autoTrigger.count': 0,
        },
      }),
    },
  );
  try {
    await initiator.whenSendable();
    await initiator.send({ n: 1 });
    await assert.rejects(
      initiator.send({ fail: true }),
      (err: unknown) => err instanceof FerryError && err.code === 'FERRY_ERR_REMOTE_HOOK' && /refused by the test hook/.test(err.message),
    );
    assert.ok(sample(await scrape(initiatorHttp), 'ferry_sessions_total') >= 2, 'the failure was reported on a second session');
    await initiator.whenSendable();
    await initiator.send({ n: 3 });
    assert.deepEqual(received, [{ n: 1 }, { n: 3 }]);
  } finally {
    await initiator.stop();
    await terminator.stop();
    await link.close();
  }
});
