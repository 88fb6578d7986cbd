/**
 * The sending half of one stream: every message gets the next sequence number and waits here
 * until the peer acknowledges it. It outlives connections: after a reconnect, whatever is
 * still unacknowledged is sent again (flagged redelivered). It is bounded: when full, `push`
 * throws FERRY_ERR_OUTBOX_FULL and the caller is told, so nothing accepted is dropped silently.
 */
import { randomBytes } from 'node:crypto';
import { FerryError } from '../errors.js';

export interface Delivery {
  id: string;
  seq: number;
  /** True when the message had to be sent again on a later connection. */
  redelivered: boolean;
}

export interface OutboxEntry {
  readonly seq: number;
  /** The UTF-8 JSON bytes, or the JSON text (encoded when written: one Buffer fewer per message). */
  readonly payload: Buffer | string;
  /** When push() accepted it (for the delivery-latency histogram), in ms from performance.now(). */
  readonly acceptedAt: number;
  /** Sent on some connection already; a resend sets the redelivered flag. */
  sent: boolean;
  redelivered: boolean;
  /** The peer's hook failed for it (a NACK arrived); reported when the ACK covers it. */
  failure: string | undefined;
  settle: ((err: Error | null, delivery: Delivery) => void) | undefined;
}

export class Outbox {
  /** Identifies this stream across reconnects; message ids are `${streamId}-${seq}`. */
  readonly streamId: string;
  readonly limit: number;
  /** Unacknowledged entries in sequence order: entries[i].seq === headSeq + i. */
  #entries: OutboxEntry[] = [];
  #head = 0;
  #nextSeq = 1;
  #waiters: Array<() => void> = [];

  constructor(limit: number, streamId: string = randomBytes(8).toString('hex')) {
    this.limit = limit;
    this.streamId = streamId;
  }

  get depth(): number {
    return this.#entries.length - this.#head;
  }

  get isFull(): boolean {
    return this.depth >= this.limit;
  }

  /** The highest sequence number handed out so far. */
  get lastSeq(): number {
    return this.#nextSeq - 1;
  }

  idOf(seq: number): string {
    return `${this.streamId}-${seq}`;
  }

  /** Accepts a message; `settle` is called once, when it is acknowledged or finally refused. */
  push(payload: Buffer | string, settle?: OutboxEntry['settle']): OutboxEntry {
    if (this.isFull) {
      throw new FerryError('FERRY_ERR_OUTBOX_FULL', `outbox full: ${this.depth} unacknowledged messages (session.outboxLimit=${this.limit})`);
    }
    const entry: OutboxEntry = { seq: this.#nextSeq++, payload, acceptedAt: performance.now(), sent: false, redelivered: false, failure: undefined, settle };
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

  /** Refuses every pending entry (process exit after the drain timeout). */
  failAll(err: FerryError): number {
    let count = 0;
    for (const entry of this.pending()) {
      entry.settle?.(err, { id: this.idOf(entry.seq), seq: entry.seq, redelivered: entry.redelivered });
      entry.settle = undefined;
      count += 1;
    }
    this.#entries = [];
    this.#head = 0;
    this.#wake();
    return count;
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
