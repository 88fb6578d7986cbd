/**
 * The initiator's side of the link: dials the terminator, wires the connection, runs one
 * session at a time over it, and after a failure or a close dials again through the backoff
 * (full jitter) until reconnect.maxRetries attempts in a row failed: then the circuit opens
 * and it stops. A session that ended before it was healthy (judgeSession in backoff.ts) is a
 * failed attempt like a failed dial, so a peer that refuses the stream right after it opened
 * cannot make a hot loop; after any other session the backoff starts over and the next dial
 * comes within reconnect.intervalMs, so a restarted terminator is found quickly. Repeated failures are
 * logged once per streak with a count (StreakLog). The streams (outbox and inbox) belong to
 * the runtime and outlive every session.
 */
import { CloseCode, FerryError, isFerryError, messageOf } from '../errors.js';
import type { Logger } from '../log.js';
import { StreakLog } from '../log-limit.js';
import type { Metrics } from '../metrics.js';
import type { FerryConfig } from '../config/schema.js';
import { Backoff, judgeSession } from '../session/backoff.js';
import type { Inbox } from '../session/inbox.js';
import { Session, type Streams } from '../session/session.js';
import { connect } from '../transport/connection.js';
import { dial } from '../transport/dial.js';
import { reasonLabel } from '../transport/failures.js';
import type { Certificates } from './certificates.js';
import type { RemoteHookFailures } from './remote-hook-failures.js';

export type LinkState = 'connecting' | 'handshaking' | 'open' | 'backoff' | 'circuit-open';

export interface DialLoopOptions {
  config: FerryConfig;
  metrics: Metrics;
  logger: Logger;
  certificates: Certificates;
  /** The streams the next session carries. */
  streams(): Streams;
  /** An Inbox for a terminator stream not received from before (a restarted terminator). */
  newInbox(streamId: string): Inbox;
  remoteHookFailures: RemoteHookFailures;
  /** A session opened; it carries `session.streams` from now on. */
  opened(session: Session): void;
  /** The circuit opened: nothing is dialed again. */
  circuitOpened(cause: FerryError): void;
}

const DIAL_FAILED = 'dial attempts failed';

export class DialLoop {
  state: LinkState = 'connecting';
  readonly backoff: Backoff;
  #session: Session | null = null;
  #retryTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** A session opened at least once: from then on every dial is a reconnect. */
  #everOpen = false;
  readonly #options: DialLoopOptions;
  readonly #streak = new StreakLog();

  constructor(options: DialLoopOptions) {
    this.#options = options;
    this.backoff = new Backoff(options.config.reconnect);
  }

  /** The session of the current connection, open or still in its handshake. */
  get session(): Session | null {
    return this.#session;
  }

  start(): void {
    this.#connect();
  }

  /** No more dials; a dial under way closes its connection when it completes. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
  }

  /** One dial; its failure (or its session's end) schedules the next through the backoff. */
  #connect(): void {
    if (this.#stopped) return;
    this.state = 'connecting';
    const { config, metrics, logger } = this.#options;
    const { session: s } = config;
    const tls = this.#options.certificates.current;
    // Set once the dial worked: a failed channel opening is counted by connect() as a handshake failure.
    let dialed = false;
    dial({ url: s.url, serverName: s.serverName, tls, timeoutMs: s.dialTimeoutMs, maxPayloadBytes: s.maxPayloadBytes })
      .then(async ({ ws, tlsSocket }) => {
        if (this.#stopped) {
          ws.close(CloseCode.GOING_AWAY, 'shutdown');
          return;
        }
        this.state = 'handshaking';
        dialed = true;
        const connection = connect({ role: 'initiator', ws, tlsSocket, privateKey: tls.privateKey, config, metrics, logger });
        const { channel, identity } = await connection.opened;
        // stop() may have landed during the armor handshake: a session built now would never be closed.
        if (this.#stopped) {
          channel.close(CloseCode.GOING_AWAY, 'shutdown');
          return;
        }
        const session = new Session({
          role: 'initiator',
          channel,
          logger,
          metrics,
          armor: config.armor.mode,
          handshakeTimeoutMs: s.handshakeTimeoutMs,
          maxPayloadBytes: s.maxPayloadBytes,
          ackDelayMs: s.ackDelayMs,
          streams: this.#options.streams(),
          newInbox: (streamId) => this.#options.newInbox(streamId),
          identity,
          remoteHookFailed: (id, reason, watched) => this.#options.remoteHookFailures.report(session.logger, id, reason, watched),
        });
        connection.bind(session);
        this.#attach(session);
      })
      .catch((err: unknown) => {
        const ferr = isFerryError(err) ? err : new FerryError('FERRY_ERR_DIAL_FAILED', messageOf(err), { cause: err });
        if (!dialed) {
          metrics.dialFailures.inc({ reason: reasonLabel(ferr) });
          if (ferr.code === 'FERRY_ERR_TLS') metrics.handshakeFailures.inc({ reason: reasonLabel(ferr) });
        }
        this.#scheduleReconnect(ferr);
      });
  }

