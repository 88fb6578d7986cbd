/**
 * The JetStream sink example end to end (issue 12 §6), all real: a `nats-server -js`, the
 * example's terminator and a streaming initiator as processes, mutual TLS between them.
 * 10,000 messages stream while the terminator is killed with SIGKILL twice; afterwards a
 * consumer reads the JetStream stream and finds every message id exactly once.
 *
 * The second kill is made to matter: the link between the apps is cut first, so the
 * terminator keeps publishing what it already received while its ACKs go nowhere, and the
 * test waits until JetStream stored at least one message after the cut. Those messages are
 * in the stream and still unacknowledged at the initiator, so they are sent again to the next
 * terminator, which publishes them again with the same Nats-Msg-Id: the test sees JetStream
 * answer "duplicate" and still finds one copy of each. Dedupe is proven, not left to luck.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect, type JsMsg, type NatsConnection } from 'nats';
import { readReport } from '../helpers/delivery.js';
import { openLink } from '../helpers/link.js';
import { natsSkipReason, startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { makeTestPki, type TestPki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { atLeast, eventually, post, startInitiator, startTerminator, type AppOptions, type Proc } from '../helpers/procs.js';

const MESSAGES = 10_000;
const STREAM = 'FERRY_TEST';
const SUBJECT = 'ferry.test.messages';
const skip = natsSkipReason();

let pki: TestPki;
let dir: string;
before(() => {
  pki = makeTestPki();
  dir = mkdtempSync(join(tmpdir(), 'ferry-jetstream-'));
});
after(() => {
  pki?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function sinkTerminator(options: Omit<AppOptions, 'pki' | 'fixture'>, natsUrl: string): Proc {
  return startTerminator({
    pki,
    ...options,
    fixture: 'jetstream-sink-terminator.ts',
    env: { NATS_URL: natsUrl, NATS_STREAM: STREAM, NATS_SUBJECT: SUBJECT, NATS_DUPLICATE_WINDOW_MS: '120000', NATS_PUBLISH_TIMEOUT_MS: '2000', ...options.env },
  });
}

/** Every message of the stream, read by an ordered consumer from the first. */
async function readStream(nc: NatsConnection, expected: number): Promise<JsMsg[]> {
  const consumer = await nc.jetstream().consumers.get(STREAM);
  const messages = await consumer.consume();
  const seen: JsMsg[] = [];
  for await (const m of messages) {
    seen.push(m);
    if (m.info.pending === 0 && seen.length >= expected) break;
  }
  await messages.close();
  return seen;
}

async function storedCount(nc: NatsConnection): Promise<number> {
  const jsm = await nc.jetstreamManager();
  return (await jsm.streams.info(STREAM)).state.messages;
}

