/**
 * The sending half of one stream: every message gets the next sequence number and waits here
 * until the peer acknowledges it. It outlives connections: after a reconnect, whatever is
 * still unacknowledged is sent again (flagged redelivered). It is bounded: when full, `push`
 * throws FERRY_ERR_OUTBOX_FULL and the caller is told, so nothing accepted is dropped silently.
 */
import { randomBytes } from 'node:crypto';
import { FerryError } from '../errors.js';
import { FLAG_BYTES } from '../wire/constants.js';
import { dataPayload, dataPayloadLength } from '../wire/encoder.js';
import type { EncodedPayload } from '../wire/payload.js';
import type { Slab } from '../wire/slab.js';
import type { Delivery } from './delivery.js';
import { messageId } from './message-id.js';

export type { Delivery };

/** Called once per message, when it is acknowledged or finally refused. */
export type Settle = (err: Error | null, delivery: Delivery) => void;

/**
 * One message the outbox holds. Only the Outbox changes an entry (the mark*() methods, ack(),
 * nack(), failAll()); everyone else reads it. Once settled, the object is reused for a later
 * message: what must outlive the settle is kept by seq (or as its Delivery), not as the entry.
 */
export interface OutboxEntry {
  readonly seq: number;
  /**
   * The JSON text, or the bytes, until the entry is first written into a batch. Then it is
   * dropped and the bytes are found again in `batch` at `at`: under load many messages wait
   * for their ack, and as heap strings they would outlive young-generation GCs, be promoted
   * and make V8 mark-compact the old generation over and over.
   */
  readonly payload: EncodedPayload | undefined;
  /** The DATA flag bits of its payload kind: 0 for JSON text, FLAG_BYTES for bytes. */
  readonly kindFlags: number;
  /** Its share of Outbox.bytes: UTF-16 units of the text until encoded, then its UTF-8 bytes. */
  readonly size: number;
  /** The buffer its frame was last written into (not written again while `slab` is held; see FrameWriter.buffer). */
  readonly batch: Buffer | undefined;
  /** The slab `batch` is in: held by the entry until it is settled or written elsewhere. */
  readonly slab: Slab | undefined;
  /** Offset of its DATA frame in `batch`. */
  readonly at: number;
  /** When push() accepted it (for the delivery-latency histogram), in ms from performance.now(). */
  readonly acceptedAt: number;
  /** Sent on some connection already; a resend sets the redelivered flag. */
  readonly sent: boolean;
  readonly redelivered: boolean;
  /** The peer's hook failed for it (a NACK arrived); reported when the ACK covers it. */
  readonly failure: string | undefined;
  readonly settle: Settle | undefined;
}

/** An entry as the Outbox changes it. */
type Entry = { -readonly [K in keyof OutboxEntry]: OutboxEntry[K] };

/** The entry's frame is now in `slab`: it holds that slab and lets go of the one it was in before. */
function hold(entry: Entry, slab: Slab): void {
  slab.retain();
  entry.slab?.release();
  entry.slab = slab;
}

/** The entry is settled: its frame is never read again, and its slab may be reused. */
function letGo(entry: Entry): void {
  entry.slab?.release();
  entry.slab = undefined;
  entry.batch = undefined;
}

/** A blank entry, every field present so that all entries share one shape. */
function newEntry(): Entry {
  return { seq: 0, payload: undefined, kindFlags: 0, size: 0, batch: undefined, slab: undefined, at: 0, acceptedAt: 0, sent: false, redelivered: false, failure: undefined, settle: undefined };
}

/** What to write for an entry: its text or bytes before the first send, its bytes from the batch after. */
export function payloadOf(entry: OutboxEntry): EncodedPayload {
  if (entry.payload !== undefined) return entry.payload;
  return dataPayload(entry.batch as Buffer, entry.at);
}

export class Outbox {
  /** Identifies this stream across reconnects; message ids are `${streamId}-${seq}`. */
  readonly streamId: string;
  readonly limit: number;
  /**
   * Most payload held at once: the pod's memory limit must not be reachable by a backlog of
   * large messages. A message is counted by its JSON text's length until it is encoded, then
   * by its UTF-8 bytes. A message is taken while less than this is held, so the outbox may pass
   * it by one message; a message larger than the limit can therefore always be sent.
   */
  readonly limitBytes: number;
  /**
   * Unacknowledged entries in sequence order, in a ring: the oldest at `#head`, then `#count`
   * of them with consecutive seqs. The slots after them hold settled entries, which push()
   * fills again. Reused, because an entry lives until its ack: under load that outlasts two
   * young-generation GCs, so a fresh object per message was promoted and died in the old
   * generation (about 200 bytes a message: 50 MiB of garbage between full GCs in a 1 KiB flood).
   * Grows by doubling, to at most `limit` slots.
   */
  #ring: Entry[] = [];
  #head = 0;
  #count = 0;
  #nextSeq = 1;
  #bytes = 0;
  #waiters: Array<() => void> = [];

