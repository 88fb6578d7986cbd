/**
 * The terminator runtime: accepts sessions on the wss port (mutual TLS 1.3), hands every
 * message to on_receive_terminator in order, acknowledges it only after the hook settled, and
 * can stream messages back to an initiator. A failing hook is logged and counted; it never ends
 * the session or the process.
 */
import type { TLSSocket } from 'node:tls';
import type { WebSocket } from 'ws';
import { CloseCode, FerryError, isFerryError, messageOf } from './errors.js';
import { checkHook, runHook } from './hooks.js';
import { RepeatedLog } from './log-limit.js';
import { addNotFound, addProbeRoutes, type Readiness } from './http/probes.js';
import { serve, type HttpServer } from './http/server.js';
import { countedRefusal, trackCertificateExpiry, trackOutboxDepth } from './metrics.js';
import { watchTlsMaterial } from './transport/tls-reload.js';
import { onShutdownSignal, prepare, type Prepared, type RuntimeOptions } from './runtime.js';
import type { Hello } from './session/handshake.js';
import { Inbox, type ReceivedMessage } from './session/inbox.js';
import { Outbox, type Delivery } from './session/outbox.js';
import { Session, type Streams } from './session/session.js';
import { closeWebSocket, webSocketError } from './transport/channel.js';
import { keepAlive } from './transport/keepalive.js';
import { listen, type Listener } from './transport/listen.js';
import { channelOptionsFor, openChannel, type OpenChannelOptions } from './transport/open-channel.js';
import express from 'express';
import { encodePayload, parsePayload } from './wire/payload.js';

/** What on_receive_terminator is told besides the payload. */
export interface TerminatorMessage extends ReceivedMessage {
  /** The initiator stream it came from; pass it to `runtime.send` to answer later. */
  streamId: string;
  /** Streams a message back to the initiator that sent this one (same guarantees). */
  reply(payload: Record<string, unknown>): Promise<Delivery>;
}

export interface TerminatorHooks {
  on_receive_terminator: (payload: unknown, message: TerminatorMessage) => unknown;
}

/** How many initiator streams are remembered (for dedupe and resume) after they disconnect. */
const MAX_REMEMBERED_STREAMS = 1024;

export class TerminatorRuntime {
  readonly config: Prepared['config'];
  readonly metrics: Prepared['metrics'];
  /** The TLS material in use; replaced when the files change (new connections only). */
  #tls: Prepared['tls'];
  #stopWatching: () => void = () => {};
  readonly #hooks: TerminatorHooks;
  readonly #log: Prepared['logger'];
  readonly #hookFailureLog = new RepeatedLog('on_receive_terminator failures');
  readonly #remoteHookFailureLog = new RepeatedLog("failures of the initiator's on_receive_initiator");
  /** Per initiator stream id: its streams, kept across reconnects (insertion order = age). */
  readonly #streams = new Map<string, Streams>();
  /** The open session of each initiator stream. */
  readonly #sessions = new Map<string, Session>();
  #listener: Listener | null = null;
  #http: HttpServer | null = null;
  #draining = false;

