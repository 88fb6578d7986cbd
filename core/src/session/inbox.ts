/**
 * The receiving half of one stream: it drops duplicates, keeps order, and hands each message to
 * the hook one at a time; the acknowledgement for a message goes out only after its hook
 * settled. It outlives connections, so a message queued here while the connection dropped is
 * still delivered, and its sequence number is what the next HELLO/WELCOME resumes from.
 *
 * A stream may move between receivers (terminator replicas behind one Service) and come back:
 * each session starts by saying which messages the sender still holds (`attach`), and this
 * inbox moves past the ones it never saw but the sender no longer holds, since another receiver
 * acknowledged them. Within a session the sequence must then go on without a gap.
 */
import { FerryError, isFerryError, messageOf } from '../errors.js';
import { FLAG_REDELIVERED, MAX_REASON_BYTES } from '../wire/constants.js';
import { messageId } from './message-id.js';

/** What the hook is told about each message besides its payload. */
export interface ReceivedMessage {
  /** `${streamId}-${seq}`: the same id the sender was given. */
  id: string;
  seq: number;
  /** The sender sent it before on an earlier connection; it may have reached this hook already. */
  redelivered: boolean;
}

/** Where acknowledgements go: the currently open session of this stream, if any. */
export interface AckSink {
  /** Everything up to `seq` was handed to the hook: send a cumulative ACK. */
  acknowledge(seq: number): void;
  /** The hook failed for `seq`: tell the sender why (before the ACK that covers it). */
  reportFailure(seq: number, reason: string): void;
}

/**
 * Hands one message to the hook: its payload is `buf` from `start` to `end`, of the kind
 * `flags` (its DATA flags) say.
 */
export type Deliver = (buf: Buffer, start: number, end: number, flags: number, message: ReceivedMessage) => unknown;

interface Queued {
  seq: number;
  flags: number;
  payload: Buffer;
}

/** A hook failure whose NACK the sender may not have received yet. */
interface Failure {
  seq: number;
  reason: string;
}

/**
 * Most hook failures remembered per stream for a NACK to be repeated (see `resumeFrom`). Only
 * failures whose NACK was in flight when a connection dropped need it, a few at a time; a hook
 * that fails on every message fills this, and the oldest are forgotten first (their NACK, if it
 * was lost, is then not repeated).
 */
export const MAX_REMEMBERED_FAILURES = 256;

export interface InboxEvents {
  /** A hook failed; logged and counted by the runtime, never fatal. */
  hookFailed(err: FerryError, message: ReceivedMessage): void;
  /** A duplicate was dropped. */
  duplicate(seq: number): void;
  /** The queue grew past / fell under the high-water mark: pause / resume reading. */
  pressure(high: boolean): void;
}

/** Sequence numbers an inbox moved past at `attach`: from `from` to `to`, both included. */
export interface Skipped {
  from: number;
  to: number;
}

export class Inbox {
  readonly streamId: string;
  /**
   * Every sequence number up to this one was settled: its hook ran here, or (see `attach`) the
   * sender said it no longer holds it. What ACKs and resumeFrom report.
   */
  lastDelivered = 0;
  /** Highest sequence number accepted into the queue. */
  #lastAccepted = 0;
  #queue: Queued[] = [];
  #queueHead = 0;
  #running = false;
  #sink: AckSink | null = null;
  #highWater: number;
  #pressured = false;
  /** Hook failures in sequence order, from #failuresHead on (see `resumeFrom`). */
  #failures: Failure[] = [];
  #failuresHead = 0;
  /** A session attached and no DATA arrived on it yet: the first one tells what the sender holds. */
  #awaitingFirstData = false;
  /** The runtime stopped: no hook runs again. */
  #halted = false;
  readonly #deliver: Deliver;
  readonly #events: InboxEvents;

  constructor(streamId: string, deliver: Deliver, events: InboxEvents, highWater: number) {
    this.streamId = streamId;
    this.#deliver = deliver;
    this.#events = events;
    this.#highWater = highWater;
  }

  /** A hook is running (or awaited) right now. */
  get busy(): boolean {
    return this.#running;
  }

  get queued(): number {
    return this.#queue.length - this.#queueHead;
  }

