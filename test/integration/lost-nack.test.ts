/**
 * A terminator hook fails and the connection dies before its NACK gets out: the initiator's
 * caller must still hear of the failure, not be told the message was delivered. Real runtimes
 * in one process, over mutual TLS through a loopback relay that the hook cuts (test/helpers/link.ts).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { FerryError } from '@fast-ferry/core';
import { initiatorFor, terminatorWith } from '../helpers/in-process.js';
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
  const terminator = await terminatorWith(
    pki,
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
    await freePort(),
    10_000,
    { 'session.pingIntervalMs': 200 },
  );
  const link = await openLink(terminator.sessionPort);
  cutLink = () => {
    link.cut();
    link.heal();
  };
  const initiatorHttp = await freePort();
  const initiator = await initiatorFor(pki, link.port, 10_000, initiatorHttp, { 'session.pingIntervalMs': 200, 'reconnect.intervalMs': 50 });
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