  constructor(limit: number, streamId: string = randomBytes(8).toString('hex'), limitBytes = Number.POSITIVE_INFINITY) {
    this.limit = limit;
    this.limitBytes = limitBytes;
    this.streamId = streamId;
  }

  get depth(): number {
    return this.#count;
  }

  /** performance.now() when the oldest unacknowledged message was accepted; undefined when none waits. */
  get oldestAcceptedAt(): number | undefined {
    return this.#count > 0 ? this.#at(0).acceptedAt : undefined;
  }

  /** Payload held, in the unit of limitBytes. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Past half of either limit: acknowledgements are needed now to make room (the sender stops
   * marking its DATA frames FLAG_ACK_DELAYABLE), and streaming writers are asked to wait (the
   * high-water mark of write() and whenSendable(): see InitiatorRuntime.write).
   */
  get isPastHalf(): boolean {
    return this.depth * 2 >= this.limit || this.#bytes * 2 >= this.limitBytes;
  }

  get isFull(): boolean {
    const depth = this.depth;
    return depth >= this.limit || (depth > 0 && this.#bytes >= this.limitBytes);
  }

  /** The highest sequence number handed out so far. */
  get lastSeq(): number {
    return this.#nextSeq - 1;
  }

  /**
   * The lowest sequence number still held (the next one to be handed out when none is): every
   * lower one was acknowledged (by whichever peer the stream was connected to then) or refused
   * to its caller, and will never be sent again. HELLO and WELCOME carry it, so a receiver
   * that has not seen those messages moves past them instead of waiting for them.
   */
  get holdsFrom(): number {
    return this.#count > 0 ? this.#at(0).seq : this.#nextSeq;
  }

  idOf(seq: number): string {
    return messageId(this.streamId, seq);
  }

  /**
   * Accepts a message: JSON text (a string) or bytes (a Uint8Array, kept as it is until it is
   * written into a batch: see ownBytes). `settle` is called once, when it is acknowledged or
   * finally refused.
   */
  push(payload: EncodedPayload, settle?: Settle): OutboxEntry {
    if (this.isFull) {
      throw new FerryError('FERRY_ERR_OUTBOX_FULL', `outbox full: ${this.depth} unacknowledged messages of ${this.#bytes} bytes (session.outboxLimit=${this.limit}, session.outboxLimitBytes=${this.limitBytes})`);
    }
    this.#bytes += payload.length;
    if (this.#count === this.#ring.length) this.#grow();
    const slot = (this.#head + this.#count) % this.#ring.length;
    let entry = this.#ring[slot];
    if (entry === undefined) {
      entry = newEntry();
      this.#ring[slot] = entry;
    }
    entry.seq = this.#nextSeq++;
    entry.payload = payload;
    entry.kindFlags = typeof payload === 'string' ? 0 : FLAG_BYTES;
    entry.size = payload.length;
    entry.batch = undefined;
    entry.slab = undefined;
    entry.at = 0;
    entry.acceptedAt = performance.now();
    entry.sent = false;
    entry.redelivered = false;
    entry.failure = undefined;
    entry.settle = settle;
    this.#count += 1;
    return entry;
  }

  /**
   * The caller that pushed `entry` returns now. Bytes not yet written into a batch (no session
   * was open to take them) are still the caller's buffer, which it may reuse as it may after
   * ws.send(): they are copied now, once. Bytes already in a batch were copied there.
   */
  ownBytes(entry: OutboxEntry): void {
    const payload = entry.payload;
    if (payload !== undefined && typeof payload !== 'string') (entry as Entry).payload = Buffer.from(payload);
  }

  /** Resolves when the outbox is under half of both limits again (whenSendable() waits here). */
  whenUnderHalf(): Promise<void> {
    if (!this.isPastHalf) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Resolves every whenUnderHalf() now, under half or not: the runtime is stopping, and they check that. */
  releaseWaiters(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /**
   * Cumulative acknowledgement: removes every entry up to `seq`, tells each one's caller how it
   * ended (delivered, or refused by the peer's hook when a NACK came first), then hands it to
   * `onAcked`. `unwatchedFailure` is the peer's reason for a refused entry nobody awaits
   * (written with write()): the caller reports those itself, since no caller is told. An ack
   * beyond what was sent is a protocol violation; the caller checks and ends the session.
   */
  ack(seq: number, onAcked: (entry: OutboxEntry, unwatchedFailure: string | undefined) => void): number {
    let count = 0;
    while (this.#count > 0) {
      const entry = this.#at(0);
      if (entry.seq > seq) break;
      this.#bytes -= entry.size;
      count += 1;
      letGo(entry);
      onAcked(entry, this.#settle(entry));
      // Only now is its slot free for push() to fill again: the callbacks above read it.
      this.#head = (this.#head + 1) % this.#ring.length;
      this.#count -= 1;
    }
    if (count > 0) this.#wake();
    return count;
  }

  /** The peer's hook failed for `seq` (a NACK); its caller is told when the ACK covers it. */
  nack(seq: number, reason: string): void {
    const entry = this.#find(seq);
    if (entry) entry.failure = reason;
  }

  /**
   * An entry is about to be written on a connection. True, and flagged redelivered from now on,
   * when an earlier connection carried it.
   */
  markResent(entry: OutboxEntry): boolean {
    if (!entry.sent) return false;
    (entry as Entry).redelivered = true;
    return true;
  }

  /**
   * An entry's DATA frame was written into `batch` at `at` (the writer's buffer, never written
   * again). Its text goes now, not when the batch leaves: a scavenge during a long turn would
   * otherwise copy every text of the batch being built. From now on its bytes are found through
   * the frame, and the outbox counts their exact UTF-8 size (the text's length until here).
   */
  markEncoded(entry: OutboxEntry, batch: Buffer, at: number, slab: Slab): void {
    const e = entry as Entry;
    hold(e, slab);
    e.batch = batch;
    e.at = at;
    e.payload = undefined;
    const bytes = dataPayloadLength(batch, at);
    if (bytes !== e.size) {
      this.#bytes += bytes - e.size;
      e.size = bytes;
    }
  }

  /**
   * The batch these entries were encoded into left, as `batch`. Only now are they sent: one
   * whose batch died unsent is not flagged redelivered when it goes again. They keep their
   * offsets: a batch that outgrew its first buffer continued in a copy of it, so pointing them
   * at the batch taken (and holding its slab, `slab`) lets that first buffer be reused.
   */
  markSent(entries: readonly OutboxEntry[], batch: Buffer, slab: Slab): void {
    for (let i = 0; i < entries.length; i += 1) {
      const e = entries[i] as Entry;
      // Settled while its batch was being written (an ACK from the peer for what an earlier
      // connection carried, or failAll): it holds nothing any more and takes no new hold. Its
      // object may carry a newer message by now: one encoded into this batch is further on in
      // `entries` as well, and one that is not holds no slab yet either.
      if (e.slab === undefined) continue;
      e.sent = true;
      e.batch = batch;
      if (e.slab !== slab) hold(e, slab);
    }
  }

  /** Looks up an unacknowledged entry. */
  find(seq: number): OutboxEntry | undefined {
    return this.#find(seq);
  }

  /** Entries not yet acknowledged, oldest first (resend after reconnect). */
  *pending(): IterableIterator<OutboxEntry> {
    for (let i = 0; i < this.#count; i += 1) yield this.#at(i);
  }

  /**
   * Refuses every pending entry (process exit after the drain timeout, circuit open). Returns
   * how many, and how many of them nobody awaits (written with write()): the runtime counts
   * those itself, since no caller is told.
   */
  failAll(err: FerryError): { failed: number; unwatched: number } {
    let failed = 0;
    let unwatched = 0;
    for (let i = 0; i < this.#count; i += 1) {
      const entry = this.#at(i);
      letGo(entry);
      // Never encoded (no session took it): its text or bytes go with it.
      entry.payload = undefined;
      const settle = entry.settle;
      entry.settle = undefined;
      if (settle) settle(err, this.#delivery(entry));
      else unwatched += 1;
      failed += 1;
    }
    this.#head = 0;
    this.#count = 0;
    this.#bytes = 0;
    this.#wake();
    return { failed, unwatched };
  }

  /** Settles an acknowledged entry; returns the peer's reason when it failed and nobody awaits it. */
  #settle(entry: Entry): string | undefined {
    const settle = entry.settle;
    if (!settle) return entry.failure;
    entry.settle = undefined;
    settle(entry.failure === undefined ? null : new FerryError('FERRY_ERR_REMOTE_HOOK', `the peer's hook failed: ${entry.failure}`), this.#delivery(entry));
    return undefined;
  }

  #delivery(entry: Entry): Delivery {
    return { id: this.idOf(entry.seq), seq: entry.seq, redelivered: entry.redelivered };
  }

  #find(seq: number): Entry | undefined {
    if (this.#count === 0) return undefined;
    const offset = seq - this.#at(0).seq;
    return offset >= 0 && offset < this.#count ? this.#at(offset) : undefined;
  }

  /** The `offset`-th unacknowledged entry (0: the oldest); offset < #count. */
  #at(offset: number): Entry {
    return this.#ring[(this.#head + offset) % this.#ring.length] as Entry;
  }

  #wake(): void {
    while (this.#waiters.length > 0 && !this.isPastHalf) this.#waiters.shift()?.();
  }

  /** Doubles the ring (up to `limit` slots), its entries moved to the front in order. */
  #grow(): void {
    const size = Math.min(Math.max(16, this.#ring.length * 2), this.limit);
    const ring: Entry[] = new Array<Entry>(size);
    for (let i = 0; i < this.#count; i += 1) ring[i] = this.#at(i);
    this.#ring = ring;
    this.#head = 0;
  }
}
