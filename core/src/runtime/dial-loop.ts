/**
 * The initiator's side of the link: dials the terminator, wires the connection, runs one
 * session at a time over it, and after a failure or a close dials again through the backoff
 * (full jitter) until reconnect.maxRetries attempts in a row failed: then the circuit opens
 * and it stops. The streams (outbox and inbox) belong to the runtime and outlive every session.
 */
import { CloseCode, FerryError, isFerryError, messageOf } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { FerryConfig } from '../config/schema.js';
import { Backoff } from '../session/backoff.js';
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

export class DialLoop {
  state: LinkState = 'connecting';
  readonly backoff: Backoff;
  #session: Session | null = null;
  #retryTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** A session opened at least once: from then on every dial is a reconnect. */
  #everOpen = false;
  readonly #options: DialLoopOptions;

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
    dial({ url: s.url, serverName: s.serverName, tls, timeoutMs: s.dialTimeoutMs, maxPayloadBytes: s.maxPayloadBytes })
      .then(async ({ ws, tlsSocket }) => {
        if (this.#stopped) {
          ws.close(CloseCode.GOING_AWAY, 'shutdown');
          return;
        }
        this.state = 'handshaking';
        const connection = connect({ role: 'initiator', ws, tlsSocket, privateKey: tls.privateKey, config, metrics, logger });
        const { channel, identity } = await connection.opened;
        const session = new Session({
          role: 'initiator',
          channel,
          logger,
          metrics,
          armor: config.armor.mode,
          handshakeTimeoutMs: s.handshakeTimeoutMs,
          maxPayloadBytes: s.maxPayloadBytes,
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
        metrics.dialFailures.inc({ reason: reasonLabel(ferr) });
        if (ferr.code === 'FERRY_ERR_TLS') metrics.handshakeFailures.inc({ reason: reasonLabel(ferr) });
        this.#scheduleReconnect(ferr);
      });
  }

  #attach(session: Session): void {
    this.#session = session;
    session.onOpen(() => {
      this.state = 'open';
      this.#everOpen = true;
      this.backoff.succeed();
      this.#options.opened(session);
    });
    session.onClose((code, reason, err) => {
      if (this.#session === session) this.#session = null;
      if (this.#stopped) return;
      this.#scheduleReconnect(err ?? new FerryError('FERRY_ERR_SESSION_CLOSED', `session closed (${code} ${reason})`));
    });
    session.start();
  }

  #scheduleReconnect(cause: FerryError): void {
    if (this.#stopped) return;
    const { config, metrics, logger } = this.#options;
    const delay = this.backoff.fail();
    if (this.backoff.exhausted) {
      this.state = 'circuit-open';
      metrics.circuitOpen.set(1);
      logger.error(`⛔ circuit open: ${this.backoff.failures} connection attempts in a row failed; not retrying (reconnect.maxRetries=${config.reconnect.maxRetries}). Last error: ${cause.message}`, { code: cause.code });
      this.#options.circuitOpened(cause);
      return;
    }
    this.state = 'backoff';
    // Start-up dials (before the first session) are not reconnects; ferry_dial_failures_total counts them.
    if (this.#everOpen) metrics.reconnects.inc();
    logger.warn(`reconnecting in ${delay} ms: ${cause.message}`, { code: cause.code, attempt: this.backoff.failures });
    this.#retryTimer = setTimeout(() => this.#connect(), delay);
  }
}
