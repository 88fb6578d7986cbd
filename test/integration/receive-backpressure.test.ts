/**
 * Backpressure on the way back: a terminator streams replies faster than the initiator's
 * on_receive_initiator takes them. The initiator's Inbox passes its high-water mark
 * (session.outboxLimit), pauses reading from the session and resumes once the hook caught up;
 * every reply arrives once, in order, and is acknowledged. The hook is timed like the
 * terminator's (one shared Inbox factory).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startInitiator, type Delivery, type LogFields, type Logger } from '@fast-ferry/core';
import { initiatorConfig, terminatorWith } from '../helpers/in-process.js';
import { sample, scrape } from '../helpers/metrics.js';
import { makeTestPki, type TestPki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';

let pki: TestPki;
before(() => {
  pki = makeTestPki();
});
after(() => pki.cleanup());

/** Keeps the debug lines, where the pause and resume are logged. */
class DebugLines implements Logger {
  readonly lines: string[] = [];
  debug(msg: string, _fields?: LogFields): void {
    this.lines.push(msg);
  }
  info(): void {}
  warn(): void {}
  error(): void {}
  child(): Logger {
    return this;
  }
}

test('a slow on_receive_initiator pauses the initiator reads while the terminator streams 400 replies; none is lost', async () => {
  const REPLIES = 400;
  const replies: Array<Promise<Delivery>> = [];
  const terminator = await terminatorWith(pki, {
    on_receive_terminator: (_payload, message) => {
      for (let i = 0; i < REPLIES; i += 1) replies.push(message.reply({ i }));
    },
  }, await freePort());
  const received: unknown[] = [];
  const log = new DebugLines();
  const initiator = await startInitiator(
    {
      on_trigger: (payload) => payload,
      // Slower than the terminator sends: one timer turn per message.
      on_receive_initiator: async (payload) => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        received.push(payload);
      },
    },
    {
      logger: log,
      config: await initiatorConfig(pki, terminator.sessionPort, {
        // The Inbox's high-water mark: far below the replies in flight.
        'session.outboxLimit': 16,
      }),
    },
  );
  try {
    await initiator.whenSendable();
    await initiator.send({ ask: `${REPLIES} replies` });
    const deliveries = await Promise.all(replies);
    assert.equal(deliveries.length, REPLIES);
    assert.deepEqual(received, Array.from({ length: REPLIES }, (_, i) => ({ i })), 'every reply once, in order');
    assert.ok(log.lines.includes('receiver busy: pausing reads'), `the initiator paused its reads (debug lines: ${JSON.stringify(log.lines)})`);
    assert.ok(log.lines.includes('receiver caught up: resuming reads'), 'and resumed them');
    assert.equal(log.lines.at(-1), 'receiver caught up: resuming reads', 'not left paused');
    assert.equal(sample(await scrape(initiator.httpPort), 'ferry_hook_duration_seconds_count', { hook: 'on_receive_initiator' }), REPLIES);
  } finally {
    await initiator.stop();
    await terminator.stop();
  }
});