  #attach(session: Session): void {
    this.#session = session;
    let openedAt = 0;
    let ackedAtOpen = 0;
    session.onOpen(() => {
      this.state = 'open';
      this.#everOpen = true;
      // A streak of failed dials ends here; a streak of failed sessions ends only with a healthy one.
      if (this.#streak.text.startsWith(DIAL_FAILED)) this.#streak.end(this.#options.logger);
      openedAt = performance.now();
      ackedAtOpen = this.#acknowledged();
      this.#options.opened(session);
    });
    session.onClose((code, reason, err) => {
      if (this.#session === session) this.#session = null;
      if (this.#stopped) return;
      const cause = err ?? new FerryError('FERRY_ERR_SESSION_CLOSED', `session closed (${code} ${reason})`);
      if (openedAt === 0) {
        this.#scheduleReconnect(cause, 'session failed');
        return;
      }
      const openMs = performance.now() - openedAt;
      const verdict = judgeSession({ openMs, newlyAcked: this.#acknowledged() - ackedAtOpen, closeCode: code, failed: err !== undefined }, this.#options.config.session.pingIntervalMs);
      if (verdict === 'failed') {
        this.#scheduleReconnect(cause, 'session ended');
        return;
      }
      this.#streak.end(this.#options.logger);
      this.backoff.succeed();
      const delay = this.backoff.delay();
      this.state = 'backoff';
      this.#options.metrics.reconnects.inc();
      this.#options.logger.warn(`session ended after ${Math.round(openMs)} ms: ${cause.message}; reconnecting in ${delay} ms`, { code: cause.code, verdict });
      this.#retryTimer = setTimeout(() => this.#connect(), delay);
    });
    session.start();
  }

  /** Messages of this stream the peer acknowledged so far (over every session). */
  #acknowledged(): number {
    const { outbox } = this.#options.streams();
    return outbox.lastSeq - outbox.depth;
  }

  /** A failed attempt (a dial, or a session that was not healthy): the backoff grows. */
  #scheduleReconnect(cause: FerryError, what = DIAL_FAILED): void {
    if (this.#stopped) return;
    const { config, metrics, logger } = this.#options;
    const delay = this.backoff.fail();
    const text = `${what}: ${cause.message}`;
    if (this.backoff.exhausted) {
      this.#streak.end(logger);
      this.state = 'circuit-open';
      metrics.circuitOpen.set(1);
      logger.error(`⛔ circuit open: ${this.backoff.failures} connection attempts in a row failed; not retrying (reconnect.maxRetries=${config.reconnect.maxRetries}). Last error: ${text}`, { code: cause.code });
      this.#options.circuitOpened(cause);
      return;
    }
    this.state = 'backoff';
    // Start-up dials (before the first session) are not reconnects; ferry_dial_failures_total counts them.
    if (this.#everOpen) metrics.reconnects.inc();
    this.#streak.record(logger, text, `reconnecting in ${delay} ms: ${cause.message} (attempt ${this.backoff.failures}; repeats of this cause are summed up in one line when they stop)`, { code: cause.code, attempt: this.backoff.failures, delayCeilingMs: this.backoff.ceilingMs() });
    this.#retryTimer = setTimeout(() => this.#connect(), delay);
  }
}