describe('JetStream sink example', { skip: skip ?? false }, () => {
  let nats: NatsServer;
  let nc: NatsConnection;
  before(async () => {
    nats = await startNatsServer(join(dir, 'jetstream'), await freePort());
  });
  after(async () => {
    await nc?.close();
    await nats?.stop();
  });

  test(`kill -9 the terminator twice during a ${MESSAGES}-message stream: JetStream holds every message id exactly once`, async (t) => {
    const sessionPort = await freePort();
    const link = await openLink(sessionPort);
    const reportPath = join(dir, 'report.json');
    const terminatorOptions = { httpPort: await freePort(), sessionPort };
    const incarnations: Proc[] = [sinkTerminator(terminatorOptions, nats.url)];
    let terminator = incarnations[0] as Proc;
    await terminator.waitFor(/terminator up/);
    await terminator.waitFor(/jetstream-sink: created stream FERRY_TEST/);
    nc = await connect({ servers: nats.url });
    const initiator = startInitiator({
      pki,
      httpPort: await freePort(), triggerPort: await freePort(),
      sessionPort: link.port,
      fixture: 'stream-initiator.ts',
      env: {
        FERRY_AUTO_TRIGGER_COUNT: '0',
        FERRY_TEST_STREAM_COUNT: String(MESSAGES),
        FERRY_TEST_STREAM_REPORT: reportPath,
        // A session whose link was cut is found dead after two silent intervals.
        FERRY_SESSION_PING_INTERVAL_MS: '250',
      },
    });
    const restart = async (): Promise<void> => {
      terminator.child.kill('SIGKILL');
      assert.equal((await terminator.exited).signal, 'SIGKILL');
      terminator = sinkTerminator(terminatorOptions, nats.url);
      incarnations.push(terminator);
      await terminator.waitFor(/terminator up/);
    };
    try {
      await initiator.waitFor(/STREAM START/);

      // Kill 1: at a random instant of the stream, wherever the hook is.
      await initiator.waitFor(atLeast('STREAM ACKED', 3_000), 60_000);
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 25)));
      let reopened = initiator.waitForNext(/^session open/, 30_000);
      await restart();
      await reopened;

      // Kill 2: after JetStream stored messages whose ACKs the cut link swallowed.
      await initiator.waitFor(atLeast('STREAM ACKED', 6_000), 60_000);
      assert.equal(initiator.matching(/^STREAM DONE/).length, 0, 'the stream was still running at the second kill');
      link.cut();
      const storedAtCut = await storedCount(nc);
      await eventually(async () => (await storedCount(nc)) > storedAtCut, 10_000, 'JetStream to store a message after the cut');
      reopened = initiator.waitForNext(/^session open/, 30_000);
      await restart();
      link.heal();
      await reopened;

      const done = await initiator.waitFor(/^STREAM DONE/, 120_000);
      const report = readReport(reportPath);
      assert.deepEqual(report.failed, [], 'no message failed');
      assert.equal(report.accepted.length, MESSAGES);
      assert.equal(new Set(report.acked).size, MESSAGES, 'every message acknowledged');

      // What the terminators saw: redeliveries, some of them already in the stream.
      const redelivered = incarnations.flatMap((p) => p.matching(/^↩️ {2}redelivered /));
      const duplicates = redelivered.filter((l) => l.includes('duplicate, JetStream already had it'));
      assert.ok(redelivered.length > 0, 'the kills made the initiator send messages again');
      assert.ok(duplicates.length > 0, 'JetStream was offered a message it already held (the case dedupe is for)');
      const afterCut = (incarnations[2] as Proc).matching(/duplicate, JetStream already had it/).length;
      assert.ok(afterCut > 0, 'the terminator after the cut republished messages JetStream already held');

      // What a reader of the stream sees: each message once.
      assert.equal(await storedCount(nc), MESSAGES, 'JetStream stored no second copy');
      const messages = await readStream(nc, MESSAGES);
      const ids = messages.map((m) => m.headers?.get('Nats-Msg-Id') ?? '');
      assert.equal(ids.length, MESSAGES);
      assert.equal(new Set(ids).size, MESSAGES, 'no message id twice');
      assert.deepEqual(new Set(ids), new Set(report.accepted), 'every accepted message is in the stream, nothing else');
      for (const m of messages) {
        const seq = Number(m.headers?.get('Ferry-Seq'));
        assert.equal(m.headers?.get('Ferry-Stream-Id'), report.streamId);
        assert.equal(m.headers?.get('Nats-Msg-Id'), `${report.streamId}-${seq}`);
        assert.deepEqual(m.json(), { i: seq - 1 }, `payload of seq ${seq}`);
      }
      t.diagnostic(`${done}`);
      t.diagnostic(
        `terminator incarnations=${incarnations.length} sessions=${initiator.matching(/^session open/).length} ` +
          `redelivered=${redelivered.length} (JetStream duplicates=${duplicates.length}, after the cut=${afterCut}) stream messages=${messages.length}`,
      );
    } finally {
      await initiator.kill('SIGKILL');
      await terminator.kill('SIGKILL');
      await link.close();
    }
  });

  test('NATS down at first: the caller is told why, and the same terminator delivers once NATS is up', async () => {
    const natsPort = await freePort();
    const url = `nats://127.0.0.1:${natsPort}`;
    const sessionPort = await freePort();
    const http = await freePort();
    const trigger = await freePort();
    const terminator = sinkTerminator({ httpPort: await freePort(), sessionPort, env: { NATS_STREAM: 'FERRY_LATE', NATS_SUBJECT: 'ferry.late' } }, url);
    const initiator = startInitiator({ pki, httpPort: http, triggerPort: trigger, sessionPort, fixture: 'initiator.ts', env: { FERRY_AUTO_TRIGGER_COUNT: '0' } });
    let late: NatsServer | null = null;
    try {
      await initiator.waitFor(/session open/);
      const refused = await post(trigger, '/trigger', { n: 1 });
      assert.equal(refused.status, 502);
      assert.equal(refused.body['error'], 'FERRY_ERR_REMOTE_HOOK');
      assert.match(String(refused.body['message']), /SINK_ERR_NATS_UNREACHABLE.*cannot reach NATS at nats:\/\/127\.0\.0\.1:\d+/);

      late = await startNatsServer(join(dir, 'late'), natsPort);
      const delivered = await post(trigger, '/trigger', { n: 2 });
      assert.equal(delivered.status, 200, JSON.stringify(delivered.body));
      const lateNc = await connect({ servers: url });
      try {
        const info = await (await lateNc.jetstreamManager()).streams.info('FERRY_LATE');
        assert.equal(info.state.messages, 1, 'only the message sent while NATS was up');
        assert.equal(info.config.duplicate_window, 120_000 * 1_000_000, 'the duplicate window the sink was told');
      } finally {
        await lateNc.close();
      }
    } finally {
      await initiator.kill('SIGKILL');
      await terminator.kill('SIGKILL');
      await late?.stop();
    }
  });
});
