/**
 * One session: one connection's life from HELLO/WELCOME to close, as a state machine whose
 * states can be named in a log line: handshaking → open → closed. The streams it carries (an
 * Outbox to send from, an Inbox to deliver into) outlive it, so the next session resumes where
 * this one stopped: the WELCOME (and HELLO) say how far each side got, the sender forgets what
 * was delivered and sends the rest again, flagged.
 *
 * Writes are coalesced: frames written during one turn of the event loop leave as one batch
 * (one WebSocket message, one armor seal), flushed on the next tick or as soon as the batch
 * would pass the batch limit (FLUSH_BYTES, or less when the peer's maxPayload is smaller).
 *
 * Acknowledgements are delayed where nobody waits for them, as TCP and QUIC delay theirs: a
 * DATA frame the sender marked FLAG_ACK_DELAYABLE is acknowledged within `ackDelayMs`, by one
 * ACK for everything that arrived meanwhile, instead of one ACK per batch. At a steady 5,000
 * messages of 1 KiB a second that is one ACK write and one wake-up of the sender about every
 * 13 ms (the 64 KiB rule below) instead of more than a thousand a second. Any unmarked frame
 * (send(), a reply, a redelivery, an outbox past half full) is acknowledged at once, as is
 * everything before it, and so is a stream that brought ACK_AT_ONCE_BYTES since the last ACK: a
 * flood is acknowledged batch by batch as before, and only a trickle waits.
 *
 * A delayed ACK that has waited half of `ackDelayMs` leaves with the next batch that arrives,
 * right after that batch's hooks; the timer writes it only when no batch came in the second
 * half. Writing an ACK wakes the sender, and on the bench's VM one 9-byte ACK write took the
 * receiver 110–170 µs on average (60 µs of it CPU): from a timer it came at a moment unrelated
 * to the traffic, and a batch arriving meanwhile waited for it; right after a batch the
 * receiver has nothing else to do. Paced 1 KiB structured at 5,000 msgs/s, tls, p99 against
 * plain ws, medians of alternating runs: 1.79× → 1.51× (10 pairs), 1.66× → 1.35× (8 pairs),
 * lower in 12 of the 18; single runs swing more than that (1.35× and 2.44× in two full benches).
 */
