/**
 * The terminator's memory of initiator streams: each stream's Inbox and Outbox, kept across
 * reconnects (for dedupe, resume and replies sent while the initiator was away), and the one
 * open session of each. Bounded: past MAX_REMEMBERED_STREAMS, the oldest streams without a
 * session are forgotten and their unsent replies refused.
 */
import { CloseCode, FerryError } from '../errors.js';
import type { Session, Streams } from '../session/session.js';

/** How many initiator streams are remembered (for dedupe and resume) after they disconnect. */
export const MAX_REMEMBERED_STREAMS = 1024;

export class StreamRegistry {
  /** Insertion order = age: a stream that says HELLO again moves to the end. */
  readonly #streams = new Map<string, Streams>();
  readonly #sessions = new Map<string, Session>();
  readonly #make: (streamId: string) => Streams;

  /** `make` creates the streams of an initiator stream id seen for the first time. */
  constructor(make: (streamId: string) => Streams) {
    this.#make = make;
  }

  /** Open sessions right now. */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  streams(streamId: string): Streams | undefined {
    return this.#streams.get(streamId);
  }

  session(streamId: string): Session | undefined {
    return this.#sessions.get(streamId);
  }

  allStreams(): IterableIterator<Streams> {
    return this.#streams.values();
  }

  allSessions(): IterableIterator<Session> {
    return this.#sessions.values();
  }

  /**
   * Finds (or makes) the streams of the initiator that said HELLO. One initiator stream, one
   * session: a reconnect replaces a half-dead old connection, closed here, before the new
   * session resends what is unacknowledged, so the old one's last batch leaves first and
   * every repeat on the new one is flagged.
   */
  streamsFor(streamId: string): Streams {
    this.#sessions.get(streamId)?.close(CloseCode.NORMAL, 'replaced by a newer connection');
    let streams = this.#streams.get(streamId);
    if (streams) this.#streams.delete(streamId);
    else streams = this.#make(streamId);
    this.#streams.set(streamId, streams);
    this.#forgetOldStreams();
    return streams;
  }

  /** `session` opened for `streamId`: it carries that stream until it closes. */
  opened(streamId: string, session: Session): void {
    this.#sessions.set(streamId, session);
    session.onClose(() => {
      if (this.#sessions.get(streamId) === session) this.#sessions.delete(streamId);
    });
  }

  #forgetOldStreams(): void {
    for (const [id, streams] of this.#streams) {
      if (this.#streams.size <= MAX_REMEMBERED_STREAMS) return;
      if (this.#sessions.has(id)) continue;
      // Replies are always sent with a promise (message.reply), so every one is told and counted.
      streams.outbox.failAll(new FerryError('FERRY_ERR_SESSION_CLOSED', `initiator stream ${id} forgotten (more than ${MAX_REMEMBERED_STREAMS} streams)`));
      this.#streams.delete(id);
    }
  }
}
