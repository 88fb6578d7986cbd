/**
 * The runtimes' calls for code (not HTTP), in one process: a real terminator and initiator
 * runtime over mutual TLS on loopback. InitiatorRuntime.write(), the promise-free streaming
 * call: every write arrives once, in order, with its own payload; `false` means "wait for
 * whenSendable()"; before the first session a write throws a coded error and is counted, after
 * it writes wait in the outbox while reconnecting. And a refused reply() from the terminator
 * is counted like the initiator's refusals.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { FerryError, silentLogger, startInitiator } from '@fast-ferry/core';
import { initiatorConfig, initiatorFor, terminatorWith } from '../helpers/in-process.js';
import { post } from '../helpers/procs.js';
import { sample, scrape } from '../helpers/metrics.js';
import { makeTestPki, type TestPki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { WarnLines } from '../helpers/warn-lines.js';

let pki: TestPki;
before(() => {
  pki = makeTestPki();
});
after(() => pki.cleanup());

/**
 * An initiator with an outbox of `outboxLimit` whose first session opened and delivered {n: 0},
 * and whose terminator has stopped since: it is reconnecting, so nothing it queues now is
 * acknowledged until `restart()` starts a terminator on the same port. Hook payloads go to `received`.
 */
async function reconnectingInitiator(outboxLimit: number, received: unknown[], extra: Parameters<typeof initiatorFor>[4] = {}) {
  const hooks = { on_receive_terminator: (payload: unknown) => void received.push(payload) };
  const first = await terminatorWith(pki, hooks, await freePort());
  const sessionPort = first.sessionPort;
  const initiator = await initiatorFor(pki, sessionPort, outboxLimit, 0, extra);
  try {
    await initiator.whenSendable();
    await initiator.send({ n: 0 });
  } catch (err) {
    await initiator.stop();
    throw err;
  } finally {
    await first.stop();
  }
  while (initiator.sessionOpen) await new Promise((r) => setTimeout(r, 5));
  const restart = async () => terminatorWith(pki, hooks, await freePort(), 10_000, { 'session.listenPort': sessionPort });
  return { initiator, restart };
}

test('5,000 writes through a 64-message outbox: false pushes back, every message arrives once, in order, intact', async () => {
  const received: unknown[] = [];
  const terminator = await terminatorWith(pki, { on_receive_terminator: (payload) => void received.push(payload) }, await freePort());
  const initiator = await initiatorFor(pki, terminator.sessionPort, 64);
  try {
    let pushedBack = 0;
    let mostHeld = 0;
    for (let i = 0; i < 5000; i += 1) {
      await initiator.whenSendable();
      if (!initiator.write({ i, text: `message ${i} é` })) pushedBack += 1;
      mostHeld = Math.max(mostHeld, initiator.outbox.depth);
    }
    while (initiator.outbox.depth > 0) await new Promise((r) => setTimeout(r, 5));
    assert.ok(pushedBack > 0, 'write() returned false when the outbox reached half');
    assert.equal(mostHeld, 32, 'a writer that waits on whenSendable() holds at most half of 64');
    assert.equal(received.length, 5000);
    received.forEach((payload, i) => assert.deepEqual(payload, { i, text: `message ${i} é` }));
  } finally {
    await initiator.stop();
    await terminator.stop();
  }
});

