/**
 * InitiatorRuntime.write(), the promise-free streaming call, in one process: a real terminator
 * and initiator runtime over mutual TLS on loopback. What a producer relies on: every write
 * arrives once, in order, with its own payload; `false` means "wait for whenSendable()"; a write
 * with no session throws a coded error and is counted.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { loadConfig, silentLogger, startInitiator, startTerminator, FerryError, type InitiatorRuntime } from '@fast-ferry/core';
import { sample, scrape } from '../helpers/metrics.js';
import { makeTestPki, type TestPki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';

let pki: TestPki;
before(() => {
  pki = makeTestPki();
});
after(() => pki.cleanup());

async function initiatorFor(sessionPort: number, outboxLimit: number, httpPort = 0): Promise<InitiatorRuntime> {
  const config = loadConfig({
    env: {},
    overrides: {
      'session.url': `wss://127.0.0.1:${sessionPort}`,
      'session.serverName': 'localhost',
      'http.host': '127.0.0.1',
      'http.port': httpPort || (await freePort()),
      'tls.caFile': pki.ca.cert,
      'tls.certFile': pki.initiator.cert,
      'tls.keyFile': pki.initiator.key,
      'session.outboxLimit': outboxLimit,
      'autoTrigger.count': 0,
    },
  });
  return startInitiator({ on_trigger: (payload) => payload }, { config, logger: silentLogger });
}

test('5,000 writes through a 64-message outbox: false pushes back, every message arrives once, in order, intact', async () => {
  const received: unknown[] = [];
  const terminator = await startTerminator(
    { on_receive_terminator: (payload) => void received.push(payload) },
    {
      logger: silentLogger,
      config: loadConfig({
        env: {},
        overrides: {
          'session.listenHost': '127.0.0.1',
          'session.listenPort': await freePort(),
          'http.host': '127.0.0.1',
          'http.port': await freePort(),
          'tls.caFile': pki.ca.cert,
          'tls.certFile': pki.terminator.cert,
          'tls.keyFile': pki.terminator.key,
        },
      }),
    },
  );
  const initiator = await initiatorFor(terminator.sessionPort, 64);
  try {
    let pushedBack = 0;
    for (let i = 0; i < 5000; i += 1) {
      await initiator.whenSendable();
      if (!initiator.write({ i, text: `message ${i} é` })) pushedBack += 1;
    }
    while (initiator.outbox.depth > 0) await new Promise((r) => setTimeout(r, 5));
    assert.ok(pushedBack > 0, 'write() returned false when the outbox filled');
    assert.equal(received.length, 5000);
    received.forEach((payload, i) => assert.deepEqual(payload, { i, text: `message ${i} é` }));
  } finally {
    await initiator.stop();
    await terminator.stop();
  }
});

test('a write with no session throws FERRY_ERR_NO_SESSION and counts it as refused', async () => {
  // Nothing listens on this port: the initiator keeps dialing, no session opens.
  const httpPort = await freePort();
  const initiator = await initiatorFor(await freePort(), 64, httpPort);
  try {
    assert.throws(
      () => initiator.write({ lost: false }),
      (err: unknown) => err instanceof FerryError && err.code === 'FERRY_ERR_NO_SESSION' && /no session/.test(err.message),
    );
    assert.equal(initiator.outbox.depth, 0, 'nothing was queued');
    assert.equal(sample(await scrape(httpPort), 'ferry_messages_refused_total', { reason: 'FERRY_ERR_NO_SESSION' }), 1);
  } finally {
    await initiator.stop();
  }
});
