/** The session over a recording channel (no socket): handshake, batching limits, acks. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FerryError } from '../src/errors.js';
import { silentLogger } from '../src/log.js';
import { createMetrics } from '../src/metrics.js';
import { Inbox } from '../src/session/inbox.js';
import { Outbox } from '../src/session/outbox.js';
import { Session } from '../src/session/session.js';
import type { ChannelHandlers, FrameChannel } from '../src/transport/channel.js';
import { FLAG_BYTES, FLAG_REDELIVERED, FrameType } from '../src/wire/constants.js';
import { decodeFrames } from '../src/wire/decoder.js';
import { FrameWriter } from '../src/wire/encoder.js';

class RecordingChannel implements FrameChannel {
  sent: Buffer[] = [];
  handlers: ChannelHandlers | null = null;
  closed: Array<[number, string]> = [];
  send(batch: Buffer): void {
    this.sent.push(batch);
  }
  close(code: number, reason: string): void {
    this.closed.push([code, reason]);
  }
  pause(): void {}
  resume(): void {}
  attach(handlers: ChannelHandlers): void {
    this.handlers = handlers;
  }
  receive(write: (w: FrameWriter) => void): void {
    const w = new FrameWriter();
    write(w);
    this.handlers?.onBatch(w.take());
  }
}

const STREAM = '0123456789abcdef';
const PEER_STREAM = 'fedcba9876543210';
const settleTick = (): Promise<void> => new Promise((r) => setImmediate(r));

function openInitiatorSession(maxPayloadBytes: number, outbox = new Outbox(1000, STREAM), unwatchedFailure: (id: string, reason: string) => void = () => {}) {
  const channel = new RecordingChannel();
  const inbox = new Inbox('', () => undefined, { hookFailed() {}, duplicate() {}, pressure() {} }, 100);
  const session = new Session({
    role: 'initiator',
    channel,
    logger: silentLogger,
    metrics: createMetrics('initiator', { defaultMetrics: false }),
    armor: 'tls',
    handshakeTimeoutMs: 1000,
    maxPayloadBytes,
    streams: { outbox, inbox },
    newInbox: (id) => new Inbox(id, () => undefined, { hookFailed() {}, duplicate() {}, pressure() {} }, 100),
    unwatchedFailure,
  });
  session.start();
  channel.receive((w) => w.control(FrameType.WELCOME, { v: 1, role: 'terminator', sessionId: 'aaaaaaaaaaaaaaaa', streamId: PEER_STREAM, resumeFrom: 0 }));
  return { channel, outbox, session };
}

function dataFrames(batches: Buffer[]): Array<{ seq: number; flags: number; payload: string }> {
  const frames: Array<{ seq: number; flags: number; payload: string }> = [];
  for (const batch of batches) decodeFrames(batch, { control() {}, data: (seq, flags, buf, start, end) => frames.push({ seq, flags, payload: buf.toString('utf8', start, end) }), ack() {}, nack() {} });
  return frames;
}

function dataFramesHex(batches: Buffer[]): Array<{ seq: number; flags: number; payload: string }> {
  const frames: Array<{ seq: number; flags: number; payload: string }> = [];
  for (const batch of batches) decodeFrames(batch, { control() {}, data: (seq, flags, buf, start, end) => frames.push({ seq, flags, payload: buf.toString('hex', start, end) }), ack() {}, nack() {} });
  return frames;
}

function countData(batch: Buffer): number {
  let n = 0;
  decodeFrames(batch, { control() {}, data: () => (n += 1), ack() {}, nack() {} });
  return n;
}

describe('session', () => {
  test('says HELLO first and opens on WELCOME', () => {
    const { channel, session } = openInitiatorSession(65536);
    assert.equal(channel.sent[0]?.[0], FrameType.HELLO);
    assert.equal(session.state, 'open');
    assert.equal(session.id, 'aaaaaaaaaaaaaaaa');
    session.close(1000, 'done');
  });

  test('the first message of a turn leaves at once; the rest of that turn leave together', async () => {
    const { channel, outbox, session } = openInitiatorSession(1024 * 1024);
    for (let i = 0; i < 50; i += 1) session.sendEntry(outbox.push(`{"i":${i}}`));
    assert.deepEqual(channel.sent.slice(1).map(countData), [1], 'the first message did not wait for the turn to end');
    await settleTick();
    assert.deepEqual(channel.sent.slice(1).map(countData), [1, 49]);
    session.sendEntry(outbox.push('{"i":50}'));
    assert.deepEqual(channel.sent.slice(1).map(countData), [1, 49, 1], 'a new turn sends its first message at once again');
    session.close(1000, 'done');
  });

  test('messages resent on a later session carry their original bytes, flagged redelivered', async () => {
    const outbox = new Outbox(1000, STREAM);
    const first = openInitiatorSession(65536, outbox);
    const texts = ['{"a":"é"}', '{"b":2}', '{"c":[3]}', '{"d":"late"}'];
    for (const text of texts.slice(0, 3)) first.session.sendEntry(outbox.push(text));
    await settleTick();
    // The last one is still in the unsent batch when the peer goes away (no flush on close).
    first.session.sendEntry(outbox.push(texts[0] as string));
    first.session.sendEntry(outbox.push(texts[3] as string));
    first.channel.handlers?.onClose(1006, '');
    assert.equal(first.session.state, 'closed');
    assert.deepEqual(dataFrames(first.channel.sent.slice(1)).map((f) => f.seq), [1, 2, 3, 4], 'seq 5 never left');

    const second = openInitiatorSession(65536, outbox);
    await settleTick();
    const resent = dataFrames(second.channel.sent.slice(1));
    assert.deepEqual(resent.map((f) => f.seq), [1, 2, 3, 4, 5]);
    assert.deepEqual(resent.map((f) => f.payload), [...texts.slice(0, 3), texts[0], texts[3]]);
    assert.deepEqual(resent.map((f) => f.flags), [1, 1, 1, 1, 0], 'only what an earlier connection carried is flagged');
    second.session.close(1000, 'done');
  });

  test('a bytes message resent on a later session keeps its kind and its bytes, and a reused caller buffer changes nothing', async () => {
    const outbox = new Outbox(1000, STREAM);
    const first = openInitiatorSession(65536, outbox);
    const caller = Buffer.from([0xde, 0xad, 0xbe, 0xef]);
    first.session.sendEntry(outbox.push('{"json":1}'));
    const entry = outbox.push(caller);
    first.session.sendEntry(entry);
    outbox.ownBytes(entry);
    first.session.sendEntry(outbox.push(new Uint8Array(0)));
    caller.fill(0);
    await settleTick();
    first.channel.handlers?.onClose(1006, '');
    // Pushed with no session open: the outbox keeps its own copy once the caller returns.
    const late = Buffer.from([1, 2, 3]);
    const lateEntry = outbox.push(late);
    outbox.ownBytes(lateEntry);
    late.fill(9);

    const second = openInitiatorSession(65536, outbox);
    await settleTick();
    const resent = dataFramesHex(second.channel.sent.slice(1));
    assert.deepEqual(resent, [
      { seq: 1, flags: FLAG_REDELIVERED, payload: Buffer.from('{"json":1}').toString('hex') },
      { seq: 2, flags: FLAG_REDELIVERED | FLAG_BYTES, payload: 'deadbeef' },
      { seq: 3, flags: FLAG_REDELIVERED | FLAG_BYTES, payload: '' },
      { seq: 4, flags: FLAG_BYTES, payload: '010203' },
    ]);
    second.session.close(1000, 'done');
  });

  test('3,000 messages over many batches and slabs are resent byte for byte on the next session', async () => {
    const outbox = new Outbox(10_000, STREAM);
    const first = openInitiatorSession(1024 * 1024, outbox);
    const texts = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ i, body: (i % 3 ? 'x' : 'ü').repeat(1000 + (i % 7)) }));
    for (let i = 0; i < texts.length; i += 1) {
      first.session.sendEntry(outbox.push(texts[i] as string));
      if (i % 500 === 499) await settleTick();
    }
    await settleTick();
    assert.ok(first.channel.sent.length > 10, 'the messages left in many batches');
    first.channel.handlers?.onClose(1006, '');
    const second = openInitiatorSession(1024 * 1024, outbox);
    await settleTick();
    const resent = dataFrames(second.channel.sent.slice(1));
    assert.equal(resent.length, texts.length);
    resent.forEach((f, i) => assert.equal(f.payload, texts[i], `seq ${f.seq}`));
    assert.equal(outbox.bytes, texts.reduce((n, t) => n + Buffer.byteLength(t), 0), 'the outbox counts the exact UTF-8 bytes once encoded');
    second.session.close(1000, 'done');
  });

  test('a batch that outgrew its slab and died unsent is resent byte for byte', async () => {
    const outbox = new Outbox(10_000, STREAM);
    const first = openInitiatorSession(1024 * 1024, outbox);
    const text = (i: number): string => JSON.stringify({ i, body: (i % 2 ? 'é' : 'x').repeat(600) });
    // Fill most of a 1 MiB slab with batches that leave, so the next batch starts in its rest.
    let seq = 0;
    for (; seq < 1000; seq += 1) first.session.sendEntry(outbox.push(text(seq)));
    await settleTick();
    const sentBefore = first.channel.sent.length;
    // One turn of ~200 KB, under the batch limit but more than the slab has left: its batch
    // continues in a copy.
    for (const end = seq + 220; seq < end; seq += 1) first.session.sendEntry(outbox.push(text(seq)));
    const unsent = [...outbox.pending()].filter((entry) => !entry.sent);
    assert.ok(unsent.length > 100, `most of the turn is still in the unsent batch (${unsent.length})`);
    assert.ok(new Set(unsent.map((entry) => (entry.batch as Buffer).buffer)).size > 1, 'the unsent batch outgrew the buffer it started in');
    first.channel.handlers?.onClose(1006, '');
    assert.ok(first.channel.sent.length > sentBefore);

    const second = openInitiatorSession(1024 * 1024, outbox);
    await settleTick();
    const resent = dataFrames(second.channel.sent.slice(1));
    assert.equal(resent.length, 1220);
    resent.forEach((f, i) => assert.equal(f.payload, text(i), `seq ${f.seq}`));
    const flagged = resent.filter((f) => f.flags === 1).length;
    assert.equal(flagged, 1220 - unsent.length, 'only what left before is flagged redelivered');
    second.session.close(1000, 'done');
  });

  test('never lets a batch grow past what the peer accepts (maxPayloadBytes)', async () => {
    const maxPayloadBytes = 4096;
    const { channel, outbox, session } = openInitiatorSession(maxPayloadBytes);
    const message = JSON.stringify({ pad: 'x'.repeat(900) });
    for (let i = 0; i < 40; i += 1) session.sendEntry(outbox.push(message));
    session.reportFailure(1, 'r'.repeat(5000));
    await settleTick();
    const batches = channel.sent.slice(1);
    assert.ok(batches.length > 1, 'the messages were split over several batches');
    for (const b of batches) assert.ok(b.length <= maxPayloadBytes - 29, `a batch of ${b.length} bytes leaves room for the armor seal`);
    assert.equal(batches.reduce((n, b) => n + countData(b), 0), 40, 'every message was written once');
    session.close(1000, 'done');
  });

  test('an ACK from the peer settles the callers of every message up to it', async () => {
    const { channel, outbox, session } = openInitiatorSession(65536);
    const settled: number[] = [];
    for (let i = 0; i < 3; i += 1) session.sendEntry(outbox.push('{}', (err, d) => settled.push(err ? -1 : d.seq)));
    await settleTick();
    channel.receive((w) => w.ack(2));
    assert.deepEqual(settled, [1, 2]);
    assert.equal(outbox.depth, 1);
    session.close(1000, 'done');
  });

  test('a NACKed message nobody awaits goes to unwatchedFailure with its id once the ACK covers it; an awaited one to its caller', async () => {
    const unwatched: string[] = [];
    const { channel, outbox, session } = openInitiatorSession(65536, undefined, (id, reason) => unwatched.push(`${id}: ${reason}`));
    const told: string[] = [];
    session.sendEntry(outbox.push('{"n":1}'));
    session.sendEntry(outbox.push('{"n":2}', (err) => told.push(String((err as FerryError).code))));
    session.sendEntry(outbox.push('{"n":3}'));
    await settleTick();
    channel.receive((w) => {
      w.nack(1, 'boom');
      w.nack(2, 'bang');
    });
    assert.deepEqual(unwatched, [], 'not before the ACK');
    channel.receive((w) => w.ack(3));
    assert.deepEqual(unwatched, [`${STREAM}-1: boom`]);
    assert.deepEqual(told, ['FERRY_ERR_REMOTE_HOOK']);
    assert.equal(outbox.depth, 0);
    session.close(1000, 'done');
  });

  test('an ACK for a message never sent ends the session as a protocol error', () => {
    const { channel, session } = openInitiatorSession(65536);
    channel.receive((w) => w.ack(5));
    assert.equal(session.state, 'closed');
    assert.deepEqual(channel.closed, [[1002, 'FERRY_ERR_PROTOCOL']]);
  });
});
