/** The outbox and inbox: the two halves of a stream that make delivery at-least-once, in order. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FerryError } from '../src/errors.js';
import { Inbox, MAX_REMEMBERED_FAILURES, type AckSink, type InboxEvents } from '../src/session/inbox.js';
import { decimal, messageId } from '../src/session/message-id.js';
import { Outbox, payloadOf, type Delivery } from '../src/session/outbox.js';
import { FLAG_BYTES, FLAG_REDELIVERED } from '../src/wire/constants.js';
import { SlabPool } from '../src/wire/slab.js';
import { FrameWriter } from '../src/wire/encoder.js';

const payload = (n: number): Buffer => Buffer.from(JSON.stringify({ n }));
/** Hands the inbox a frame the way the decoder does: its payload sits inside a larger batch. */
const accept = (inbox: Inbox, seq: number, flags: number, body: Buffer): void => {
  const batch = Buffer.concat([Buffer.from('head'), body, Buffer.from('tail')]);
  inbox.accept(seq, flags, batch, 4, 4 + body.length);
};

describe('message ids', () => {
  test('are the stream id and the decimal seq, like String(seq), at every group boundary up to 2^48', () => {
    const samples = [0, 1, 9, 10, 99, 100, 999, 1000, 1001, 10_000, 100_000, 999_999, 1_000_000, 1_000_001, 1_002_003, 2 ** 31, 2 ** 32 + 7, 2 ** 48 - 1];
    for (let n = 0; n < 5000; n += 1) samples.push(n * 7919 + 13);
    for (const n of samples) assert.equal(decimal(n), String(n));
    assert.equal(messageId('00112233aabbccdd', 1_000_042), '00112233aabbccdd-1000042');
  });
});

