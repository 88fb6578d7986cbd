/**
 * Chaos (issue 4 §4a): the terminator is killed with SIGKILL ten times while one initiator
 * streams 50,000 messages, and restarted each time. Nothing may be lost: every accepted id is
 * acknowledged and was handed to a hook at least once, and every repeat is a flagged
 * redelivery. The kills are spread over the stream by progress (once 4,000 more messages were
 * acknowledged, and never twice in one session), so each lands in a session of its own with
 * up to an outbox of messages in flight.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { checkDelivery, readDeliveries, readReport } from '../helpers/delivery.js';
import { makeTestPki, type TestPki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { atLeast, startInitiator, startTerminator, type Proc } from '../helpers/procs.js';

const MESSAGES = 50_000;
const KILLS = 10;
const KILL_EVERY = 4_000;

let pki: TestPki;
let dir: string;
before(() => {
  pki = makeTestPki();
  dir = mkdtempSync(join(tmpdir(), 'ferry-chaos-'));
});
after(() => {
  pki.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

test(`kill -9 the terminator ${KILLS} times during a ${MESSAGES}-message stream: 0 lost, repeats only flagged`, (t) => killDuringStream(t, 'send', MESSAGES, KILLS));

// write() keeps no promise and no JSON text per message: a resend reads the bytes back from the
// batch that first carried it. 0 lost, and every delivery's payload is checked against its seq.
test('the same with the promise-free write(): 40000 messages, 4 kills, resent bytes intact', (t) => killDuringStream(t, 'write', 40_000, 4));

async function killDuringStream(t: TestContext, api: 'send' | 'write', messages: number, kills: number): Promise<void> {
  const sessionPort = await freePort();
  const deliveries = join(dir, `deliveries-${api}.log`);
  const reportPath = join(dir, `report-${api}.json`);
  const terminatorOptions = { pki, httpPort: await freePort(), sessionPort, fixture: 'recording-terminator.ts', env: { FERRY_TEST_DELIVERY_FILE: deliveries } };
  let terminator: Proc = startTerminator(terminatorOptions);
  await terminator.waitFor(/terminator up/);
  const initiator = startInitiator({
    pki,
    httpPort: await freePort(), triggerPort: await freePort(),
    sessionPort,
    fixture: 'stream-initiator.ts',
    env: { FERRY_AUTO_TRIGGER_COUNT: '0', FERRY_TEST_STREAM_COUNT: String(messages), FERRY_TEST_STREAM_REPORT: reportPath, FERRY_TEST_STREAM_API: api },
  });
  try {
    await initiator.waitFor(/STREAM START/);
    for (let kill = 1; kill <= kills; kill += 1) {
      await initiator.waitFor(atLeast('STREAM ACKED', kill * KILL_EVERY), 30_000);
      // A random instant within the next batch or two, so kills land anywhere: mid-batch, between
      // a hook and its ack, mid-write (not a wait for anything: the stream does not pause).
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 25)));
      assert.equal(initiator.matching(/^STREAM DONE/).length, 0, `the stream was still running at kill ${kill}`);
      terminator.child.kill('SIGKILL');
      assert.equal((await terminator.exited).signal, 'SIGKILL');
      // The next kill waits for a new session: each kill lands in a session of its own.
      const reopened = initiator.waitForNext(/^session open/, 30_000);
      terminator = startTerminator(terminatorOptions);
      await terminator.waitFor(/terminator up/);
      await reopened;
    }
    const done = await initiator.waitFor(/^STREAM DONE/, 60_000);
    const figures = checkDelivery(readReport(reportPath), readDeliveries(deliveries));
    assert.equal(figures.incarnations, kills + 1);
    assert.equal(figures.lost, 0);
    const sessions = initiator.matching(/^session open/).length;
    t.diagnostic(`${done}`);
    t.diagnostic(
      `api=${api} kills=${kills} sessions=${sessions} accepted=${figures.accepted} acked=${figures.acked} lost=${figures.lost} ` +
        `hook calls=${figures.handed} duplicates=${figures.duplicates} (all flagged) flagged redeliveries=${figures.flagged}`,
    );
    t.diagnostic(`seq ranges per terminator incarnation: ${figures.ranges.join(' ')}`);
    assert.ok(sessions >= kills + 1, 'one session per terminator incarnation at least');
  } finally {
    await initiator.kill('SIGKILL');
    await terminator.kill('SIGKILL');
  }
}
