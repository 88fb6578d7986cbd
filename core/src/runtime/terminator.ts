/**
 * The terminator runtime: accepts sessions on the wss port (mutual TLS 1.3), hands every
 * message to on_receive_terminator in order, acknowledges it only after the hook settled, and
 * can stream messages back to an initiator. A failing hook is logged and counted; it never ends
 * the session or the process.
 */
import type { TLSSocket } from 'node:tls';
import type { WebSocket } from 'ws';
import express from 'express';
import { CloseCode, FerryError, messageOf } from '../errors.js';
import { checkHook } from '../hooks.js';
import { RepeatedLog } from '../log-limit.js';
import { addNotFound, addProbeRoutes, type Readiness } from '../http/probes.js';
import { serve, type HttpServer } from '../http/server.js';
import type { Logger } from '../log.js';
import { countedRefusal, trackOutboxes } from '../metrics.js';
import type { Delivery } from '../session/delivery.js';
import type { ReceivedMessage } from '../session/inbox.js';
import { Outbox } from '../session/outbox.js';
import { encodeMessage, type Payload } from '../session/payload-codec.js';
import { Session, type Streams } from '../session/session.js';
import { connect } from '../transport/connection.js';
import { pendingRefusal, tlsRefusal, upgradeRefusal } from '../transport/failures.js';
import { listen, type Listener } from '../transport/listen.js';
import { Certificates } from './certificates.js';
import { HookedInboxes } from './hooked-inbox.js';
import { RemoteHookFailures } from './remote-hook-failures.js';
import { onShutdownSignal } from './main.js';
import { prepare, type Prepared, type RuntimeOptions } from './prepare.js';
import { StreamRegistry } from './stream-registry.js';

/** What on_receive_terminator is told besides the payload. */
export interface TerminatorMessage extends ReceivedMessage {
  /** The initiator stream it came from; pass it to `runtime.send` to answer later. */
  streamId: string;
  /** Streams a message (a JSON object or bytes) back to the initiator that sent this one (same guarantees). */
  reply(payload: Payload): Promise<Delivery>;
  /** The hook's logger: lines in the app's log format (JSON with log.format=json), `hook` as a field. */
  log: Logger;
}

export interface TerminatorHooks {
  /** Each message: the parsed JSON, or a Buffer for bytes (a view of the received frame: copy it to keep it long). */
  on_receive_terminator: (payload: unknown, message: TerminatorMessage) => unknown;
}

export class TerminatorRuntime {
  readonly config: Prepared['config'];
  readonly metrics: Prepared['metrics'];
  readonly #certificates: Certificates;
  readonly #log: Prepared['logger'];
  readonly #remoteHookFailures: RemoteHookFailures;
  // Anyone who can reach the session port can make these lines, one per connection: each kind
  // is capped like the per-message lines (the metrics count every one).
  readonly #refusedAtAcceptLog = new RepeatedLog('connections refused at accept (session.maxPendingHandshakes reached)');
  readonly #tlsRefusedLog = new RepeatedLog('refused TLS handshakes');
  readonly #upgradeRefusedLog = new RepeatedLog('refused WebSocket upgrades');
  readonly #sessionRefusedLog = new RepeatedLog('refused sessions');
  readonly #registry: StreamRegistry;
  #listener: Listener | null = null;
  #http: HttpServer | null = null;
  #draining = false;

  constructor(hooks: TerminatorHooks, prepared: Prepared) {
    this.config = prepared.config;
    this.metrics = prepared.metrics;
    this.#log = prepared.logger;
    this.#certificates = new Certificates(prepared.tls, prepared.metrics);
    this.#remoteHookFailures = new RemoteHookFailures("the initiator's on_receive_initiator");
    const inboxes = new HookedInboxes<TerminatorMessage>({
      name: 'on_receive_terminator',
      hook: hooks.on_receive_terminator,
      describeFor: (streamId, log) => {
        const reply = (payload: Payload): Promise<Delivery> => this.send(streamId, payload);
        // An object literal, not a spread: this runs once per message.
        return (message) => ({ id: message.id, seq: message.seq, redelivered: message.redelivered, streamId, reply, log });
      },
      setPaused: (streamId, paused) => {
        const session = this.#registry.session(streamId);
        session?.setPaused(paused);
        return session !== undefined;
      },
      config: prepared.config,
      metrics: prepared.metrics,
      logger: prepared.logger,
    });
    const { outboxLimit, outboxLimitBytes } = prepared.config.session;
    this.#registry = new StreamRegistry((streamId) => ({ inbox: inboxes.create(streamId), outbox: new Outbox(outboxLimit, undefined, outboxLimitBytes) }));
    trackOutboxes(this.metrics, () => Array.from(this.#registry.allStreams(), (s) => s.outbox));
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
    return this.#registry.sessionCount;
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
      tls: this.#certificates.current,
      handshakeTimeoutMs: config.session.handshakeTimeoutMs,
      maxPayloadBytes: config.session.maxPayloadBytes,
      maxPending: config.session.maxPendingHandshakes,
      onConnection: (ws, tlsSocket) => this.#accept(ws, tlsSocket),
      onTlsError: (err, remote) => {
        const { code, reason } = tlsRefusal(err);
        this.metrics.handshakeFailures.inc({ reason });
        this.#tlsRefusedLog.warn(this.#log, `TLS handshake refused: ${messageOf(err)}`, { code, reason, remote });
      },
      onUpgradeError: (err, remote) => {
        const { code, reason } = upgradeRefusal(err);
        this.metrics.handshakeFailures.inc({ reason });
        this.#upgradeRefusedLog.warn(this.#log, `WebSocket upgrade refused: ${messageOf(err)} (the request must be a complete upgrade within session.handshakeTimeoutMs)`, { code, reason, remote });
      },
      onRefused: (remote) => {
        const { code, reason } = pendingRefusal();
        this.metrics.handshakeFailures.inc({ reason });
        this.#refusedAtAcceptLog.warn(this.#log, `connection refused at accept: ${config.session.maxPendingHandshakes} connections are already mid-handshake (session.maxPendingHandshakes)`, { code, reason, remote });
      },
    });
    this.#certificates.watch(config.tls, this.#log, (tls) => this.#listener?.reload(tls));
    this.#log.info('terminator up', { wss: `${config.session.listenHost}:${this.#listener.port}`, http: `${config.http.host}:${this.#http.port}`, armor: config.armor.mode });
  }