describe('outbox', () => {
  test('numbers messages from 1 and derives ids from the stream id', () => {
    const box = new Outbox(10, '00112233aabbccdd');
    const a = box.push(payload(1));
    const b = box.push(payload(2));
    assert.deepEqual([a.seq, b.seq], [1, 2]);
    assert.equal(box.idOf(2), '00112233aabbccdd-2');
  });

  test('a cumulative ack settles everything up to it, in order', () => {
    const box = new Outbox(10);
    const settled: number[] = [];
    for (let i = 1; i <= 5; i += 1) box.push(payload(i), (_err, d) => settled.push(d.seq));
    const acked: number[] = [];
    assert.equal(box.ack(3, (e) => acked.push(e.seq)), 3);
    assert.deepEqual(acked, [1, 2, 3]);
    assert.deepEqual(settled, [1, 2, 3]);
    assert.deepEqual([...box.pending()].map((e) => e.seq), [4, 5]);
  });

  test('refuses a message when full, with a coded error, and wakes waiters once acks bring it under half', async () => {
    const box = new Outbox(4);
    for (let i = 1; i <= 4; i += 1) box.push(payload(i));
    assert.throws(() => box.push(payload(5)), (err: unknown) => err instanceof FerryError && err.code === 'FERRY_ERR_OUTBOX_FULL');
    let woke = false;
    const waiting = box.whenUnderHalf().then(() => { woke = true; });
    box.ack(1, () => {});
    await Promise.resolve();
    assert.equal(woke, false, 'room for one more, but 3 of 4 is past half');
    box.ack(2, () => {});
    await Promise.resolve();
    assert.equal(woke, false, '2 of 4 is half: still waiting');
    box.ack(3, () => {});
    await waiting;
    assert.equal(woke, true);
  });

  test('pushes back at outboxLimitBytes, naming both limits, yet takes a lone message larger than it', () => {
    const box = new Outbox(1000, undefined, 100_000);
    const big = 'x'.repeat(60_000);
    box.push(big);
    box.push(big);
    assert.equal(box.isFull, true, '120,000 bytes held: full although only 2 of 1000 messages');
    assert.throws(() => box.push('{}'), (err: unknown) => err instanceof FerryError && err.code === 'FERRY_ERR_OUTBOX_FULL' && /session\.outboxLimitBytes=100000/.test(err.message));
    box.ack(2, () => {});
    assert.equal(box.bytes, 0);
    box.push('y'.repeat(150_000));
    assert.equal(box.depth, 1, 'an empty outbox takes one message over the byte limit');
    assert.equal(box.isFull, true);
  });

  test('find() looks up an unacknowledged entry by seq after acks moved the head', () => {
    const box = new Outbox(10);
    for (let i = 1; i <= 4; i += 1) box.push(payload(i));
    box.ack(2, () => {});
    assert.equal(box.find(3)?.seq, 3);
    assert.equal(box.find(2), undefined);
  });

  test('failAll tells every caller, reports the messages nobody awaits, and empties the outbox', () => {
    const box = new Outbox(10);
    const errors: string[] = [];
    box.push(payload(1), (err) => errors.push(String((err as FerryError).code)));
    box.push(payload(2), (err) => errors.push(String((err as FerryError).code)));
    box.push(payload(3));
    assert.deepEqual(box.failAll(new FerryError('FERRY_ERR_SHUTTING_DOWN', 'bye')), { failed: 3, unwatched: 1 });
    assert.deepEqual(errors, ['FERRY_ERR_SHUTTING_DOWN', 'FERRY_ERR_SHUTTING_DOWN']);
    assert.equal(box.depth, 0);
  });

  test('an ack tells each caller its message id, seq and whether it was redelivered', () => {
    const box = new Outbox(10, '00112233aabbccdd');
    const deliveries: Delivery[] = [];
    const first = box.push('{"n":1}', (err, d) => deliveries.push(err ? { ...d, id: 'failed' } : d));
    const second = box.push('{"n":2}', (err, d) => deliveries.push(err ? { ...d, id: 'failed' } : d));
    const w = new FrameWriter();
    assert.equal(box.markResent(first), false, 'never sent: not a resend');
    box.markEncoded(first, w.buffer, w.data(first.seq, 0, payloadOf(first)), w.slab);
    const slab = w.slab;
    box.markSent([first], w.take(), slab);
    // The connection died: the next one writes both again.
    assert.equal(box.markResent(first), true);
    assert.equal(box.markResent(second), false);
    assert.deepEqual([first.redelivered, second.redelivered], [true, false]);
    assert.equal(box.ack(2, () => {}), 2);
    assert.deepEqual(deliveries, [
      { id: '00112233aabbccdd-1', seq: 1, redelivered: true },
      { id: '00112233aabbccdd-2', seq: 2, redelivered: false },
    ]);
  });

  test('a NACKed message is refused when the ACK covers it; one nobody awaits is handed back to report', () => {
    const box = new Outbox(10, '00112233aabbccdd');
    const refused: string[] = [];
    box.push('{"n":1}', (err, d) => refused.push(`${d.id} ${(err as FerryError).code}: ${(err as FerryError).message}`));
    box.push('{"n":2}');
    box.push('{"n":3}');
    box.nack(1, 'boom');
    box.nack(2, 'bang');
    box.nack(9, 'not held: ignored');
    const acked: Array<[number, string | undefined]> = [];
    assert.equal(box.ack(3, (e, unwatchedFailure) => acked.push([e.seq, unwatchedFailure])), 3);
    assert.deepEqual(refused, ["00112233aabbccdd-1 FERRY_ERR_REMOTE_HOOK: the peer's hook failed: boom"]);
    assert.deepEqual(acked, [[1, undefined], [2, 'bang'], [3, undefined]]);
  });

  test('an entry settled before its batch leaves holds no slab: the slab is reused once the writer and the send let go', () => {
    const pool = new SlabPool(64 * 1024, 4);
    const w = new FrameWriter(pool);
    const box = new Outbox(10);
    const text = JSON.stringify({ body: 'z'.repeat(50_000) });
    const entry = box.push(text);
    box.markEncoded(entry, w.buffer, w.data(entry.seq, 0, text), w.slab);
    const slab = w.slab;
    box.ack(1, () => {}); // the peer had it from an earlier connection
    slab.retain(); // the channel's hold while it sends
    const batch = w.take(); // too little room left: the writer moves on and lets go
    box.markSent([entry], batch, slab);
    assert.equal(pool.free, 0);
    slab.release(); // the channel is done
    assert.equal(pool.free, 1, 'nobody holds it: free for the next batch');
  });

  test('an encoded entry drops its text, is counted by its UTF-8 bytes and keeps its bytes once sent', () => {
    const box = new Outbox(10);
    const text = '{"name":"Zoë 🚢"}';
    const entry = box.push(text);
    assert.equal(box.bytes, text.length, 'counted by UTF-16 units until encoded');
    const w = new FrameWriter();
    w.ack(7);
    const at = w.data(entry.seq, 0, text);
    assert.ok(at > 0, 'the frame does not start the batch');
    box.markEncoded(entry, w.buffer, at, w.slab);
    assert.equal(entry.payload, undefined, 'the text is dropped');
    assert.equal(box.bytes, Buffer.byteLength(text));
    assert.equal((payloadOf(entry) as Buffer).toString('utf8'), text, 'found again in the unsent batch');
    const slab = w.slab;
    const batch = w.take();
    box.markSent([entry], batch, slab);
    assert.equal(entry.sent, true);
    assert.equal(entry.batch, batch);
    // The writer goes on with later batches; the entry's bytes stay as they were.
    for (let seq = 2; seq < 200; seq += 1) w.data(seq, 0, 'x'.repeat(1000));
    w.take();
    assert.equal((payloadOf(entry) as Buffer).toString('utf8'), text, 'found again in the batch that left');
    box.ack(1, () => {});
    assert.equal(box.bytes, 0);
  });

  test('keeps every message and its order while acks and pushes wrap around its storage and it grows', () => {
    const box = new Outbox(100);
    const settled: number[] = [];
    const push = (seq: number): void => {
      box.push(JSON.stringify({ seq }), (err, d) => settled.push(err ? -d.seq : d.seq));
    };
    let next = 1;
    let acked = 0;
    // Uneven steps: the oldest message sits anywhere in the storage when it has to grow.
    for (const [pushes, acks] of [[5, 3], [20, 7], [40, 30], [60, 50], [90, 44], [37, 80]] as const) {
      for (let i = 0; i < pushes && !box.isFull; i += 1) push(next++);
      acked = Math.min(acked + acks, next - 1);
      box.ack(acked, () => {});
      const held = [...box.pending()].map((e) => [e.seq, e.payload]);
      assert.deepEqual(held, Array.from({ length: next - 1 - acked }, (_, i) => [acked + 1 + i, JSON.stringify({ seq: acked + 1 + i })]));
      assert.equal(box.depth, next - 1 - acked);
      assert.equal(box.holdsFrom, acked + 1);
      assert.equal(box.find(acked + 1)?.seq, next - 1 > acked ? acked + 1 : undefined);
    }
    assert.deepEqual(settled, Array.from({ length: acked }, (_, i) => i + 1), 'each caller told once, in order');
    assert.ok(next - 1 > 100, 'more messages than the limit passed through');
  });

  test('an entry settled before its batch leaves and already carrying a newer message is not marked sent by that batch', () => {
    const box = new Outbox(1);
    const w = new FrameWriter();
    const first = box.push('{"n":1}');
    box.markEncoded(first, w.buffer, w.data(first.seq, 0, '{"n":1}'), w.slab);
    box.ack(1, () => {}); // the peer had it from an earlier connection
    const second = box.push('{"n":2}'); // no session takes it now: it waits, unsent
    const slab = w.slab;
    slab.retain();
    box.markSent([first], w.take(), slab);
    assert.equal(second.seq, 2);
    assert.equal(second.sent, false, 'the batch did not carry seq 2: its resend is not flagged');
    assert.equal(second.slab, undefined);
    assert.equal(payloadOf(second), '{"n":2}');
  });
});

