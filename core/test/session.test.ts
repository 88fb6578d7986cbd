/** The session over a recording channel (no socket): handshake, batching limits, acks. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FerryError } from '../src/errors.js';
import { silentLogger } from '../src/log.js';
import { createMetrics } from '../src/metrics.js';
import { Inbox } from '../src/session/inbox.js';
import { Outbox } from '../src/session/outbox.js';
import { Session, type Streams } from '../src/session/session.js';
import type { ChannelHandlers, FrameChannel } from '../src/transport/channel.js';
import { FLAG_ACK_DELAYABLE, FLAG_BYTES, FLAG_REDELIVERED, FrameType, PROTOCOL_VERSION } from '../src/wire/constants.js';
import { decodeFrames } from '../src/wire/decoder.js';
import { FrameWriter } from '../src/wire/encoder.js';
import { eventually } from '../../test/helpers/procs.js';

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

/**
 * A channel done with each batch as soon as it is sent, as ws is once the socket has it: the
 * batch's slab may then be written again, so it records a copy (and which memory it was in).
 */
class WritingChannel extends RecordingChannel {
  /** The memory each sent batch was in, by index in `sent`. */
  readonly memoryOf: ArrayBufferLike[] = [];
  override send(batch: Buffer, done?: () => void): void {
    this.sent.push(Buffer.from(batch));
    this.memoryOf.push(batch.buffer);
    done?.();
  }
}

