/**
 * The sending half of one stream: every message gets the next sequence number and waits here
 * until the peer acknowledges it. It outlives connections: after a reconnect, whatever is
 * still unacknowledged is sent again (flagged redelivered). It is bounded: when full, `push`
 * throws FERRY_ERR_OUTBOX_FULL and the caller is told, so nothing accepted is dropped silently.
 */
import { randomBytes } from 'node:crypto';
import { FerryError } from '../errors.js';
import { dataPayload } from '../wire/encoder.js';
import { messageId } from './message-id.js';

export interface Delivery {
  id: string;
  seq: number;
  /** True when the message had to be sent again on a later connection. */
  redelivered: boolean;
}

export interface OutboxEntry {
  readonly seq: number;
  /**
   * The JSON text (or its UTF-8 bytes) until the entry is first written into a batch. Then it
   * is dropped and the bytes are found again in `batch` at `at`: under load thousands of
   * messages wait for their ack, and as heap strings they outlived young-generation GCs,
   * were promoted and made V8 mark-compact the old generation over and over.
   */
  payload: Buffer | string | undefined;
  /** Its share of Outbox.bytes: UTF-16 units of the text until encoded, then its UTF-8 bytes. */
  size: number;
  /** The buffer its frame was last written into (never written again; see FrameWriter.buffer). */
  batch: Buffer | undefined;
  /** Offset of its DATA frame in `batch`. */
  at: number;
  /** When push() accepted it (for the delivery-latency histogram), in ms from performance.now(). */
  readonly acceptedAt: number;
  /** Sent on some connection already; a resend sets the redelivered flag. */
  sent: boolean;
  redelivered: boolean;
  /** The peer's hook failed for it (a NACK arrived); reported when the ACK covers it. */
  failure: string | undefined;
  settle: ((err: Error | null, delivery: Delivery) => void) | undefined;
}

/** What to write for an entry: its text before the first send, its bytes from the batch after. */
export function payloadOf(entry: OutboxEntry): Buffer | string {
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
  /** Unacknowledged entries in sequence order: entries[i].seq === headSeq + i. */
  #entries: OutboxEntry[] = [];
  #head = 0;
  #nextSeq = 1;
  #bytes = 0;
  #waiters: Array<() => void> = [];

  constructor(limit: number, streamId: string = randomBytes(8).toString('hex'), limitBytes = Number.POSITIVE_INFINITY) {
    this.limit = limit;
    this.limitBytes = limitBytes;
    this.streamId = streamId;
  }

  get depth(): number {
    return this.#entries.length - this.#head;
  }

  /** Payload held, in the unit of limitBytes. */
  get bytes(): number {
    return this.#bytes;
  }

  get isFull(): boolean {
    const depth = this.depth;
    return depth >= this.limit || (depth > 0 && this.#bytes >= this.limitBytes);
  }

  /** The highest sequence number handed out so far. */
  get lastSeq(): number {
    return this.#nextSeq - 1;
  }

  idOf(seq: number): string {
    return messageId(this.streamId, seq);
  }

  /** Accepts a message; `settle` is called once, when it is acknowledged or finally refused. */
  push(payload: Buffer | string, settle?: OutboxEntry['settle']): OutboxEntry {
    if (this.isFull) {
      throw new FerryError('FERRY_ERR_OUTBOX_FULL', `outbox full: ${this.depth} unacknowledged messages of ${this.#bytes} bytes (session.outboxLimit=${this.limit}, session.outboxLimitBytes=${this.limitBytes})`);
    }
    this.#bytes += payload.length;
    const entry: OutboxEntry = { seq: this.#nextSeq++, payload, size: payload.length, batch: undefined, at: 0, acceptedAt: performance.now(), sent: false, redelivered: false, failure: undefined, settle };
    this.#entries.push(entry);
    return entry;
  }

  /** Resolves when there is room for one more message (the auto-trigger waits here). */
  whenNotFull(): Promise<void> {
    if (!this.isFull) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /**
   * Cumulative acknowledgement: settles every entry up to `seq` and returns them. An ack
   * beyond what was sent is a protocol violation; the caller ends the session.
   */
  ack(seq: number, onAcked: (entry: OutboxEntry) => void): number {
    let count = 0;
    while (this.#head < this.#entries.length) {
      const entry = this.#entries[this.#head] as OutboxEntry;
      if (entry.seq > seq) break;
      this.#entries[this.#head] = undefined as unknown as OutboxEntry;
      this.#head += 1;
      this.#bytes -= entry.size;
      count += 1;
      onAcked(entry);
    }
    this.#compact();
    if (count > 0) this.#wake();
    return count;
  }

  /** Looks up an unacknowledged entry (NACK handling). */
  find(seq: number): OutboxEntry | undefined {
    const first = this.#entries[this.#head];
    if (!first) return undefined;
    return this.#entries[this.#head + (seq - first.seq)];
  }

  /** Entries not yet acknowledged, oldest first (resend after reconnect). */
  *pending(): IterableIterator<OutboxEntry> {
    for (let i = this.#head; i < this.#entries.length; i += 1) yield this.#entries[i] as OutboxEntry;
  }

  /**
   * Refuses every pending entry (process exit after the drain timeout, circuit open). Returns
   * how many, and how many of them nobody awaits (written with write()): the runtime counts
   * those itself, since no caller is told.
   */
  failAll(err: FerryError): { failed: number; unwatched: number } {
    let failed = 0;
    let unwatched = 0;
    for (const entry of this.pending()) {
      if (entry.settle) entry.settle(err, { id: this.idOf(entry.seq), seq: entry.seq, redelivered: entry.redelivered });
      else unwatched += 1;
      entry.settle = undefined;
      failed += 1;
    }
    this.#entries = [];
    this.#head = 0;
    this.#bytes = 0;
    this.#wake();
    return { failed, unwatched };
  }

  /** The exact UTF-8 size of an entry, known once it is encoded (size counted UTF-16 units). */
  resize(entry: OutboxEntry, bytes: number): void {
    this.#bytes += bytes - entry.size;
    entry.size = bytes;
  }

  #wake(): void {
    while (this.#waiters.length > 0 && !this.isFull) this.#waiters.shift()?.();
  }

  /** Drops the acknowledged prefix once it is large, so the array does not grow forever. */
  #compact(): void {
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
  }
}