  readiness(): Readiness {
    if (this.#draining) return { ready: false, reason: 'draining' };
    if (!this.#listener) return { ready: false, reason: 'not listening yet' };
    return { ready: true, reason: `listening on ${this.#listener.port}, ${this.#registry.sessionCount} session(s)` };
  }

  /**
   * Streams a message (a JSON object or bytes) to the initiator of `streamId`. Refused (coded)
   * when that stream is unknown, its outbox is full or the message is neither JSON nor bytes;
   * sent when its session is open, else on its next session.
   */
  send(streamId: string, payload: Payload): Promise<Delivery> {
    return new Promise<Delivery>((resolve, reject) => {
      try {
        const streams = this.#registry.streams(streamId);
        if (!streams) throw new FerryError('FERRY_ERR_NO_SESSION', `no initiator stream ${streamId}`);
        if (this.#draining) throw new FerryError('FERRY_ERR_SHUTTING_DOWN', 'the terminator is shutting down');
        const entry = streams.outbox.push(encodeMessage(payload, this.config.session.maxPayloadBytes), (err, delivery) => {
          if (err) reject(countedRefusal(this.metrics, err));
          else resolve(delivery);
        });
        this.#registry.session(streamId)?.sendEntry(entry);
        streams.outbox.ownBytes(entry);
      } catch (err) {
        reject(countedRefusal(this.metrics, err));
      }
    });
  }

  /** Stops accepting, lets in-flight hooks finish and their acks go out, then closes (1001). */
  async stop(reason = 'shutdown'): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    this.#log.info('draining', { reason, sessions: this.#registry.sessionCount });
    this.#listener?.server.close();
    const deadline = performance.now() + this.config.session.drainTimeoutMs;
    while (performance.now() < deadline && [...this.#registry.allStreams()].some((s) => s.inbox.queued > 0 || s.inbox.busy)) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    for (const session of this.#registry.allSessions()) session.close(CloseCode.GOING_AWAY, reason);
    // Every reply waiting for an ack has a caller (send() and reply() always pass a callback,
    // which counts the refusal once as it rejects): tell them now, or their promises never settle.
    for (const { outbox } of this.#registry.allStreams()) {
      outbox.failAll(new FerryError('FERRY_ERR_SHUTTING_DOWN', `the terminator shut down (${reason}) before the message was acknowledged`));
    }
    for (const { inbox } of this.#registry.allStreams()) inbox.halt();
    await new Promise((resolve) => setImmediate(resolve));
    this.#certificates.stop();
    await this.#listener?.close();
    await this.#http?.close();
    this.#log.info('terminator stopped', { reason });
  }

  #accept(ws: WebSocket, tlsSocket: TLSSocket): void {
    const cert = tlsSocket.getPeerX509Certificate();
    const peer = cert?.subject.match(/CN=([^\n,]+)/)?.[1] ?? 'unknown';
    const remote = `${tlsSocket.remoteAddress ?? '?'}:${tlsSocket.remotePort ?? '?'}`;
    const log = this.#log.child({ peer, peerSerial: cert?.serialNumber, remote });
    if (this.#draining) {
      ws.close(CloseCode.GOING_AWAY, 'draining');
      return;
    }
    const { session: s, armor } = this.config;
    const connection = connect({ role: 'terminator', ws, tlsSocket, privateKey: this.#certificates.current.privateKey, config: this.config, metrics: this.metrics, logger: log });
    connection.opened.then(
      ({ channel, identity }) => {
        const session = new Session({
          role: 'terminator',
          channel,
          logger: log,
          metrics: this.metrics,
          armor: armor.mode,
          handshakeTimeoutMs: s.handshakeTimeoutMs,
          maxPayloadBytes: s.maxPayloadBytes,
          ackDelayMs: s.ackDelayMs,
          streams: (hello) => this.#registry.streamsFor(hello.streamId),
          identity,
          remoteHookFailed: (id, reason, watched) => this.#remoteHookFailures.report(session.logger, id, reason, watched),
        });
        connection.bind(session);
        session.onOpen(() => {
          this.#listener?.settled(tlsSocket);
          this.#registry.opened((session.streams as Streams).inbox.streamId, session);
        });
        session.start();
      },
      (err: FerryError) => this.#sessionRefusedLog.warn(this.#log, `session refused: ${err.message}`, { peer, peerSerial: cert?.serialNumber, remote, code: err.code }),
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