function openInitiatorSession(maxPayloadBytes: number, outbox = new Outbox(1000, STREAM), remoteHookFailed: (id: string, reason: string, watched: boolean) => void = () => {}, metrics = createMetrics('initiator', { defaultMetrics: false }), channel = new RecordingChannel(), ackDelayMs = 0) {
  const inbox = new Inbox('', () => undefined, { hookFailed() {}, duplicate() {}, pressure() {} }, 100);
  const session = new Session({
    role: 'initiator',
    channel,
    logger: silentLogger,
    metrics,
    armor: 'tls',
    handshakeTimeoutMs: 1000,
    maxPayloadBytes,
    ackDelayMs,
    streams: { outbox, inbox },
    newInbox: (id) => new Inbox(id, () => undefined, { hookFailed() {}, duplicate() {}, pressure() {} }, 100),
    remoteHookFailed,
  });
  session.start();
  channel.receive((w) => w.control(FrameType.WELCOME, { v: PROTOCOL_VERSION, role: 'terminator', sessionId: 'aaaaaaaaaaaaaaaa', streamId: PEER_STREAM, resumeFrom: 0, holdsFrom: 1 }));
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
    // The new one, which nobody awaits, lets its ACK wait; a resend never does.
    assert.deepEqual(resent.map((f) => f.flags), [1, 1, 1, 1, FLAG_ACK_DELAYABLE], 'only what an earlier connection carried is flagged redelivered');
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
      { seq: 4, flags: FLAG_BYTES | FLAG_ACK_DELAYABLE, payload: '010203' },
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

  test('messages still awaiting their ACK are resent byte for byte while the memory of acknowledged ones is written again', async () => {
    const outbox = new Outbox(10_000, STREAM);
    const metrics = createMetrics('initiator', { defaultMetrics: false });
    const first = openInitiatorSession(1024 * 1024, outbox, () => {}, metrics, new WritingChannel());
    const channel = first.channel as WritingChannel;
    const text = (i: number): string => JSON.stringify({ i, body: (i % 3 ? 'x' : 'ü').repeat(900 + (i % 11)) });
    const sendUpTo = async (end: number): Promise<void> => {
      for (let seq = outbox.lastSeq + 1; seq <= end; seq += 1) {
        first.session.sendEntry(outbox.push(text(seq)));
        if (seq % 250 === 0) await settleTick();
      }
      await settleTick();
    };
    await sendUpTo(3000);
    const sentBeforeAck = channel.sent.length;
    // The peer acknowledges the first 2,000: the slabs only they were in are free again.
    channel.receive((w) => w.ack(2000));
    await sendUpTo(5000);
    // Not the slab the writer was in at the ACK: that one it goes on filling anyway.
    const current = channel.memoryOf[sentBeforeAck - 1];
    const before = new Set(channel.memoryOf.slice(0, sentBeforeAck).filter((m) => m !== current));
    assert.ok(channel.memoryOf.slice(sentBeforeAck).some((m) => before.has(m)), 'a slab of acknowledged messages carried later batches');
    channel.handlers?.onClose(1006, '');

    const second = openInitiatorSession(1024 * 1024, outbox);
    await settleTick();
    const resent = dataFrames(second.channel.sent.slice(1));
    assert.deepEqual([resent[0]?.seq, resent.length], [2001, 3000]);
    resent.forEach((f) => assert.equal(f.payload, text(f.seq), `seq ${f.seq}`));
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

  test('a NACKed message goes to remoteHookFailed with its id once the ACK covers it (watched when a caller awaits it, who is told); counted as failed, the rest as delivered', async () => {
    const reported: string[] = [];
    const metrics = createMetrics('initiator', { defaultMetrics: false });
    const { channel, outbox, session } = openInitiatorSession(65536, undefined, (id, reason, watched) => reported.push(`${id}: ${reason}${watched ? ' (watched)' : ''}`), metrics);
    const told: string[] = [];
    session.sendEntry(outbox.push('{"n":1}'));
    session.sendEntry(outbox.push('{"n":2}', (err) => told.push(String((err as FerryError).code))));
    session.sendEntry(outbox.push('{"n":3}'));
    await settleTick();
    channel.receive((w) => {
      w.nack(1, 'boom');
      w.nack(2, 'bang');
    });
    assert.deepEqual(reported, [], 'not before the ACK');
    channel.receive((w) => w.ack(3));
    assert.deepEqual(reported, [`${STREAM}-1: boom`, `${STREAM}-2: bang (watched)`]);
    assert.deepEqual(told, ['FERRY_ERR_REMOTE_HOOK']);
    assert.equal(outbox.depth, 0);
    const text = await metrics.registry.metrics();
    assert.match(text, /^ferry_messages_failed_total\{reason="FERRY_ERR_REMOTE_HOOK",role="initiator"\} 2$/m);
    assert.match(text, /^ferry_messages_delivered_total\{role="initiator"\} 1$/m);
    assert.match(text, /^ferry_delivery_latency_seconds_count\{role="initiator"\} 1$/m);
    session.close(1000, 'done');
  });

  test('an ACK for a message never sent ends the session as a protocol error', () => {
    const { channel, session } = openInitiatorSession(65536);
    channel.receive((w) => w.ack(5));
    assert.equal(session.state, 'closed');
    assert.deepEqual(channel.closed, [[1002, 'FERRY_ERR_PROTOCOL']]);
  });
});

/** Two ends of one connection between sessions; `cut()` drops it the way a proxy that switches backends does. */
class Wire {
  alive = true;
  /** The seq of every ACK frame the terminator end sent, in order. */
  readonly acksToInitiator: number[] = [];
  /** Lose everything the terminator sends (its ACKs), as when a connection dies before they leave. */
  dropToInitiator = false;
  readonly initiatorEnd = new WireEnd(this, false);
  readonly terminatorEnd = new WireEnd(this, true);

  cut(): void {
    if (!this.alive) return;
    this.alive = false;
    setImmediate(() => {
      this.initiatorEnd.emit((h) => h.onClose(1006, ''));
      this.terminatorEnd.emit((h) => h.onClose(1006, ''));
    });
  }
}

class WireEnd implements FrameChannel {
  readonly #wire: Wire;
  readonly #isTerminator: boolean;
  #handlers: ChannelHandlers | null = null;
  #early: Array<(h: ChannelHandlers) => void> = [];

  constructor(wire: Wire, isTerminator: boolean) {
    this.#wire = wire;
    this.#isTerminator = isTerminator;
  }

  get #peer(): WireEnd {
    return this.#isTerminator ? this.#wire.initiatorEnd : this.#wire.terminatorEnd;
  }

  send(batch: Buffer): void {
    if (!this.#wire.alive || (this.#isTerminator && this.#wire.dropToInitiator)) return;
    const copy = Buffer.from(batch);
    if (this.#isTerminator) this.#wire.acksToInitiator.push(...acksIn([copy]));
    // A batch still in flight when the wire is cut is lost with it.
    setImmediate(() => {
      if (this.#wire.alive) this.#peer.emit((h) => h.onBatch(copy));
    });
  }

  close(code: number, reason: string): void {
    if (!this.#wire.alive) return;
    this.#wire.alive = false;
    setImmediate(() => this.#peer.emit((h) => h.onClose(code, reason)));
  }

  pause(): void {}
  resume(): void {}

  attach(handlers: ChannelHandlers): void {
    this.#handlers = handlers;
    for (const event of this.#early.splice(0)) event(handlers);
  }

  emit(event: (h: ChannelHandlers) => void): void {
    if (this.#handlers) event(this.#handlers);
    else this.#early.push(event);
  }
}

/** A terminator replica's memory of initiator streams, as its StreamRegistry keeps it. */
class Replica {
  readonly name: string;
  readonly streams = new Map<string, Streams>();
  /** Every hook call, in order: [seq, redelivered]. */
  readonly delivered: Array<[number, boolean]> = [];

  constructor(name: string) {
    this.name = name;
  }

  streamsFor(streamId: string): Streams {
    let streams = this.streams.get(streamId);
    if (!streams) {
      const inbox = new Inbox(streamId, (_b, _s, _e, _f, m) => this.delivered.push([m.seq, m.redelivered]), { hookFailed() {}, duplicate() {}, pressure() {} }, 100);
      streams = { inbox, outbox: new Outbox(1000) };
      this.streams.set(streamId, streams);
    }
    return streams;
  }
}

/** One initiator stream dialing through a switching proxy to whichever replica it is pointed at. */
class MovingInitiator {
  readonly outbox = new Outbox(100_000, STREAM);
  inbox = new Inbox('', () => undefined, { hookFailed() {}, duplicate() {}, pressure() {} }, 100);
  /** How each session ended, both sides: undefined for a cut, else the error code. */
  readonly endings: Array<string | undefined> = [];
  session: Session | undefined;
  wire: Wire | undefined;

  /** `terminatorAckDelayMs`: the replica's session.ackDelayMs (0: every batch acknowledged at once). */
  async connect(replica: Replica, terminatorAckDelayMs = 0): Promise<void> {
    const wire = new Wire();
    const metrics = createMetrics('initiator', { defaultMetrics: false });
    const common = { logger: silentLogger, metrics, armor: 'tls' as const, handshakeTimeoutMs: 2000, maxPayloadBytes: 1024 * 1024, ackDelayMs: 0, remoteHookFailed() {} };
    const terminator = new Session({ ...common, ackDelayMs: terminatorAckDelayMs, role: 'terminator', channel: wire.terminatorEnd, streams: (hello) => replica.streamsFor(hello.streamId) });
    const initiator = new Session({
      ...common,
      role: 'initiator',
      channel: wire.initiatorEnd,
      streams: { outbox: this.outbox, inbox: this.inbox },
      newInbox: (id) => new Inbox(id, () => undefined, { hookFailed() {}, duplicate() {}, pressure() {} }, 100),
    });
    for (const s of [terminator, initiator]) s.onClose((_code, _reason, err) => this.endings.push(err?.code));
    const opened = new Promise<void>((resolve) => initiator.onOpen(resolve));
    terminator.start();
    initiator.start();
    await opened;
    this.inbox = (initiator.streams as Streams).inbox;
    this.session = initiator;
    this.wire = wire;
  }

  send(count: number): void {
    for (let i = 0; i < count; i += 1) this.session?.sendEntry(this.outbox.push(`{"n":${this.outbox.lastSeq + 1}}`));
  }
}

const ticks = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i += 1) await settleTick();
};

describe('session: a stream that moves between terminator replicas', () => {
  test('HELLO says the lowest seq the outbox still holds, or its next one when it holds none', async () => {
    const outbox = new Outbox(100, STREAM);
    const helloOf = (channel: RecordingChannel): Record<string, unknown> => {
      let body: unknown;
      decodeFrames(channel.sent[0] as Buffer, { control: (_t, b) => (body = b), data() {}, ack() {}, nack() {} });
      return body as Record<string, unknown>;
    };
    const first = openInitiatorSession(65536, outbox);
    assert.equal(helloOf(first.channel)['holdsFrom'], 1);
    assert.equal(helloOf(first.channel)['v'], PROTOCOL_VERSION);
    for (let i = 0; i < 5; i += 1) first.session.sendEntry(outbox.push('{}'));
    await settleTick();
    first.channel.receive((w) => w.ack(3));
    first.channel.handlers?.onClose(1006, '');
    assert.equal(helloOf(openInitiatorSession(65536, outbox).channel)['holdsFrom'], 4);
    outbox.ack(5, () => {});
    assert.equal(helloOf(openInitiatorSession(65536, outbox).channel)['holdsFrom'], 6);
  });

  test('A → B → A: A moves past what B acknowledged instead of refusing the stream (FERRY_ERR_SEQUENCE)', async () => {
    const a = new Replica('A');
    const b = new Replica('B');
    const initiator = new MovingInitiator();
    await initiator.connect(a);
    initiator.send(5);
    await ticks(6);
    initiator.wire?.cut();
    await ticks(2);
    await initiator.connect(b);
    initiator.send(3);
    await ticks(6);
    initiator.wire?.cut();
    await ticks(2);
    await initiator.connect(a);
    initiator.send(2);
    await ticks(6);
    assert.equal(initiator.session?.state, 'open', `the session on A stays open (endings: ${initiator.endings.join(', ')})`);
    assert.deepEqual(a.delivered.map(([n]) => n), [1, 2, 3, 4, 5, 9, 10]);
    assert.deepEqual(b.delivered, [[6, false], [7, false], [8, false]]);
    assert.equal(initiator.outbox.depth, 0, 'every message acknowledged');
    assert.deepEqual(initiator.endings, [undefined, undefined, undefined, undefined], 'only the two cuts ended sessions');
  });

  test('bounced A ↔ B 40 times with ACKs lost on some connections: every message delivered, each replica in order, at most one unflagged copy', async () => {
    let seed = 12;
    const random = (): number => {
      // mulberry32: a fixed sequence, so a failure can be replayed.
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const replicas = [new Replica('A'), new Replica('B')];
    const initiator = new MovingInitiator();
    for (let round = 0; round < 40; round += 1) {
      await initiator.connect(replicas[round % 2] as Replica);
      (initiator.wire as Wire).dropToInitiator = random() < 0.3;
      for (let turn = 0; turn < 3; turn += 1) {
        initiator.send(1 + Math.floor(random() * 60));
        await ticks(Math.floor(random() * 4));
      }
      initiator.wire?.cut();
      await ticks(2);
    }
    await initiator.connect(replicas[0] as Replica);
    await ticks(10);
    assert.equal(initiator.outbox.depth, 0, 'everything acknowledged at the end');
    assert.ok(initiator.endings.every((code) => code === undefined), `no session ended by an error: ${initiator.endings.filter(Boolean).join(', ')}`);
    const total = initiator.outbox.lastSeq;
    const copies = new Map<number, boolean[]>();
    const moves = new Map<string, number>();
    for (const replica of replicas) {
      let last = 0;
      for (const [seq, redelivered] of replica.delivered) {
        assert.ok(seq > last, `${replica.name} delivered ${seq} after ${last}: in order, each once`);
        if (last > 0 && seq > last + 1) moves.set(replica.name, (moves.get(replica.name) ?? 0) + 1);
        last = seq;
        copies.set(seq, [...(copies.get(seq) ?? []), redelivered]);
      }
    }
    for (let seq = 1; seq <= total; seq += 1) {
      const flags = copies.get(seq);
      assert.ok(flags, `seq ${seq} was delivered`);
      assert.ok(flags.filter((f) => !f).length <= 1, `seq ${seq}: at most its first transmission arrives unflagged (${flags.join(', ')})`);
    }
    const duplicated = [...copies.values()].filter((f) => f.length > 1).length;
    assert.ok(duplicated > 0, 'the run exercised redeliveries to the other replica');
    assert.ok((moves.get('A') ?? 0) > 5 && (moves.get('B') ?? 0) > 5, `each replica moved past what the other acknowledged, many times (${[...moves].join(' ')})`);
  });
});

/** ACK frames in what a recording channel sent, by seq. */
function acksIn(batches: Buffer[]): number[] {
  const acks: number[] = [];
  for (const batch of batches) decodeFrames(batch, { control() {}, data() {}, ack: (seq) => acks.push(seq), nack() {} });
  return acks;
}

/** A DATA frame from the peer's stream, with `flags`. */
function peerData(channel: RecordingChannel, seq: number, flags: number): void {
  channel.receive((w) => w.data(seq, flags, `{"n":${seq}}`));
}

/** One initiator stream connected to a fresh replica whose session.ackDelayMs is `terminatorAckDelayMs`. */
async function connectedTo(terminatorAckDelayMs: number): Promise<{ replica: Replica; initiator: MovingInitiator; wire: Wire }> {
  const replica = new Replica('A');
  const initiator = new MovingInitiator();
  await initiator.connect(replica, terminatorAckDelayMs);
  return { replica, initiator, wire: initiator.wire as Wire };
}

/** A delay no test waits out: whatever is acknowledged under it was acknowledged at once. */
const NEVER_MS = 60_000;

describe('session: delayed acknowledgements (session.ackDelayMs)', () => {
  test('a sender marks a frame FLAG_ACK_DELAYABLE only when nobody awaits it and its outbox is under half full', async () => {
    const outbox = new Outbox(10, STREAM);
    const { channel, session } = openInitiatorSession(65536, outbox);
    for (let i = 0; i < 6; i += 1) session.sendEntry(outbox.push(`{"w":${i}}`));
    session.sendEntry(outbox.push('{"awaited":true}', () => {}));
    await settleTick();
    const flags = dataFrames(channel.sent.slice(1)).map((f) => f.flags);
    // Depth after each push 1..7 of a 10-message outbox: from the 5th on it is half full.
    assert.deepEqual(flags, [FLAG_ACK_DELAYABLE, FLAG_ACK_DELAYABLE, FLAG_ACK_DELAYABLE, FLAG_ACK_DELAYABLE, 0, 0, 0]);
    session.close(1000, 'done');
  });

  test('a frame whose UTF-8 bytes take the outbox past half is not marked, though its UTF-16 count was under half', async () => {
    const outbox = new Outbox(1000, STREAM, 100);
    const { channel, session } = openInitiatorSession(65536, outbox);
    // 30 UTF-16 units (under half of 100) but 52 UTF-8 bytes (past half) once encoded.
    const text = `{"t":"${'é'.repeat(22)}"}`;
    session.sendEntry(outbox.push(text));
    await settleTick();
    assert.equal(outbox.isPastHalf, true);
    assert.deepEqual(dataFrames(channel.sent.slice(1)).map((f) => f.flags), [0], 'write() asks its caller to wait for this ACK: it must not be delayed');
    session.close(1000, 'done');
  });

  test('write() messages are acknowledged after ackDelayMs by one ACK for all of them, not one per batch', async () => {
    // A second: the three batches must come within half of it (an ACK that has waited half
    // leaves with the next batch), and a GC pause or a busy VM must not make 12 turns take that.
    const { replica, initiator, wire } = await connectedTo(1000);
    for (let batch = 0; batch < 3; batch += 1) {
      initiator.send(2);
      await ticks(4);
    }
    assert.deepEqual(replica.delivered.map(([n]) => n), [1, 2, 3, 4, 5, 6], 'every hook ran');
    assert.equal(initiator.outbox.depth, 6, 'their ACK waits');
    assert.deepEqual(wire.acksToInitiator, []);
    await eventually(() => initiator.outbox.depth === 0, 5000, 'the delayed ACK');
    assert.deepEqual(wire.acksToInitiator, [6], 'one ACK covered the three batches');
  });

  test('an ACK that has waited half of ackDelayMs leaves with the next batch, not at its timer', async () => {
    const { initiator, wire } = await connectedTo(800);
    initiator.send(2);
    await sleep(500);
    assert.deepEqual(wire.acksToInitiator, [], 'under the delay: it waits');
    initiator.send(2);
    await ticks(6);
    assert.deepEqual(wire.acksToInitiator, [4], 'past half of it: one ACK for both batches, right after the second');
    assert.equal(initiator.outbox.depth, 0);
  });

  test('a timer whose ACK left with a batch waits out the delay of the ACK that began to wait after it', async () => {
    const { initiator, wire } = await connectedTo(800);
    initiator.send(1);
    await sleep(500);
    initiator.send(1);
    await ticks(6);
    assert.deepEqual(wire.acksToInitiator, [2], 'the first ACK left with the second batch');
    initiator.send(1);
    await sleep(500);
    // The first timer was due 300 ms ago; the third message has waited 500 of its 800 ms.
    assert.deepEqual(wire.acksToInitiator, [2], 'no ACK written early for the third');
    await eventually(() => wire.acksToInitiator.length === 2, 5000, 'the third ACK');
    assert.deepEqual(wire.acksToInitiator, [2, 3]);
  });

  test('a message someone awaits is acknowledged at once, and its ACK takes the waiting ones along', async () => {
    const { initiator, wire } = await connectedTo(NEVER_MS);
    initiator.send(2);
    await ticks(6);
    assert.equal(initiator.outbox.depth, 2, 'write()s wait for their ACK');
    let settled: Error | null | undefined;
    initiator.session?.sendEntry(initiator.outbox.push('{"awaited":true}', (err) => (settled = err)));
    await ticks(6);
    assert.equal(settled, null, 'the awaited message was acknowledged');
    assert.equal(initiator.outbox.depth, 0);
    assert.deepEqual(wire.acksToInitiator, [3]);
  });

  test('a marked stream that brought 64 KiB since the last ACK is acknowledged at once: a flood is not slowed by the delay', async () => {
    const { initiator, wire } = await connectedTo(NEVER_MS);
    const body = 'x'.repeat(1000);
    for (let i = 0; i < 70; i += 1) initiator.session?.sendEntry(initiator.outbox.push(`{"b":"${body}"}`));
    await ticks(8);
    assert.deepEqual(wire.acksToInitiator, [70], 'one batch of 70 KB: acknowledged without waiting');
    initiator.send(2);
    await ticks(8);
    assert.deepEqual(wire.acksToInitiator, [70], 'a small one after it waits again');
  });

  test('ackDelayMs 0: every batch is acknowledged at once, marked or not', async () => {
    const { initiator, wire } = await connectedTo(0);
    initiator.send(2);
    await ticks(6);
    initiator.send(2);
    await ticks(6);
    assert.equal(initiator.outbox.depth, 0);
    assert.deepEqual(wire.acksToInitiator, [2, 4]);
  });

  test('as receiver: an unmarked frame is acknowledged at once with the marked ones before it, and a waiting ACK leaves with a close, not lost', async () => {
    const { channel, session } = openInitiatorSession(65536, undefined, undefined, undefined, undefined, NEVER_MS);
    const before = channel.sent.length;
    peerData(channel, 1, FLAG_ACK_DELAYABLE);
    peerData(channel, 2, FLAG_ACK_DELAYABLE);
    await ticks(4);
    assert.deepEqual(acksIn(channel.sent.slice(before)), [], 'marked: the ACK waits');
    peerData(channel, 3, 0);
    await ticks(4);
    assert.deepEqual(acksIn(channel.sent.slice(before)), [3], 'unmarked: acknowledged at once, with 1 and 2');
    peerData(channel, 4, FLAG_ACK_DELAYABLE);
    await ticks(4);
    assert.deepEqual(acksIn(channel.sent.slice(before)), [3], 'marked again: waits again');
    session.close(1000, 'done');
    assert.deepEqual(acksIn(channel.sent.slice(before)), [3, 4], 'the close flushed the waiting ACK');
  });
});

describe('session open', () => {
  test('a send that fails while the resend loop runs ends the session before it opens: no open listener, inbox not attached', () => {
    class FailingAfterHello extends RecordingChannel {
      override send(batch: Buffer): void {
        if (this.sent.length > 0) throw new Error('socket gone');
        super.send(batch);
      }
    }
    const channel = new FailingAfterHello();
    const outbox = new Outbox(1000, STREAM);
    outbox.push('{"a":1}');
    outbox.push('{"b":2}');
    const inbox = new Inbox('', () => undefined, { hookFailed() {}, duplicate() {}, pressure() {} }, 100);
    let attached = 0;
    const attach = inbox.attach.bind(inbox);
    inbox.attach = (...args) => {
      attached += 1;
      return attach(...args);
    };
    const session = new Session({
      role: 'initiator',
      channel,
      logger: silentLogger,
      metrics: createMetrics('initiator', { defaultMetrics: false }),
      armor: 'tls',
      handshakeTimeoutMs: 1000,
      maxPayloadBytes: 65536,
      ackDelayMs: 0,
      streams: { outbox, inbox },
      newInbox: () => inbox,
      remoteHookFailed: () => {},
    });
    const events: string[] = [];
    session.onOpen(() => events.push('open'));
    session.onClose(() => events.push('close'));
    session.start();
    channel.receive((w) => w.control(FrameType.WELCOME, { v: PROTOCOL_VERSION, role: 'terminator', sessionId: 'aaaaaaaaaaaaaaaa', streamId: PEER_STREAM, resumeFrom: 0, holdsFrom: 1 }));
    assert.equal(session.state, 'closed');
    assert.deepEqual(events, ['close'], 'open listeners must not run after the session closed');
    assert.equal(attached, 0, 'a closed session must not be attached to the inbox');
    assert.equal(outbox.depth, 2, 'both messages wait for the next session');
  });
});