test('a write before the first session ever opened throws FERRY_ERR_NO_SESSION and counts it as refused', async () => {
  // Nothing listens on this port: the initiator keeps dialing, no session opens.
  const httpPort = await freePort();
  const initiator = await initiatorFor(pki, await freePort(), 64, httpPort);
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

test('once a session opened, write() and send() are accepted while reconnecting, refused only when the outbox is full, and delivered by the next session', async () => {
  const received: unknown[] = [];
  const { initiator, restart } = await reconnectingInitiator(4, received);
  let second: Awaited<ReturnType<typeof terminatorWith>> | undefined;
  try {
    // No session now: whenSendable() waits only for the outbox to be under half, and writes are queued.
    await initiator.whenSendable();
    assert.equal(initiator.write({ n: 1 }), true);
    const sent = initiator.send({ n: 2 });
    assert.equal(initiator.write({ n: 3 }), false, 'accepted, and false from half of the outbox (4)');
    assert.equal(initiator.write({ n: 4 }), false, 'accepted until the outbox is full');
    assert.throws(
      () => initiator.write({ n: 5 }),
      (err: unknown) => err instanceof FerryError && err.code === 'FERRY_ERR_OUTBOX_FULL',
    );
    const readiness = initiator.readiness();
    assert.equal(readiness.ready, true, 'ready: it accepts work while reconnecting');
    assert.match(readiness.reason, /reconnecting .*queued: 4 of 4/);
    second = await restart();
    const delivery = await sent;
    assert.equal(delivery.seq, 3);
    while (initiator.outbox.depth > 0) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(received, [{ n: 0 }, { n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }]);
  } finally {
    await initiator.stop();
    await second?.stop();
  }
});

test('a writer that waits on whenSendable() stops at half the outbox, and send() callers get the other half', async () => {
  const received: unknown[] = [];
  const { initiator, restart } = await reconnectingInitiator(8, received);
  let second: Awaited<ReturnType<typeof terminatorWith>> | undefined;
  try {
    // No session: nothing is acknowledged, so the writer stops where whenSendable() holds it.
    let written = 0;
    const writer = (async () => {
      while (written < 12) {
        await initiator.whenSendable();
        initiator.write({ w: written });
        written += 1;
      }
    })();
    for (let i = 0; i < 20; i += 1) await new Promise((r) => setImmediate(r));
    assert.equal(written, 4, 'the writer waits at half of an 8-message outbox');
    const sent = [0, 1, 2, 3].map((s) => initiator.send({ s }));
    await assert.rejects(initiator.send({ s: 4 }), (err: unknown) => err instanceof FerryError && err.code === 'FERRY_ERR_OUTBOX_FULL');
    second = await restart();
    await Promise.all(sent);
    await writer;
    while (initiator.outbox.depth > 0) await new Promise((r) => setTimeout(r, 5));
    const writes = Array.from({ length: 12 }, (_, w) => ({ w }));
    assert.deepEqual(received, [{ n: 0 }, ...writes.slice(0, 4), { s: 0 }, { s: 1 }, { s: 2 }, { s: 3 }, ...writes.slice(4)]);
  } finally {
    await initiator.stop();
    await second?.stop();
  }
});

test('stop() refuses a writer waiting at half the outbox at once, not when the drain gives up', async () => {
  const { initiator } = await reconnectingInitiator(8, [], { 'session.drainTimeoutMs': 1000 });
  try {
    const refused = (async () => {
      for (;;) {
        await initiator.whenSendable();
        initiator.write({ w: true });
      }
    })().then(
      () => assert.fail('the writer was never refused'),
      (err: unknown) => ({ err, held: initiator.outbox.depth }),
    );
    for (let i = 0; i < 20; i += 1) await new Promise((r) => setImmediate(r));
    assert.equal(initiator.outbox.depth, 4, 'the writer waits at half');
    const stopped = initiator.stop();
    const { err, held } = await refused;
    assert.ok(err instanceof FerryError && err.code === 'FERRY_ERR_SHUTTING_DOWN', `refused with FERRY_ERR_SHUTTING_DOWN (got ${String(err)})`);
    assert.equal(held, 4, 'refused while the drain still holds its 4 messages, not once it gave up on them');
    await stopped;
  } finally {
    await initiator.stop();
  }
});

test('a reply() the terminator refuses (outbox full) rejects with its code and is counted in ferry_messages_refused_total', async () => {
  const outcomes: string[] = [];
  const httpPort = await freePort();
  // An outbox of one: the hook's second reply, made before the first could be acknowledged, is refused.
  const terminator = await terminatorWith(
    pki,
    {
      on_receive_terminator: (_payload, message) => {
        for (const n of [1, 2]) {
          message.reply({ n }).then(
            () => outcomes.push(`${n} acked`),
            (err: unknown) => outcomes.push(`${n} ${err instanceof FerryError ? err.code : String(err)}`),
          );
        }
      },
    },
    httpPort,
    1,
  );
  const initiator = await initiatorFor(pki, terminator.sessionPort, 64);
  try {
    await initiator.whenSendable();
    await initiator.send({ ask: 'two replies' });
    while (outcomes.length < 2) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(outcomes.sort(), ['1 acked', '2 FERRY_ERR_OUTBOX_FULL']);
    assert.equal(sample(await scrape(httpPort), 'ferry_messages_refused_total', { reason: 'FERRY_ERR_OUTBOX_FULL' }), 1);
  } finally {
    await initiator.stop();
    await terminator.stop();
  }
});

test('session.outboxLimitBytes pushes write() back by bytes, far below the message limit', async () => {
  const received: unknown[] = [];
  const terminator = await terminatorWith(pki, { on_receive_terminator: (payload) => void received.push(payload) }, await freePort());
  // 64 KiB of payload at most, 10,000 messages allowed: 16 KiB messages fill it after four.
  const initiator = await initiatorFor(pki, terminator.sessionPort, 10_000, 0, { 'session.outboxLimitBytes': 64 * 1024 });
  try {
    const body = 'y'.repeat(16 * 1024);
    let mostHeld = 0;
    for (let i = 0; i < 200; i += 1) {
      await initiator.whenSendable();
      initiator.write({ i, body });
      mostHeld = Math.max(mostHeld, initiator.outbox.depth);
    }
    while (initiator.outbox.depth > 0) await new Promise((r) => setTimeout(r, 5));
    // Two messages of 16 KiB and a few bytes pass half of 64 KiB: write() asks to wait there.
    assert.ok(mostHeld <= 2, `at most 2 messages of 16 KiB were held at once (saw ${mostHeld})`);
    assert.equal(received.length, 200);
  } finally {
    await initiator.stop();
    await terminator.stop();
  }
});

test('write() messages still unacknowledged when the drain times out are counted as refused (FERRY_ERR_SHUTTING_DOWN)', async () => {
  // The terminator's hook never settles, so nothing is acknowledged.
  const terminator = await terminatorWith(pki, { on_receive_terminator: () => new Promise<void>(() => {}) }, await freePort(), 10_000, { 'session.drainTimeoutMs': 0 });
  const initiator = await initiatorFor(pki, terminator.sessionPort, 64, 0, { 'session.drainTimeoutMs': 200 });
  try {
    await initiator.whenSendable();
    for (let i = 0; i < 3; i += 1) initiator.write({ i });
    await initiator.stop();
    const text = await initiator.metrics.registry.metrics();
    assert.match(text, /^ferry_messages_refused_total\{reason="FERRY_ERR_SHUTTING_DOWN",role="initiator"\} 3$/m);
  } finally {
    await terminator.stop();
  }
});

test('a hook that fails on each of 2,000 writes is logged 20 times per side, and counted 2,000 times', async () => {
  const terminatorLog = new WarnLines();
  const initiatorLog = new WarnLines();
  const terminatorHttp = await freePort();
  const terminator = await terminatorWith(
    pki,
    {
      on_receive_terminator: () => {
        throw new Error('this hook always fails');
      },
    },
    terminatorHttp,
    10_000,
    {},
    terminatorLog,
  );
  const initiatorHttp = await freePort();
  const initiator = await initiatorFor(pki, terminator.sessionPort, 10_000, initiatorHttp, {}, initiatorLog);
  try {
    await initiator.whenSendable();
    for (let i = 0; i < 2000; i += 1) assert.ok(initiator.write({ i }));
    while (initiator.outbox.depth > 0) await new Promise((r) => setTimeout(r, 5));
    assert.equal(sample(await scrape(terminatorHttp), 'ferry_hook_errors_total', { hook: 'on_receive_terminator' }), 2000);
    const initiatorSamples = await scrape(initiatorHttp);
    assert.equal(sample(initiatorSamples, 'ferry_messages_failed_total', { reason: 'FERRY_ERR_REMOTE_HOOK' }), 2000);
    assert.equal(sample(initiatorSamples, 'ferry_messages_delivered_total'), 0);
    assert.equal(sample(initiatorSamples, 'ferry_messages_refused_total'), 0, 'a failed delivery is not a refusal');
    assert.equal(sample(await scrape(terminatorHttp), 'ferry_hook_duration_seconds_count', { hook: 'on_receive_terminator' }), 2000, 'every run is timed, the ones that threw included');
    const failed = terminatorLog.lines.filter((line) => line === 'on_receive_terminator failed: on_receive_terminator threw: this hook always fails');
    const told = initiatorLog.lines.filter((line) => /^message [0-9a-f]{16}-\d+ not delivered: the terminator's on_receive_terminator failed: on_receive_terminator threw: this hook always fails \(nobody awaits it \(write\(\)\)\)$/.test(line));
    assert.equal(failed.length, 20, 'the terminator logged the first 20 failures of the window');
    assert.equal(told.length, 20, 'the initiator logged the first 20 refused writes of the window');
  } finally {
    await initiator.stop();
    await terminator.stop();
  }
});

test("a reply still waiting for its initiator when the terminator stops is refused with FERRY_ERR_SHUTTING_DOWN, counted once", async () => {
  let streamId = '';
  const terminator = await terminatorWith(pki, { on_receive_terminator: (_payload, message) => void (streamId = message.streamId) }, await freePort());
  const initiator = await initiatorFor(pki, terminator.sessionPort, 64);
  let outcome: unknown = 'unsettled';
  try {
    while (!initiator.sessionOpen) await new Promise((r) => setTimeout(r, 5));
    await initiator.send({ hello: 1 });
  } finally {
    await initiator.stop();
  }
  try {
    while (terminator.sessionCount > 0) await new Promise((r) => setTimeout(r, 5));
    // The stream is remembered without a session: the reply waits in its outbox for a reconnect.
    terminator.send(streamId, { reply: 1 }).then(
      () => (outcome = 'delivered'),
      (err: unknown) => (outcome = err),
    );
  } finally {
    await terminator.stop();
  }
  // stop() has returned: a refused caller's promise settled at the latest one microtask later.
  await new Promise((r) => setImmediate(r));
  assert.ok(outcome instanceof FerryError && outcome.code === 'FERRY_ERR_SHUTTING_DOWN', `the caller was told: ${String(outcome)}`);
  const refused = (await terminator.metrics.messagesRefused.get()).values.filter((v) => v.labels.reason === 'FERRY_ERR_SHUTTING_DOWN');
  assert.deepEqual(refused.map((v) => v.value), [1]);
});

test('trigger() and POST /trigger refused before on_trigger (no session yet) are counted once each in ferry_messages_refused_total', async () => {
  // Nothing listens on this port: no session opens.
  const httpPort = await freePort();
  const initiator = await initiatorFor(pki, await freePort(), 64, httpPort);
  try {
    await assert.rejects(initiator.trigger({ a: 1 }, {}), (err: unknown) => err instanceof FerryError && err.code === 'FERRY_ERR_NO_SESSION');
    assert.equal(sample(await scrape(httpPort), 'ferry_messages_refused_total', { reason: 'FERRY_ERR_NO_SESSION' }), 1);
    const answer = await post(initiator.triggerPort, '/trigger', { a: 2 });
    assert.equal(answer.status, 503);
    assert.equal(answer.body.error, 'FERRY_ERR_NO_SESSION');
    assert.equal(sample(await scrape(httpPort), 'ferry_messages_refused_total', { reason: 'FERRY_ERR_NO_SESSION' }), 2);
  } finally {
    await initiator.stop();
  }
});

test("stop() halts an older terminator stream's inbox too: its queued backlog runs no on_receive_initiator after stop", async () => {
  const sessionPort = await freePort();
  let streamId = '';
  const first = await terminatorWith(pki, { on_receive_terminator: (_payload, message) => void (streamId = message.streamId) }, await freePort(), 10_000, { 'session.listenPort': sessionPort });
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  let runs = 0;
  const initiator = await startInitiator(
    {
      on_trigger: (payload) => payload,
      on_receive_initiator: async () => {
        runs += 1;
        await gate;
      },
    },
    {
      logger: silentLogger,
      config: await initiatorConfig(pki, sessionPort, { 'reconnect.intervalMs': 20 }),
    },
  );
  let second: Awaited<ReturnType<typeof terminatorWith>> | undefined;
  try {
    while (!initiator.sessionOpen) await new Promise((r) => setTimeout(r, 5));
    await initiator.send({ hello: 1 });
    // Five replies: the first holds the hook (gate), four wait in the initiator's inbox for that stream.
    for (let i = 0; i < 5; i += 1) first.send(streamId, { reply: i }).catch(() => {});
    while (runs < 1) await new Promise((r) => setTimeout(r, 5));
    await first.stop();
    // A new terminator process is a new terminator stream: the initiator makes a new inbox for it.
    second = await terminatorWith(pki, { on_receive_terminator: () => {} }, await freePort(), 10_000, { 'session.listenPort': sessionPort });
    while (second.sessionCount === 0 || !initiator.sessionOpen) await new Promise((r) => setTimeout(r, 5));
    await initiator.stop();
    const runsAtStop = runs;
    release();
    // The hook's settling and the inbox's next run are microtasks: all done before the next macrotask.
    await new Promise((r) => setImmediate(r));
    assert.equal(runsAtStop, 1);
    assert.equal(runs, runsAtStop, 'the older inbox ran its backlog after stop()');
  } finally {
    release();
    await initiator.stop();
    await second?.stop();
    await first.stop();
  }
});

test('an armor handshake that fails after a working dial counts in ferry_handshake_failures_total only, not ferry_dial_failures_total', async () => {
  // The terminator speaks plain TLS sessions; the initiator expects the armor handshake: the dial works, the armor fails.
  const terminator = await terminatorWith(pki, { on_receive_terminator: () => {} }, await freePort(), 10_000, { 'armor.mode': 'tls' });
  const httpPort = await freePort();
  const initiator = await initiatorFor(pki, terminator.sessionPort, 64, httpPort, { 'armor.mode': 'tunnel', 'reconnect.intervalMs': 20 });
  try {
    while ((await initiator.metrics.handshakeFailures.get()).values.every((v) => v.value === 0)) await new Promise((r) => setTimeout(r, 5));
    const failures = sample(await scrape(httpPort), 'ferry_handshake_failures_total');
    assert.ok(failures >= 1);
    assert.equal(sample(await scrape(httpPort), 'ferry_dial_failures_total'), 0, 'the dial itself worked');
  } finally {
    await initiator.stop();
    await terminator.stop();
  }
});

test('stop() while the armor handshake is under way: the channel it opens is closed (1001), no session is started on it', async () => {
  const { listen } = await import('../../core/src/transport/listen.js');
  const { openChannel } = await import('../../core/src/transport/open-channel.js');
  const { loadTlsMaterial } = await import('../../core/src/transport/tls-material.js');
  const tls = loadTlsMaterial({ caFile: pki.ca.cert, certFile: pki.terminator.cert, keyFile: pki.terminator.key }, 'terminator');
  let arrived: (conn: { ws: import('ws').WebSocket; tlsSocket: import('node:tls').TLSSocket }) => void = () => {};
  const connection = new Promise<{ ws: import('ws').WebSocket; tlsSocket: import('node:tls').TLSSocket }>((resolve) => (arrived = resolve));
  // A terminator that holds the armor handshake until the initiator was stopped.
  const listener = await listen({
    host: '127.0.0.1',
    port: 0,
    tls,
    handshakeTimeoutMs: 10_000,
    maxPayloadBytes: 1 << 20,
    maxPending: 8,
    onConnection: (ws, tlsSocket) => {
      ws.pause();
      arrived({ ws, tlsSocket });
    },
    onTlsError: () => {},
    onRefused: () => {},
  });
  const initiator = await initiatorFor(pki, listener.port, 64, 0, { 'session.handshakeTimeoutMs': 10_000 });
  try {
    const { ws, tlsSocket } = await connection;
    // The dial completed on the initiator's side too: it waits in the armor handshake.
    while (initiator.state !== 'handshaking') await new Promise((r) => setTimeout(r, 5));
    await initiator.stop();
    const opening = openChannel({ mode: 'tunnel', role: 'terminator', ws, tlsSocket, privateKey: tls.privateKey, rekey: { intervalMs: 3_600_000, messages: 1_000_000 }, handshakeTimeoutMs: 10_000, onRekey: () => {} });
    ws.resume();
    const { channel } = await opening;
    const seen = await new Promise<string>((resolve) => {
      channel.attach({ onBatch: () => resolve('a session frame (HELLO) arrived'), onClose: (code, reason) => resolve(`closed ${code} ${reason}`), onError: (err) => resolve(`error ${err.message}`) });
    });
    assert.equal(seen, 'closed 1001 shutdown');
  } finally {
    await initiator.stop();
    await listener.close();
  }
});