class RecordingSink implements AckSink {
  acks: number[] = [];
  nacks: Array<[number, string]> = [];
  acknowledge(seq: number): void {
    this.acks.push(seq);
  }
  reportFailure(seq: number, reason: string): void {
    this.nacks.push([seq, reason]);
  }
}

function events(): InboxEvents & { failed: string[]; duplicates: number[] } {
  const failed: string[] = [];
  const duplicates: number[] = [];
  return { failed, duplicates, hookFailed: (err, m) => failed.push(`${m.seq}:${err.message}`), duplicate: (s) => duplicates.push(s), pressure() {} };
}

describe('inbox', () => {
  test('hands messages to a sync hook in order and acks the last one', () => {
    const got: number[] = [];
    const sink = new RecordingSink();
    const inbox = new Inbox('00112233aabbccdd', (b, s, e) => got.push(JSON.parse(b.toString('utf8', s, e)).n), events(), 100);
    inbox.attach(sink, 1);
    for (let i = 1; i <= 3; i += 1) accept(inbox, i, 0, payload(i));
    assert.deepEqual(got, [1, 2, 3]);
    assert.equal(sink.acks.at(-1), 3);
    assert.equal(inbox.lastDelivered, 3);
  });

  test('acks an async message only after its hook resolved, and keeps order', async () => {
    const order: string[] = [];
    const sink = new RecordingSink();
    let release: () => void = () => {};
    const inbox = new Inbox('00112233aabbccdd', (b, s, e) => {
      const n = JSON.parse(b.toString('utf8', s, e)).n as number;
      order.push(`start ${n}`);
      if (n === 1) return new Promise<void>((r) => { release = () => { order.push('end 1'); r(); }; });
      order.push(`end ${n}`);
      return undefined;
    }, events(), 100);
    inbox.attach(sink, 1);
    accept(inbox, 1, 0, payload(1));
    accept(inbox, 2, 0, payload(2));
    assert.deepEqual(order, ['start 1'], 'message 2 waits for message 1');
    assert.deepEqual(sink.acks, []);
    release();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(order, ['start 1', 'end 1', 'start 2', 'end 2']);
    assert.equal(sink.acks.at(-1), 2);
  });

  test('drops a duplicate, counts it, and acks again so the sender can forget it', () => {
    const got: number[] = [];
    const ev = events();
    const sink = new RecordingSink();
    const inbox = new Inbox('00112233aabbccdd', (b, s, e) => got.push(JSON.parse(b.toString('utf8', s, e)).n), ev, 100);
    inbox.attach(sink, 1);
    accept(inbox, 1, 0, payload(1));
    accept(inbox, 2, 0, payload(2));
    accept(inbox, 2, FLAG_REDELIVERED, payload(2));
    assert.deepEqual(got, [1, 2]);
    assert.deepEqual(ev.duplicates, [2]);
    assert.equal(sink.acks.at(-1), 2);
  });

  test('a NACK lost with its connection is reported again on the next session, ahead of any ACK', () => {
    const calls: number[] = [];
    const inbox = new Inbox('00112233aabbccdd', (b, s, e) => {
      const n = JSON.parse(b.toString('utf8', s, e)).n as number;
      calls.push(n);
      if (n === 2) throw new Error('boom on 2');
    }, events(), 100);
    const lost = new RecordingSink();
    inbox.attach(lost, 1);
    for (const n of [1, 2, 3]) accept(inbox, n, 0, payload(n));
    assert.deepEqual(lost.nacks, [[2, 'boom on 2']]);
    // The connection died with that NACK and its ACK unsent; the next session resumes before 2.
    inbox.detach(lost);
    assert.equal(inbox.lastDelivered, 3);
    assert.equal(inbox.resumeFrom, 1);
    const order: string[] = [];
    inbox.attach({ acknowledge: (seq) => order.push(`ack ${seq}`), reportFailure: (seq, reason) => order.push(`nack ${seq} ${reason}`) }, 2);
    // The sender still holds 2 and 3 and resends them, flagged.
    accept(inbox, 2, FLAG_REDELIVERED, payload(2));
    accept(inbox, 3, FLAG_REDELIVERED, payload(3));
    accept(inbox, 4, 0, payload(4));
    assert.equal(order[0], 'nack 2 boom on 2', `the NACK comes before any ACK (${order.join(', ')})`);
    assert.equal(order.at(-1), 'ack 4');
    assert.deepEqual(calls, [1, 2, 3, 4], 'no hook ran twice');
  });

  test('the NACK is repeated ahead of the ACK even when a hook is still running at the reconnect', async () => {
    const releases = new Map<number, (err?: Error) => void>();
    const inbox = new Inbox('00112233aabbccdd', (b, s, e) => {
      const n = JSON.parse(b.toString('utf8', s, e)).n as number;
      return new Promise<void>((resolve, reject) => releases.set(n, (err) => (err ? reject(err) : resolve())));
    }, events(), 100);
    const lost = new RecordingSink();
    inbox.attach(lost, 1);
    for (const n of [1, 2]) accept(inbox, n, 0, payload(n));
    releases.get(1)?.(new Error('async boom on 1'));
    await new Promise((r) => setImmediate(r));
    // The NACK for 1 went out on a connection that died; hook 2 is still running.
    inbox.detach(lost);
    const order: string[] = [];
    inbox.attach({ acknowledge: (seq) => order.push(`ack ${seq}`), reportFailure: (seq, reason) => order.push(`nack ${seq} ${reason}`) }, 1);
    accept(inbox, 1, FLAG_REDELIVERED, payload(1));
    accept(inbox, 2, FLAG_REDELIVERED, payload(2));
    releases.get(2)?.();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(order.slice(0, 1), ['nack 1 async boom on 1']);
    assert.equal(order.at(-1), 'ack 2');
  });

  test('a failure the sender settled is forgotten: its next session resumes from the last delivered seq', () => {
    const inbox = new Inbox('00112233aabbccdd', (b, s, e) => {
      if (JSON.parse(b.toString('utf8', s, e)).n === 2) throw new Error('boom');
    }, events(), 100);
    for (const n of [1, 2, 3]) accept(inbox, n, 0, payload(n));
    // Failed while no session was attached: nobody was told yet.
    assert.equal(inbox.resumeFrom, 1);
    const sink = new RecordingSink();
    inbox.attach(sink, 2);
    assert.deepEqual(sink.nacks, [[2, 'boom']], 'told on the next session');
    // The sender resends from 2: it still held 2, so the failure stays remembered.
    accept(inbox, 2, FLAG_REDELIVERED, payload(2));
    inbox.detach(sink);
    assert.equal(inbox.resumeFrom, 1);
    // On the next session its first DATA is 4: it holds nothing older, so it had the NACK.
    const later = new RecordingSink();
    inbox.attach(later, 4);
    accept(inbox, 4, 0, payload(4));
    assert.equal(inbox.resumeFrom, 4);
    inbox.detach(later);
    const last = new RecordingSink();
    inbox.attach(last, 5);
    assert.deepEqual(last.nacks, [], 'and not reported again');
  });

  test(`remembers the last ${MAX_REMEMBERED_FAILURES} failures of a hook that fails on every message`, () => {
    const inbox = new Inbox('00112233aabbccdd', () => {
      throw new Error('always');
    }, events(), 100);
    const total = MAX_REMEMBERED_FAILURES * 3 + 7;
    for (let n = 1; n <= total; n += 1) accept(inbox, n, 0, payload(n));
    assert.equal(inbox.lastDelivered, total);
    assert.equal(inbox.resumeFrom, total - MAX_REMEMBERED_FAILURES);
  });

  test('after halt() no further hook runs: queued messages stay unacknowledged for the sender to resend', async () => {
    const started: number[] = [];
    const releases: Array<() => void> = [];
    const inbox = new Inbox('00112233aabbccdd', (b, s, e) => {
      started.push(JSON.parse(b.toString('utf8', s, e)).n as number);
      return new Promise<void>((resolve) => releases.push(resolve));
    }, events(), 100);
    const sink = new RecordingSink();
    inbox.attach(sink, 1);
    for (const n of [1, 2, 3]) accept(inbox, n, 0, payload(n));
    inbox.halt();
    releases[0]?.();
    await new Promise((r) => setImmediate(r));
    accept(inbox, 4, 0, payload(4));
    assert.deepEqual(started, [1], 'only the hook that was already running ran');
    assert.deepEqual(sink.acks, [], 'and nothing was acknowledged after the halt');
  });

  test('a bytes message received again after a reconnect is dropped as a duplicate; the hook is told its kind', () => {
    const got: Array<[number, number, string]> = [];
    let duplicates = 0;
    const inbox = new Inbox('00112233aabbccdd', (b, s, e, f, m) => got.push([m.seq, f, b.toString('hex', s, e)]), { ...events(), duplicate: () => (duplicates += 1) }, 100);
    accept(inbox, 1, FLAG_BYTES, Buffer.from([0xca, 0xfe]));
    accept(inbox, 2, 0, payload(2));
    accept(inbox, 1, FLAG_BYTES | FLAG_REDELIVERED, Buffer.from([0xca, 0xfe]));
    accept(inbox, 2, FLAG_REDELIVERED, payload(2));
    accept(inbox, 3, FLAG_BYTES | FLAG_REDELIVERED, Buffer.from([]));
    assert.deepEqual(got, [[1, FLAG_BYTES, 'cafe'], [2, 0, payload(2).toString('hex')], [3, FLAG_BYTES | FLAG_REDELIVERED, '']]);
    assert.equal(duplicates, 2);
  });

  test('tells the hook when a message is a redelivery', () => {
    const flags: boolean[] = [];
    const inbox = new Inbox('00112233aabbccdd', (_b, _s, _e, _f, m) => flags.push(m.redelivered), events(), 100);
    inbox.attach(new RecordingSink(), 5);
    accept(inbox, 5, FLAG_REDELIVERED, payload(5));
    accept(inbox, 6, 0, payload(6));
    assert.deepEqual(flags, [true, false]);
  });

  test('a stream it has not seen starts where the sender holds from (earlier ones were acked before a restart)', () => {
    const got: number[] = [];
    const sink = new RecordingSink();
    const inbox = new Inbox('00112233aabbccdd', (_b, _s, _e, _f, m) => got.push(m.seq), events(), 100);
    assert.deepEqual(inbox.attach(sink, 41), { from: 1, to: 40 });
    assert.equal(inbox.lastDelivered, 40);
    accept(inbox, 41, 0, payload(41));
    accept(inbox, 42, 0, payload(42));
    assert.deepEqual(got, [41, 42]);
    assert.equal(sink.acks.at(-1), 42);
  });

  test('a gap in sequence numbers is a coded protocol error: a message would be lost', () => {
    const inbox = new Inbox('00112233aabbccdd', () => undefined, events(), 100);
    inbox.attach(new RecordingSink(), 1);
    accept(inbox, 1, 0, payload(1));
    assert.throws(() => accept(inbox, 3, 0, payload(3)), (err: unknown) => err instanceof FerryError && err.code === 'FERRY_ERR_SEQUENCE' && /expected seq 2, got 3/.test(err.message));
  });

  test('a first DATA beyond what the sender said it holds is a gap, on a fresh stream too', () => {
    const inbox = new Inbox('00112233aabbccdd', () => undefined, events(), 100);
    inbox.attach(new RecordingSink(), 5);
    assert.throws(() => accept(inbox, 7, FLAG_REDELIVERED, payload(7)), (err: unknown) => err instanceof FerryError && err.code === 'FERRY_ERR_SEQUENCE' && /expected seq 5, got 7/.test(err.message));
  });

  test('a failing hook is reported (NACK before the ACK), counted, and the stream goes on', async () => {
    const ev = events();
    const sink = new RecordingSink();
    const inbox = new Inbox('00112233aabbccdd', (b, s, e) => {
      const n = JSON.parse(b.toString('utf8', s, e)).n as number;
      if (n === 1) throw new Error('sync boom');
      if (n === 2) return Promise.reject(new Error('async boom'));
      return undefined;
    }, ev, 100);
    inbox.attach(sink, 1);
    accept(inbox, 1, 0, payload(1));
    accept(inbox, 2, 0, payload(2));
    accept(inbox, 3, 0, payload(3));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(sink.nacks.map(([s]) => s), [1, 2]);
    assert.match(sink.nacks[0]?.[1] ?? '', /sync boom/);
    assert.equal(ev.failed.length, 2);
    assert.equal(sink.acks.at(-1), 3);
  });

  test('signals pressure past the high-water mark and relief at half of it', async () => {
    const signals: boolean[] = [];
    const releases: Array<() => void> = [];
    const inbox = new Inbox('00112233aabbccdd', () => new Promise<void>((r) => releases.push(r)), { hookFailed() {}, duplicate() {}, pressure: (h) => signals.push(h) }, 4);
    for (let i = 1; i <= 6; i += 1) accept(inbox, i, 0, payload(i));
    assert.deepEqual(signals, [true]);
    for (let i = 0; i < 6; i += 1) {
      releases.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
    assert.deepEqual(signals, [true, false]);
  });
});

describe('inbox: a stream that moves between receivers (A → B → A)', () => {
  const seqs = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
  const hook = (got: Array<[number, boolean]>) => (_b: Buffer, _s: number, _e: number, _f: number, m: { seq: number; redelivered: boolean }): void => {
    got.push([m.seq, m.redelivered]);
  };

  test('moves past what another receiver acknowledged and goes on in order, without a SEQUENCE error', () => {
    const got: Array<[number, boolean]> = [];
    const a = new Inbox('00112233aabbccdd', hook(got), events(), 100);
    const first = new RecordingSink();
    a.attach(first, 1);
    for (const n of seqs(1, 5)) accept(a, n, 0, payload(n));
    a.detach(first);
    // Meanwhile B took 6–8 and acknowledged them: the sender comes back holding from 9.
    const back = new RecordingSink();
    assert.deepEqual(a.attach(back, 9), { from: 6, to: 8 });
    assert.equal(a.lastDelivered, 8, 'the skipped ones count as settled');
    assert.equal(a.resumeFrom, 8);
    assert.deepEqual(back.acks, [8], 'the ACK says where this receiver now is');
    accept(a, 9, FLAG_REDELIVERED, payload(9));
    accept(a, 10, 0, payload(10));
    assert.deepEqual(got, [...seqs(1, 5).map((n): [number, boolean] => [n, false]), [9, true], [10, false]]);
    assert.equal(back.acks.at(-1), 10);
  });

  test('drops what it already delivered when the sender resends it after a move, and delivers the rest once', () => {
    const got: Array<[number, boolean]> = [];
    const ev = events();
    const a = new Inbox('00112233aabbccdd', hook(got), ev, 100);
    const first = new RecordingSink();
    a.attach(first, 1);
    for (const n of seqs(1, 10)) accept(a, n, 0, payload(n));
    // The ACK for 7–10 was lost with the connection; B got 7–12 but its connection died before
    // its ACK: the sender comes back to A holding from 7.
    a.detach(first);
    const back = new RecordingSink();
    assert.equal(a.attach(back, 7), undefined, 'nothing to move past');
    for (const n of seqs(7, 12)) accept(a, n, FLAG_REDELIVERED, payload(n));
    assert.deepEqual(ev.duplicates, [7, 8, 9, 10], "A's own duplicates are dropped");
    assert.deepEqual(got.map(([n]) => n), seqs(1, 12), 'no hook ran twice on A');
    assert.deepEqual(got.slice(10), [[11, true], [12, true]], 'what B may have delivered first arrives flagged');
    assert.equal(back.acks.at(-1), 12);
  });

  test('a hook still working through the old session queue finishes it, then the stream goes on past the skipped ones', async () => {
    const got: number[] = [];
    const releases: Array<() => void> = [];
    const a = new Inbox('00112233aabbccdd', (_b, _s, _e, _f, m) => {
      got.push(m.seq);
      return new Promise<void>((resolve) => releases.push(resolve));
    }, events(), 100);
    const first = new RecordingSink();
    a.attach(first, 1);
    for (const n of seqs(1, 3)) accept(a, n, 0, payload(n));
    a.detach(first);
    // B acknowledged up to 6 (it got 1–3 again, flagged, and 4–6): the sender holds from 7.
    const back = new RecordingSink();
    assert.deepEqual(a.attach(back, 7), { from: 4, to: 6 });
    assert.equal(a.lastDelivered, 0, 'nothing settled here yet: the ACK must not run ahead of the hooks');
    assert.deepEqual(back.acks, []);
    accept(a, 7, FLAG_REDELIVERED, payload(7));
    for (let i = 0; i < 4; i += 1) {
      releases.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
    assert.deepEqual(got, [1, 2, 3, 7], 'in order, each once');
    assert.equal(a.lastDelivered, 7);
    assert.deepEqual([...new Set(back.acks)], [1, 2, 3, 7], 'each ACK follows its hook (the session coalesces repeats)');
  });

  test('a real gap after the move is still refused, naming the seq it expected', () => {
    const a = new Inbox('00112233aabbccdd', () => undefined, events(), 100);
    a.attach(new RecordingSink(), 1);
    for (const n of seqs(1, 5)) accept(a, n, 0, payload(n));
    a.attach(new RecordingSink(), 9);
    accept(a, 9, FLAG_REDELIVERED, payload(9));
    assert.throws(() => accept(a, 11, 0, payload(11)), (err: unknown) => err instanceof FerryError && err.code === 'FERRY_ERR_SEQUENCE' && /expected seq 10, got 11/.test(err.message));
  });

  test('a hook failure the sender no longer holds is not reported again after a move', () => {
    const a = new Inbox('00112233aabbccdd', (b, s, e) => {
      if (JSON.parse(b.toString('utf8', s, e)).n === 2) throw new Error('boom');
    }, events(), 100);
    const lost = new RecordingSink();
    a.attach(lost, 1);
    for (const n of seqs(1, 3)) accept(a, n, 0, payload(n));
    a.detach(lost);
    assert.equal(a.resumeFrom, 1, 'while the sender may not know, resume before the failure');
    // The stream went to B, which settled 2 (and everything up to 5) at the sender.
    const back = new RecordingSink();
    a.attach(back, 6);
    assert.deepEqual(back.nacks, [], 'not repeated: the sender holds nothing below 6');
    assert.equal(a.resumeFrom, 5);
  });
});