import { randomBytes } from 'node:crypto';
import { CloseCode, ErrorCodes, FerryError, isFerryError, messageOf, type ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { FrameChannel } from '../transport/channel.js';
import { DATA_HEADER_BYTES, FLAG_ACK_DELAYABLE, FLAG_REDELIVERED, FrameType, HEADROOM_BYTES, MAX_REASON_BYTES, NACK_HEADER_BYTES, PROTOCOL_VERSION } from '../wire/constants.js';
import { decodeFrames, type FrameVisitor } from '../wire/decoder.js';
import { FrameWriter } from '../wire/encoder.js';
import type { Slab } from '../wire/slab.js';
import { parseHello, parseWelcome, type Hello, type Welcome } from './handshake.js';
import type { AckSink, Inbox } from './inbox.js';
import { payloadOf, type Outbox, type OutboxEntry } from './outbox.js';

export type SessionState = 'handshaking' | 'open' | 'closed';
export type Role = 'initiator' | 'terminator';

export interface Streams {
  outbox: Outbox;
  inbox: Inbox;
}

export interface SessionOptions {
  role: Role;
  channel: FrameChannel;
  logger: Logger;
  metrics: Metrics;
  armor: 'tunnel' | 'tls';
  handshakeTimeoutMs: number;
  /** The peer's session.maxPayloadBytes (both ends share the setting): no batch may exceed it. */
  maxPayloadBytes: number;
  /** session.ackDelayMs: how long an ACK for frames marked FLAG_ACK_DELAYABLE may wait; 0 never waits. */
  ackDelayMs: number;
  /**
   * Initiator: its streams (fixed for the process). Terminator: looked up from the HELLO, so a
   * reconnecting initiator finds its streams again.
   */
  streams: Streams | ((hello: Hello) => Streams);
  /** Initiator: makes the Inbox for a terminator stream it has not received from before. */
  newInbox?: (streamId: string) => Inbox;
  /** Extra fields for the session-open log line (the armor identity). */
  identity?: Readonly<Record<string, string>>;
  /**
   * The peer's hook failed for a message (`id`; `reason` is the peer's): the runtime logs it.
   * `watched`: a caller awaits it (send(), a reply) and was told FERRY_ERR_REMOTE_HOOK; not
   * watched (written with write()), nobody else hears of it.
   */
  remoteHookFailed(id: string, reason: string, watched: boolean): void;
}

export type CloseListener = (code: number, reason: string, err: FerryError | undefined) => void;

/** Flush a batch early once it is this large, so one batch stays well under maxPayload. */
const FLUSH_BYTES = 256 * 1024;
/**
 * Marked frames are acknowledged at once after this much payload since the last ACK: what a
 * sender sends at 2.6 MB/s within the default 25 ms delay, or at 13 MB/s within 5 ms. In a flood
 * (large messages, many at once) every batch is acknowledged as it is handed to the hook, and a
 * steady stream above that rate every 64 KiB, so the sender holds no more than that for the
 * delay's sake.
 */
const ACK_AT_ONCE_BYTES = 64 * 1024;

export class Session implements AckSink {
  state: SessionState = 'handshaking';
  /** Assigned by the terminator in WELCOME; both ends log it. */
  id = '';
  readonly role: Role;
  #streams: Streams | undefined;
  readonly #options: SessionOptions;
  readonly #channel: FrameChannel;
  #log: Logger;
  readonly #metrics: Metrics;
  readonly #writer = new FrameWriter();
  readonly #visitor: FrameVisitor;
  #flushScheduled = false;
  /** A DATA frame already left in this turn of the event loop: later ones wait for the flush. */
  #sentThisTurn = false;
  #pendingAck = 0;
  /** The last seq an ACK was written for in this session. */
  #ackWritten = 0;
  /** The highest seq received without FLAG_ACK_DELAYABLE: acknowledged at once, as is all before it. */
  #ackAtOnceUpTo = 0;
  /** Writes the pending ACK when a delayable one has waited ackDelayMs and no batch took it along. */
  #ackTimer: NodeJS.Timeout | undefined;
  /** performance.now() when the oldest delayable ACK not yet written began to wait; undefined when none waits. */
  #ackWaitingSince: number | undefined;
  /** Payload bytes of the DATA frames received since the last ACK was written. */
  #bytesSinceAck = 0;
  /** Entries of the ack being settled whose peer hook failed (see #acked). */
  #failedInAck = 0;
  /**
   * Outbox entries in the batch being written. Each points at its frame in the writer's buffer
   * from the moment it is encoded (so a session that dies before its flush can still resend
   * it); the flush marks them sent and points them at the batch taken.
   */
  readonly #entriesInBatch: OutboxEntry[] = [];
  /** How many of them carry bytes (counted by kind when the batch leaves). */
  #binaryInBatch = 0;
  /** A batch is flushed before it would pass this size, so it always fits the peer's maxPayload. */
  readonly #maxBatchBytes: number;
  #handshakeTimer: NodeJS.Timeout | undefined;
  readonly #openListeners: Array<() => void> = [];
  readonly #closeListeners: CloseListener[] = [];

  constructor(options: SessionOptions) {
    this.#options = options;
    this.role = options.role;
    this.#channel = options.channel;
    this.#log = options.logger;
    this.#metrics = options.metrics;
    this.#maxBatchBytes = Math.min(FLUSH_BYTES, options.maxPayloadBytes - HEADROOM_BYTES);
    if (typeof options.streams !== 'function') this.#streams = options.streams;
    this.#visitor = {
      control: (type, body) => this.#onControl(type, body),
      data: (seq, flags, buf, start, end) => this.#onData(seq, flags, buf, start, end),
      ack: (seq) => this.#onAck(seq),
      nack: (seq, reason) => this.#onNack(seq, reason),
    };
    this.#handshakeTimer = setTimeout(() => {
      const awaited = this.role === 'initiator' ? 'WELCOME' : 'HELLO';
      this.#metrics.handshakeFailures.inc({ reason: 'FERRY_ERR_HANDSHAKE_TIMEOUT' });
      this.fail(new FerryError('FERRY_ERR_HANDSHAKE_TIMEOUT', `no ${awaited} within ${options.handshakeTimeoutMs} ms (session.handshakeTimeoutMs)`));
    }, options.handshakeTimeoutMs);
  }

  /**
   * Starts the session once the caller registered its listeners: the initiator says HELLO,
   * and frames that arrived early are replayed (they may complete the handshake at once).
   */
  start(): void {
    if (this.role === 'initiator') this.#sendHello();
    this.#channel.attach({
      onBatch: (batch) => this.#onBatch(batch),
      onError: (err) => this.fail(err),
      onClose: (code, reason) => this.#end(code, reason || 'closed by peer', undefined, false),
    });
  }

  onOpen(listener: () => void): void {
    this.#openListeners.push(listener);
  }

  onClose(listener: CloseListener): void {
    this.#closeListeners.push(listener);
  }

  get streams(): Streams | undefined {
    return this.#streams;
  }

  get logger(): Logger {
    return this.#log;
  }

  /** Receiver backpressure: stop reading while the hooks are behind. */
  setPaused(paused: boolean): void {
    if (paused) this.#channel.pause();
    else this.#channel.resume();
  }

  /** Writes one outbox entry; one that an earlier connection carried goes out flagged. */
  sendEntry(entry: OutboxEntry): void {
    if (this.state !== 'open') return;
    const outbox = (this.#streams as Streams).outbox;
    const resent = outbox.markResent(entry);
    if (resent) this.#metrics.messagesRedelivered.inc();
    const payload = payloadOf(entry);
    // An upper bound (UTF-8 needs at most 3 bytes per UTF-16 unit), so no exact count per message.
    this.#makeRoom(DATA_HEADER_BYTES + (typeof payload === 'string' ? payload.length * 3 : payload.length));
    let flags = entry.kindFlags;
    if (resent) flags |= FLAG_REDELIVERED;
    // Nobody awaits it (write()) and the outbox is under half: its ACK may come with later ones.
    else if (entry.settle === undefined && !outbox.isPastHalf) flags |= FLAG_ACK_DELAYABLE;
    const at = this.#writer.data(entry.seq, flags, payload);
    if (entry.kindFlags !== 0) this.#binaryInBatch += 1;
    outbox.markEncoded(entry, this.#writer.buffer, at, this.#writer.slab);
    // JSON is counted in UTF-16 units until encoded: its UTF-8 bytes may take the outbox past
    // half only now, and then write() asks its caller to wait for this ACK, which must not wait.
    if ((flags & FLAG_ACK_DELAYABLE) !== 0 && outbox.isPastHalf) this.#writer.clearDataFlag(at, FLAG_ACK_DELAYABLE);
    this.#entriesInBatch.push(entry);
    if (this.#sentThisTurn) {
      // endTurn() flushes the rest of the turn; only a full batch leaves before that.
      if (this.#writer.length >= this.#maxBatchBytes) this.flush();
      return;
    }
    // The first message of a turn leaves at once, as with a plain ws.send(): it does not wait
    // for the messages behind it. Those are coalesced until the flush at the end of the turn.
    this.#sentThisTurn = true;
    setImmediate(endTurn, this);
    this.flush();
  }

  acknowledge(seq: number): void {
    if (this.state !== 'open') return;
    if (seq > this.#pendingAck) this.#pendingAck = seq;
    const delayMs = this.#options.ackDelayMs;
    if (this.#ackAtOnceUpTo > this.#ackWritten || this.#bytesSinceAck >= ACK_AT_ONCE_BYTES || delayMs === 0) {
      this.#scheduleFlush();
      return;
    }
    const now = performance.now();
    if (this.#ackWaitingSince === undefined) {
      this.#ackWaitingSince = now;
      this.#ackTimer ??= setTimeout(flushDelayedAck, delayMs, this).unref();
    } else if (now - this.#ackWaitingSince >= delayMs / 2) {
      // It leaves with this batch, after its hooks (see the header).
      this.#scheduleFlush();
    }
  }

  reportFailure(seq: number, reason: string): void {
    if (this.state !== 'open') return;
    this.#makeRoom(NACK_HEADER_BYTES + MAX_REASON_BYTES);
    this.#writer.nack(seq, reason);
    this.#scheduleFlush();
  }

  /** Ends the session because of an error: logged with its code, counted, closed with its close code. */
  fail(err: FerryError): void {
    if (this.state === 'closed') return;
    this.#metrics.framesRejected.inc({ reason: err.code });
    this.#log.warn(`session ended: ${err.message}`, { code: err.code, state: this.state });
    this.#end(err.closeCode, err.code, err, true);
  }

  /** Ends the session on purpose (drained, shutting down, replaced by a newer connection). */
  close(code: number, reason: string): void {
    if (this.state === 'closed') return;
    this.flush();
    this.#end(code, reason, undefined, true);
  }

  /** The event loop turned: the next message may leave at once again (see sendEntry). */
  endTurn(): void {
    this.#sentThisTurn = false;
    this.flush();
  }

  /**
   * The timer of a delayed ACK fired. If that ACK left with a batch meanwhile and another began
   * to wait after it, this is that one's timer now, due ackDelayMs after it began: the timer is
   * never a reason to write an ACK early. Within a millisecond of due counts as due (timers
   * fire on whole milliseconds).
   */
  flushDelayedAck(): void {
    this.#ackTimer = undefined;
    if (this.#ackWaitingSince === undefined || this.state !== 'open') return;
    const dueInMs = this.#ackWaitingSince + this.#options.ackDelayMs - performance.now();
    if (dueInMs >= 1) this.#ackTimer = setTimeout(flushDelayedAck, dueInMs, this).unref();
    else this.flush();
  }

  /** Writes whatever is batched now. */
  flush(): void {
    this.#flushScheduled = false;
    if (this.state !== 'open') return;
    if (this.#pendingAck > 0) {
      this.#writer.ack(this.#pendingAck);
      this.#ackWritten = this.#pendingAck;
      this.#pendingAck = 0;
      this.#bytesSinceAck = 0;
      this.#ackWaitingSince = undefined;
    }
    if (this.#writer.length === 0) return;
    const slab = this.#holdForSend();
    const batch = this.#writer.take();
    this.#metrics.bytesSent.inc(batch.length);
    const entries = this.#entriesInBatch;
    if (entries.length > 0) {
      this.#metrics.messagesSent.inc(entries.length);
      if (this.#binaryInBatch > 0) {
        this.#metrics.binaryMessages.sent.inc(this.#binaryInBatch);
        this.#binaryInBatch = 0;
      }
      (this.#streams as Streams).outbox.markSent(entries, batch, slab);
      entries.length = 0;
    }
    try {
      this.#channel.send(batch, () => slab.release());
    } catch (err) {
      // Not the caller's fault (send() may run inside write()): the session ends and the batch's
      // messages are resent on the next one.
      this.fail(isFerryError(err) ? err : new FerryError('FERRY_ERR_SESSION_CLOSED', `sending a batch failed: ${messageOf(err)}`, { cause: err }));
    }
  }

  /**
   * Holds the slab of the frames about to be taken, for the channel: it may still be writing
   * them to the socket after send() returns, and lets go by calling send()'s `done`. Held before
   * take(), which may move the writer to another slab and let go of this one.
   */
  #holdForSend(): Slab {
    const slab = this.#writer.slab;
    slab.retain();
    return slab;
  }

  /**
   * A HELLO or WELCOME, sent at once in a batch of its own: the session is not open yet, so
   * nothing else is batched and flush() would not send it.
   */
  #sendControl(type: typeof FrameType.HELLO | typeof FrameType.WELCOME, body: Hello | Welcome): void {
    this.#writer.control(type, body);
    const slab = this.#holdForSend();
    this.#channel.send(this.#writer.take(), () => slab.release());
  }

  /** Flushes the batch first when `bytes` more would take it past the batch limit. */
  #makeRoom(bytes: number): void {
    const used = this.#writer.length;
    if (used > 0 && used + bytes > this.#maxBatchBytes) this.flush();
  }

  #scheduleFlush(): void {
    if (this.#writer.length >= this.#maxBatchBytes) {
      this.flush();
      return;
    }
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(flushSession, this);
  }

  #sendHello(): void {
    const { outbox, inbox } = this.#streams as Streams;
    const hello: Hello = {
      v: PROTOCOL_VERSION,
      role: 'initiator',
      streamId: outbox.streamId,
      peerStreamId: inbox.streamId,
      resumeFrom: inbox.resumeFrom,
      // No ACK can settle an entry before the WELCOME (no session is open), so the first DATA
      // of this session is at most this seq. Were entries refused to their callers meanwhile
      // (a drain), the first DATA would skip and end this one session with FERRY_ERR_SEQUENCE;
      // the next HELLO says the truth again.
      holdsFrom: outbox.holdsFrom,
      armor: this.#options.armor,
    };
    this.#sendControl(FrameType.HELLO, hello);
  }

  #onBatch(batch: Buffer): void {
    if (this.state === 'closed') return;
    this.#metrics.bytesReceived.inc(batch.length);
    try {
      decodeFrames(batch, this.#visitor);
    } catch (err) {
      const ferr = isFerryError(err) ? err : new FerryError('FERRY_ERR_BAD_FRAME', messageOf(err), { cause: err });
      if (this.state === 'handshaking') this.#metrics.handshakeFailures.inc({ reason: ferr.code });
      this.fail(ferr);
    }
  }

  #onControl(type: typeof FrameType.HELLO | typeof FrameType.WELCOME, body: unknown): void {
    const name = type === FrameType.HELLO ? 'HELLO' : 'WELCOME';
    if (this.state !== 'handshaking') throw protocolError(`${name} after the handshake`);
    if (this.role === 'terminator') {
      if (type !== FrameType.HELLO) throw protocolError(`expected HELLO, got ${name}`);
      this.#onHello(parseHello(body, this.#options.armor));
    } else {
      if (type !== FrameType.WELCOME) throw protocolError(`expected WELCOME, got ${name}`);
      this.#onWelcome(parseWelcome(body));
    }
  }

  #onHello(hello: Hello): void {
    const resolve = this.#options.streams as (hello: Hello) => Streams;
    this.#streams = resolve(hello);
    const { outbox, inbox } = this.#streams;
    this.id = randomBytes(8).toString('hex');
    const welcome: Welcome = {
      v: PROTOCOL_VERSION,
      role: 'terminator',
      sessionId: this.id,
      streamId: outbox.streamId,
      resumeFrom: inbox.resumeFrom,
      holdsFrom: outbox.holdsFrom,
    };
    this.#sendControl(FrameType.WELCOME, welcome);
    // The initiator's resume point only counts for the stream it names: after a terminator
    // restart, our outbound stream is new and the initiator has nothing of it.
    this.#open(hello.peerStreamId === outbox.streamId ? hello.resumeFrom : 0, hello.holdsFrom);
  }

  #onWelcome(welcome: Welcome): void {
    const streams = this.#streams as Streams;
    if (welcome.streamId !== streams.inbox.streamId) {
      const make = this.#options.newInbox;
      if (!make) throw protocolError('no inbox factory for a new terminator stream');
      streams.inbox = make(welcome.streamId);
    }
    this.id = welcome.sessionId;
    this.#open(welcome.resumeFrom, welcome.holdsFrom);
  }

  /**
   * Both sides: forget what the peer already delivered, then (re)send everything else; the
   * inbox moves past what the peer no longer holds (`peerHoldsFrom`).
   */
  #open(peerDelivered: number, peerHoldsFrom: number): void {
    clearTimeout(this.#handshakeTimer);
    const { outbox, inbox } = this.#streams as Streams;
    if (peerDelivered > outbox.lastSeq) throw protocolError(`peer claims seq ${peerDelivered} delivered, only ${outbox.lastSeq} were sent`);
    this.state = 'open';
    this.#log = this.#log.child({ sessionId: this.id });
    this.#metrics.sessionsTotal.inc();
    this.#metrics.sessionsOpen.inc();
    this.#log.info('session open', {
      role: this.role,
      armor: this.#options.armor,
      stream: outbox.streamId,
      resumeFrom: peerDelivered,
      unacked: outbox.depth,
      ...this.#options.identity,
    });
    if (peerDelivered > 0) this.#acked(outbox, peerDelivered);
    for (const entry of outbox.pending()) this.sendEntry(entry);
    // A flush in the resend loop may have failed and ended the session: no inbox, no open listeners then.
    if ((this.state as SessionState) !== 'open') return;
    const skipped = inbox.attach(this, peerHoldsFrom);
    // From 1: a stream this process meets for the first time (after a restart, or the first
    // visit to this replica) starts wherever the sender is. Past 1: the stream was here before
    // and another replica acknowledged what came in between.
    if (skipped && skipped.from > 1) {
      this.#log.info('stream resumed past messages acknowledged elsewhere', { stream: inbox.streamId, skippedFrom: skipped.from, skippedTo: skipped.to });
    }
    for (const listener of this.#openListeners) listener();
  }

  #onData(seq: number, flags: number, buf: Buffer, start: number, end: number): void {
    if (this.state !== 'open') throw protocolError('DATA before the handshake');
    if ((flags & FLAG_ACK_DELAYABLE) === 0 && seq > this.#ackAtOnceUpTo) this.#ackAtOnceUpTo = seq;
    this.#bytesSinceAck += end - start;
    (this.#streams as Streams).inbox.accept(seq, flags, buf, start, end);
  }

  #onAck(seq: number): void {
    if (this.state !== 'open') throw protocolError('ACK before the handshake');
    const outbox = (this.#streams as Streams).outbox;
    if (seq > outbox.lastSeq) throw protocolError(`ACK for seq ${seq}, only ${outbox.lastSeq} were sent`);
    this.#acked(outbox, seq);
  }

  /**
   * Settles every entry up to `seq`: delivered (timed) or failed (the peer's hook failed; a NACK
   * came first). Counted once per ack, not once per message.
   */
  #acked(outbox: Outbox, seq: number): void {
    const now = performance.now();
    this.#failedInAck = 0;
    const count = outbox.ack(seq, (entry, unwatchedFailure) => this.#onAcked(outbox, entry, unwatchedFailure, now));
    const failed = this.#failedInAck;
    if (count > failed) this.#metrics.messagesDelivered.inc(count - failed);
    if (failed > 0) this.#metrics.messagesFailed.inc({ reason: 'FERRY_ERR_REMOTE_HOOK' }, failed);
  }

  #onNack(seq: number, reason: string): void {
    if (this.state !== 'open') throw protocolError('NACK before the handshake');
    (this.#streams as Streams).outbox.nack(seq, reason);
  }

  #onAcked(outbox: Outbox, entry: OutboxEntry, unwatchedFailure: string | undefined, now: number): void {
    const failure = entry.failure;
    if (failure === undefined) {
      this.#metrics.deliveryLatency.observe((now - entry.acceptedAt) / 1000);
      return;
    }
    this.#failedInAck += 1;
    this.#options.remoteHookFailed(outbox.idOf(entry.seq), failure, unwatchedFailure === undefined);
  }

  #end(code: number, reason: string, err: FerryError | undefined, local: boolean): void {
    if (this.state === 'closed') return;
    const wasOpen = this.state === 'open';
    this.state = 'closed';
    clearTimeout(this.#handshakeTimer);
    clearTimeout(this.#ackTimer);
    if (wasOpen) this.#metrics.sessionsOpen.dec();
    this.#metrics.sessionsClosed.inc({ reason: err?.code ?? closeReason(code, reason) });
    this.#streams?.inbox.detach(this);
    if (local) this.#channel.close(code, reason);
    this.#log.info('session closed', { code, reason, by: local ? 'local' : 'peer' });
    for (const listener of this.#closeListeners) listener(code, reason, err);
  }
}

function flushSession(session: Session): void {
  session.flush();
}

function flushDelayedAck(session: Session): void {
  session.flushDelayedAck();
}

function endTurn(session: Session): void {
  session.endTurn();
}

/**
 * The FERRY_ERR_* code of a session that ended without an error of its own. A Fast Ferry peer
 * that fails a session closes it with the code as the close reason; a connection that dropped
 * without a close frame (1006) lost its peer; any other close was on purpose (drain, shutdown,
 * a newer connection replaced it).
 */
export function closeReason(code: number, reason: string): ErrorCode {
  if (Object.hasOwn(ErrorCodes, reason)) return reason as ErrorCode;
  if (code === ABNORMAL_CLOSURE) return 'FERRY_ERR_PEER_GONE';
  if (code === CloseCode.PEER_DEAD) return 'FERRY_ERR_PEER_DEAD';
  return 'FERRY_ERR_SESSION_CLOSED';
}

/** RFC 6455 §7.1.5: the connection closed without a close frame (never sent, only reported). */
const ABNORMAL_CLOSURE = 1006;

function protocolError(message: string): FerryError {
  return new FerryError('FERRY_ERR_PROTOCOL', message);
}