  /**
   * What HELLO/WELCOME tell the sender was delivered: the last delivered seq, or, while a hook
   * failure is remembered, the seq before the oldest one. A NACK written just before a
   * connection dropped is lost with it, and the resume point alone would then settle that
   * message as delivered. Resuming before it keeps the message unsettled at the sender until
   * `attach` has reported the failure again on the new session. A sender that already had the
   * NACK holds nothing below its next seq, so nothing extra is resent.
   */
  get resumeFrom(): number {
    const oldest = this.#failures[this.#failuresHead];
    return oldest === undefined ? this.lastDelivered : Math.min(this.lastDelivered, oldest.seq - 1);
  }

  /**
   * A session opened: acks go to `sink` from now on. `senderHoldsFrom` is the lowest sequence
   * number the sender still holds (HELLO/WELCOME `holdsFrom`); everything below it was
   * acknowledged by some receiver of this stream (this one, an earlier incarnation of this
   * process, or another replica the stream moved to) or refused to its caller, and is never
   * sent again. So the inbox moves past what it has not accepted below that point instead of
   * waiting for it (returned, for the log); what it did accept is still delivered, in order.
   * The first DATA of the session must then be at most the next expected seq: anything beyond
   * is a real gap.
   *
   * Every remembered failure the sender still holds is reported again first, ahead of any ACK
   * on this session: the sender ignores a NACK for a message it no longer holds, and marks one
   * it still holds as failed.
   */
  attach(sink: AckSink, senderHoldsFrom: number): Skipped | undefined {
    this.#sink = sink;
    let skipped: Skipped | undefined;
    if (senderHoldsFrom - 1 > this.#lastAccepted) {
      skipped = { from: this.#lastAccepted + 1, to: senderHoldsFrom - 1 };
      this.#lastAccepted = senderHoldsFrom - 1;
      // Idle: nothing accepted is left to deliver, so the skipped ones count as settled now.
      // Otherwise #run does it once the queue ran dry.
      if (!this.#running && this.queued === 0) this.lastDelivered = this.#lastAccepted;
    }
    this.#forgetFailuresBefore(senderHoldsFrom);
    this.#awaitingFirstData = true;
    for (let i = this.#failuresHead; i < this.#failures.length; i += 1) {
      const failure = this.#failures[i] as Failure;
      sink.reportFailure(failure.seq, failure.reason);
    }
    if (this.lastDelivered > 0 && !this.#running) sink.acknowledge(this.lastDelivered);
    return skipped;
  }

  /**
   * The runtime is stopping: no further hook runs, and queued messages are dropped unacknowledged
   * (the sender keeps them and resends them to the next instance). A hook already running is
   * left to finish, since it cannot be cancelled; its ACK has nowhere to go, so the next
   * instance gets that message again, flagged redelivered.
   */
  halt(): void {
    this.#halted = true;
    this.#sink = null;
    this.#queue = [];
    this.#queueHead = 0;
  }

  /**
   * A session that ends lets go of the inbox only if it is still the one attached: when a
   * reconnect replaced a half-open session, the newer one already holds it and keeps its acks.
   */
  detach(sink: AckSink): void {
    if (this.#sink === sink) this.#sink = null;
  }

  /**
   * Takes one DATA frame, whose payload is `buf` from `start` to `end` (delivered at once when
   * idle; a Buffer view is made only when it has to wait). A sequence number at or below the
   * last accepted one is a duplicate (dropped, but acknowledged again so the sender can forget
   * it); one that skips ahead of what the sender said it holds means a message would be lost,
   * which is a protocol error that ends the session.
   */
  accept(seq: number, flags: number, buf: Buffer, start: number, end: number): void {
    if (this.#halted) return;
    if (this.#awaitingFirstData) {
      // A sender resends what it holds, oldest first, before anything new: a failure below this
      // seq was settled at the sender, so its NACK need not be repeated on later sessions.
      this.#awaitingFirstData = false;
      this.#forgetFailuresBefore(seq);
    }
    if (seq <= this.#lastAccepted) {
      this.#events.duplicate(seq);
      if (!this.#running && this.queued === 0) this.#sink?.acknowledge(this.lastDelivered);
      return;
    }
    if (seq !== this.#lastAccepted + 1) {
      throw new FerryError('FERRY_ERR_SEQUENCE', `stream ${this.streamId}: expected seq ${this.#lastAccepted + 1}, got ${seq}`);
    }
    this.#lastAccepted = seq;
    if (!this.#running && this.#queueHead === this.#queue.length) {
      // Idle (the common case with sync hooks): deliver at once, without queueing.
      this.#running = true;
      if (!this.#deliverOne(seq, flags, buf, start, end)) this.#run();
      return;
    }
    this.#queue.push({ seq, flags, payload: buf.subarray(start, end) });
    if (!this.#pressured && this.queued >= this.#highWater) {
      this.#pressured = true;
      this.#events.pressure(true);
    }
    if (!this.#running) this.#run();
  }

  /** Runs queued hooks in order; sync hooks run in one loop without a promise per message. */
  #run(): void {
    this.#running = true;
    while (this.#queueHead < this.#queue.length && !this.#halted) {
      const item = this.#queue[this.#queueHead] as Queued;
      this.#queue[this.#queueHead] = undefined as unknown as Queued;
      this.#queueHead += 1;
      if (this.#deliverOne(item.seq, item.flags, item.payload, 0, item.payload.length)) return;
    }
    this.#running = false;
    if (this.#queue.length > 0) this.#compact();
    // Ran dry: whatever `attach` moved past while this queue was busy is settled too.
    if (!this.#halted) this.lastDelivered = this.#lastAccepted;
    if (this.lastDelivered > 0) this.#sink?.acknowledge(this.lastDelivered);
  }

  /** Runs the hook for one message; true when it returned a promise (#resume continues then). */
  #deliverOne(seq: number, flags: number, buf: Buffer, start: number, end: number): boolean {
    const message: ReceivedMessage = {
      id: messageId(this.streamId, seq),
      seq,
      redelivered: (flags & FLAG_REDELIVERED) !== 0,
    };
    let result: unknown;
    try {
      result = this.#deliver(buf, start, end, flags, message);
    } catch (err) {
      this.#failed(err, message);
      this.#settled(seq);
      return false;
    }
    if (typeof (result as { then?: unknown } | null)?.then === 'function') {
      (result as Promise<unknown>).then(
        () => this.#resume(seq),
        (err: unknown) => {
          this.#failed(err, message);
          this.#resume(seq);
        },
      );
      return true;
    }
    this.#settled(seq);
    return false;
  }

  #resume(seq: number): void {
    this.#settled(seq);
    // An async hook settled: acknowledge it now (the session coalesces acks per turn), not
    // once the whole queue drained, or a backlog would hold back every ack behind it.
    this.#sink?.acknowledge(seq);
    this.#run();
  }

  #settled(seq: number): void {
    this.lastDelivered = seq;
    if (this.#pressured && this.queued <= this.#highWater >> 1) {
      this.#pressured = false;
      this.#events.pressure(false);
    }
  }

  #failed(err: unknown, message: ReceivedMessage): void {
    const ferr = isFerryError(err) ? err : new FerryError('FERRY_ERR_HOOK_FAILED', messageOf(err), { cause: err });
    this.#sink?.reportFailure(message.seq, ferr.message);
    this.#remember(message.seq, ferr.message);
    this.#events.hookFailed(ferr, message);
  }

  #remember(seq: number, reason: string): void {
    // The NACK carries at most MAX_REASON_BYTES of it; a character is at least one byte.
    this.#failures.push({ seq, reason: reason.length > MAX_REASON_BYTES ? reason.slice(0, MAX_REASON_BYTES) : reason });
    if (this.#failures.length - this.#failuresHead > MAX_REMEMBERED_FAILURES) this.#failuresHead += 1;
    if (this.#failuresHead >= MAX_REMEMBERED_FAILURES) this.#compactFailures();
  }

  #forgetFailuresBefore(seq: number): void {
    while (this.#failuresHead < this.#failures.length && (this.#failures[this.#failuresHead] as Failure).seq < seq) this.#failuresHead += 1;
    this.#compactFailures();
  }

  #compactFailures(): void {
    if (this.#failuresHead === 0) return;
    this.#failures = this.#failures.slice(this.#failuresHead);
    this.#failuresHead = 0;
  }

  #compact(): void {
    this.#queue = [];
    this.#queueHead = 0;
  }
}