  constructor(hooks: TerminatorHooks, prepared: Prepared) {
    this.#hooks = hooks;
    this.#tls = prepared.tls;
    trackCertificateExpiry(prepared.metrics, () => this.#tls.secondsToExpiry());
    this.config = prepared.config;
    this.metrics = prepared.metrics;
    this.#log = prepared.logger;
    trackOutboxDepth(this.metrics, () => {
      let depth = 0;
      for (const s of this.#streams.values()) depth += s.outbox.depth;
      return depth;
    });
  }

  get logger(): Prepared['logger'] {
    return this.#log;
  }

  get sessionPort(): number {
    return this.#listener?.port ?? 0;
  }

  get httpPort(): number {
    return this.#http?.port ?? 0;
  }

  /** Open sessions right now. */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  async start(): Promise<void> {
    const { config } = this;
    const app = express();
    app.disable('x-powered-by');
    addProbeRoutes(app, () => this.readiness(), this.metrics.registry);
    addNotFound(app);
    this.#http = await serve(app, config.http.host, config.http.port);
    this.#listener = await listen({
      host: config.session.listenHost,
      port: config.session.listenPort,
      tls: this.#tls,
      handshakeTimeoutMs: config.session.handshakeTimeoutMs,
      maxPayloadBytes: config.session.maxPayloadBytes,
      onConnection: (ws, tlsSocket) => this.#accept(ws, tlsSocket),
      onTlsError: (err, remote) => {
        const reason = (err as NodeJS.ErrnoException).code ?? 'TLS_ERROR';
        this.metrics.handshakeFailures.inc({ reason });
        this.#log.warn(`TLS handshake refused: ${messageOf(err)}`, { code: 'FERRY_ERR_TLS', reason, remote });
      },
      onUpgradeError: (err, remote) => {
        const reason = (err as NodeJS.ErrnoException).code ?? 'HTTP_ERROR';
        const code = reason === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'FERRY_ERR_HANDSHAKE_TIMEOUT' : 'FERRY_ERR_PROTOCOL';
        this.metrics.handshakeFailures.inc({ reason });
        this.#log.warn(`WebSocket upgrade refused: ${messageOf(err)} (the request must be a complete upgrade within session.handshakeTimeoutMs)`, { code, reason, remote });
      },
    });
    this.#stopWatching = watchTlsMaterial(config.tls, this.#log, this.#tls, (tls) => {
      this.#tls = tls;
      this.#listener?.reload(tls);
    });
    this.#log.info('terminator up', { wss: `${config.session.listenHost}:${this.#listener.port}`, http: `${config.http.host}:${this.#http.port}`, armor: config.armor.mode });
  }

  readiness(): Readiness {
    if (this.#draining) return { ready: false, reason: 'draining' };
    if (!this.#listener) return { ready: false, reason: 'not listening yet' };
    return { ready: true, reason: `listening on ${this.#listener.port}, ${this.#sessions.size} session(s)` };
  }

  /**
   * Streams a message to the initiator of `streamId`. Refused (coded) when that stream is
   * unknown or its outbox is full; sent when its session is open, else on its next session.
   */
  send(streamId: string, payload: Record<string, unknown>): Promise<Delivery> {
    return new Promise<Delivery>((resolve, reject) => {
      try {
        const streams = this.#streams.get(streamId);
        if (!streams) throw new FerryError('FERRY_ERR_NO_SESSION', `no initiator stream ${streamId}`);
        if (this.#draining) throw new FerryError('FERRY_ERR_SHUTTING_DOWN', 'the terminator is shutting down');
        const entry = streams.outbox.push(encodePayload(payload, this.config.session.maxPayloadBytes), (err, delivery) => {
          if (err) reject(countedRefusal(this.metrics, err));
          else resolve(delivery);
        });
        this.#sessions.get(streamId)?.sendEntry(entry);
      } catch (err) {
        reject(countedRefusal(this.metrics, err));
      }
    });
  }

  /** Stops accepting, lets in-flight hooks finish and their acks go out, then closes (1001). */
  async stop(reason = 'shutdown'): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    this.#log.info('draining', { reason, sessions: this.#sessions.size });
    this.#listener?.server.close();
    const deadline = performance.now() + this.config.session.drainTimeoutMs;
    while (performance.now() < deadline && [...this.#streams.values()].some((s) => s.inbox.queued > 0 || s.inbox.busy)) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    for (const session of this.#sessions.values()) session.close(CloseCode.GOING_AWAY, reason);
    for (const { inbox } of this.#streams.values()) inbox.halt();
    await new Promise((resolve) => setImmediate(resolve));
    this.#stopWatching();
    await this.#listener?.close();
    await this.#http?.close();
    this.#log.info('terminator stopped', { reason });
  }

  #accept(ws: WebSocket, tlsSocket: TLSSocket): void {
    const cert = tlsSocket.getPeerX509Certificate();
    const peer = cert?.subject.match(/CN=([^\n,]+)/)?.[1] ?? 'unknown';
    const log = this.#log.child({ peer, peerSerial: cert?.serialNumber, remote: `${tlsSocket.remoteAddress ?? '?'}:${tlsSocket.remotePort ?? '?'}` });
    if (this.#draining) {
      ws.close(CloseCode.GOING_AWAY, 'draining');
      return;
    }
    const { session: s, armor } = this.config;
    // ws reports a frame it cannot accept (over maxPayload, bad opcode, unmasked, bad UTF-8) as
    // an 'error' event after it started closing the connection; without a listener the error
    // would be thrown and end the process.
    ws.on('error', (err) => {
      const ferr = webSocketError(err);
      if (sessionRef) {
        sessionRef.fail(ferr);
        return;
      }
      this.metrics.framesRejected.inc({ reason: ferr.code });
      log.warn(`connection refused: ${ferr.message}`, { code: ferr.code });
    });
    keepAlive(ws, s.pingIntervalMs, (silentMs) => {
      sessionRef?.fail(new FerryError('FERRY_ERR_PEER_DEAD', `nothing from the initiator for ${silentMs} ms (2 × session.pingIntervalMs)`));
      ws.terminate();
    });
    let sessionRef: Session | undefined;
    openChannel(this.#channelOptions(ws, tlsSocket))
      .then(({ channel, identity }) => {
        const session = new Session({
          role: 'terminator',
          channel,
          logger: log,
          metrics: this.metrics,
          armor: armor.mode,
          handshakeTimeoutMs: s.handshakeTimeoutMs,
          maxPayloadBytes: s.maxPayloadBytes,
          streams: (hello) => this.#streamsFor(hello),
          identity,
          unwatchedFailure: (id, reason) => {
            this.metrics.messagesRefused.inc({ reason: 'FERRY_ERR_REMOTE_HOOK' });
            this.#remoteHookFailureLog.warn(session.logger, `message ${id}: the peer's hook failed: ${reason}`, { code: 'FERRY_ERR_REMOTE_HOOK' });
          },
        });
        sessionRef = session;
        session.onOpen(() => {
          const streamId = (session.streams as Streams).inbox.streamId;
          this.#sessions.set(streamId, session);
          session.onClose(() => {
            if (this.#sessions.get(streamId) === session) this.#sessions.delete(streamId);
          });
        });
        session.start();
      })
      .catch((err: unknown) => {
        const ferr = isFerryError(err) ? err : new FerryError('FERRY_ERR_PROTOCOL', messageOf(err), { cause: err });
        this.metrics.handshakeFailures.inc({ reason: ferr.code });
        log.warn(`session refused: ${ferr.message}`, { code: ferr.code });
        closeWebSocket(ws, ferr.closeCode, ferr.code);
      });
  }

  /**
   * Finds (or makes) the streams of the initiator that said HELLO. One initiator stream, one
   * session: a reconnect replaces a half-dead old connection, closed here, before the new
   * session resends what is unacknowledged, so the old one's last batch leaves first and
   * every repeat on the new one is flagged.
   */
  #streamsFor(hello: Hello): Streams {
    this.#sessions.get(hello.streamId)?.close(CloseCode.NORMAL, 'replaced by a newer connection');
    let streams = this.#streams.get(hello.streamId);
    if (streams) {
      // Refresh its age for the eviction below.
      this.#streams.delete(hello.streamId);
    } else {
      streams = { inbox: this.#newInbox(hello.streamId), outbox: new Outbox(this.config.session.outboxLimit, undefined, this.config.session.outboxLimitBytes) };
    }
    this.#streams.set(hello.streamId, streams);
    this.#forgetOldStreams();
    return streams;
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

  #channelOptions(ws: WebSocket, tlsSocket: TLSSocket): OpenChannelOptions {
    return channelOptionsFor(this.config, 'terminator', { ws, tlsSocket, privateKey: this.#tls.privateKey }, (count) => this.metrics.rekeys.inc(count));
  }


  #newInbox(streamId: string): Inbox {
    const hook = this.#hooks.on_receive_terminator;
    const timeoutMs = this.config.hooks.timeoutMs;
    const hookDuration = this.metrics.hookDuration.labels({ hook: 'on_receive_terminator' });
    const received = this.metrics.messagesReceived;
    const reply = (payload: Record<string, unknown>): Promise<Delivery> => this.send(streamId, payload);
    return new Inbox(
      streamId,
      (buf, start, end, message) => {
        received.inc();
        const started = performance.now();
        // A literal, not a spread: adding properties after a spread cost ~1 µs per message.
        const info: TerminatorMessage = { id: message.id, seq: message.seq, redelivered: message.redelivered, streamId, reply };
        const result = runHook('on_receive_terminator', timeoutMs, hook, parsePayload(buf, start, end), info);
        if (result instanceof Promise) return result.finally(() => hookDuration.observe((performance.now() - started) / 1000));
        hookDuration.observe((performance.now() - started) / 1000);
        return result;
      },
      {
        hookFailed: (err, message) => {
          this.metrics.hookErrors.inc({ hook: 'on_receive_terminator', reason: err.code });
          this.#hookFailureLog.warn(this.#log, `on_receive_terminator failed: ${err.message}`, { code: err.code, id: message.id });
        },
        duplicate: () => this.metrics.duplicatesDropped.inc(),
        pressure: (high) => {
          const session = this.#sessions.get(streamId);
          if (session) this.#log.debug(high ? 'receiver busy: pausing reads' : 'receiver caught up: resuming reads', { stream: streamId });
          session?.setPaused(high);
        },
      },
      this.config.session.outboxLimit,
    );
  }
}

/** Starts the terminator: validates hooks and config, opens HTTP, listens for sessions. */
export async function startTerminator(hooks: TerminatorHooks, options: RuntimeOptions = {}): Promise<TerminatorRuntime> {
  checkHook('on_receive_terminator', hooks.on_receive_terminator);
  const runtime = new TerminatorRuntime(hooks, prepare('terminator', options));
  await runtime.start();
  if (options.handleSignals) onShutdownSignal(runtime.logger, (signal) => runtime.stop(signal));
  return runtime;
}
