/**
 * The initiator runtime: dials the terminator and keeps one session up (keepalive, reconnect
 * with backoff and full jitter, circuit breaker), runs on_trigger for POST /trigger and for the
 * auto-trigger, and sends the results through a bounded outbox that resends whatever a dropped
 * connection left unacknowledged.
 */
import { FerryError, HookError, isFerryError, messageOf, CloseCode } from './errors.js';
import { checkHook, runHook } from './hooks.js';
import { RepeatedLog } from './log-limit.js';
import { createTriggerApp } from './http/trigger-app.js';
import { serve, type HttpServer } from './http/server.js';
import type { Readiness } from './http/probes.js';
import { countedRefusal, trackCertificateExpiry, trackOutboxDepth } from './metrics.js';
import { watchTlsMaterial } from './transport/tls-reload.js';
import { onShutdownSignal, prepare, type Prepared, type RuntimeOptions } from './runtime.js';
import { Backoff } from './session/backoff.js';
import { Inbox, type ReceivedMessage } from './session/inbox.js';
import { Outbox, type Delivery, type OutboxEntry } from './session/outbox.js';
import { Session } from './session/session.js';
import type { TLSSocket } from 'node:tls';
import type WebSocket from 'ws';
import { dial, reasonLabel } from './transport/dial.js';
import { closeWebSocket, webSocketError } from './transport/channel.js';
import { keepAlive } from './transport/keepalive.js';
import { channelOptionsFor, openChannel, type OpenChannelOptions } from './transport/open-channel.js';
import { encodePayload, parsePayload } from './wire/payload.js';
import { autoTriggerCompleteLine, autoTriggerStartLine } from './runtime/auto-trigger-line.js';

export type JsonObject = Record<string, unknown>;
export type TriggerHeaders = Record<string, string | string[] | undefined>;

export interface InitiatorHooks {
  /** Turns a trigger (an HTTP body, or an auto-trigger) into the message to send. */
  on_trigger: (payload: JsonObject, headers: TriggerHeaders) => JsonObject | Promise<JsonObject>;
  /** Optional: messages the terminator streams back. */
  on_receive_initiator?: (payload: unknown, message: ReceivedMessage) => unknown;
}

export type InitiatorState = 'connecting' | 'handshaking' | 'open' | 'backoff' | 'circuit-open' | 'draining' | 'closed';

export class InitiatorRuntime {
  state: InitiatorState = 'connecting';
  readonly config: Prepared['config'];
  readonly metrics: Prepared['metrics'];
  readonly outbox: Outbox;
  #inbox: Inbox;
  readonly #hooks: InitiatorHooks;
  /** The TLS material in use; replaced when the files change (new connections only). */
  #tls: Prepared['tls'];
  #stopWatching: () => void = () => {};
  readonly #log: Prepared['logger'];
  readonly #hookFailureLog = new RepeatedLog('on_receive_initiator failures');
  readonly #remoteHookFailureLog = new RepeatedLog("failures of the terminator's on_receive_terminator");
  readonly #refusedTriggerLog = new RepeatedLog('refused POST /trigger requests');
  readonly #backoff: Backoff;
  #session: Session | null = null;
  #http: HttpServer | null = null;
  #retryTimer: NodeJS.Timeout | undefined;
  #autoTriggered = false;
  #openWaiters: Array<() => void> = [];
  #stopping = false;

  constructor(hooks: InitiatorHooks, prepared: Prepared) {
    this.#hooks = hooks;
    this.#tls = prepared.tls;
    trackCertificateExpiry(prepared.metrics, () => this.#tls.secondsToExpiry());
    this.config = prepared.config;
    this.metrics = prepared.metrics;
    this.#log = prepared.logger;
    this.#backoff = new Backoff(prepared.config.reconnect);
    this.outbox = new Outbox(prepared.config.session.outboxLimit, undefined, prepared.config.session.outboxLimitBytes);
    this.#inbox = this.#newInbox('');
    trackOutboxDepth(this.metrics, () => this.outbox.depth);
  }

  get logger(): Prepared['logger'] {
    return this.#log;
  }

  /** The port /trigger listens on. */
  get httpPort(): number {
    return this.#http?.port ?? 0;
  }

  get sessionOpen(): boolean {
    return this.#session?.state === 'open';
  }

  async start(): Promise<void> {
    const { config } = this;
    const app = createTriggerApp(
      {
        trigger: (payload, headers) => this.trigger(payload, headers),
        readiness: () => this.readiness(),
        retryAfterSeconds: () => this.#retryAfterSeconds(),
        refused: (code, status, message) => {
          this.metrics.messagesRefused.inc({ reason: code });
          this.#refusedTriggerLog.warn(this.#log, `POST /trigger refused (${status}): ${message}`, { code });
        },
      },
      this.metrics.registry,
      config.http.bodyLimitBytes,
    );
    this.#http = await serve(app, config.http.host, config.http.port);
    this.#stopWatching = watchTlsMaterial(config.tls, this.#log, this.#tls, (tls) => {
      this.#tls = tls;
    });
    this.#log.info('initiator up', { http: `${config.http.host}:${this.#http.port}`, terminator: config.session.url, armor: config.armor.mode });
    this.#connect();
  }

  readiness(): Readiness {
    if (this.sessionOpen) return { ready: true, reason: `session ${this.#session?.id} open` };
    if (this.state === 'circuit-open') return { ready: false, reason: `circuit open after ${this.#backoff.failures} failed attempts` };
    return { ready: false, reason: `no session (${this.state})` };
  }

  /** Runs on_trigger and sends its result; resolves once the terminator acknowledged it. */
  async trigger(payload: JsonObject, headers: TriggerHeaders): Promise<Delivery> {
    this.#refuseIfUnavailable();
    const message = await this.#runTriggerHook(payload, headers);
    return this.#withAckTimeout(this.send(message));
  }

  /**
   * Sends one JSON object. Always answers with a promise: it rejects at once (coded, counted)
   * when no session is open, the outbox is full, the message is too big or the process drains;
   * otherwise it settles when the terminator acknowledged the message or it was finally refused.
   */
  send(message: JsonObject): Promise<Delivery> {
    return new Promise<Delivery>((resolve, reject) => {
      try {
        this.#enqueue(message, (err, delivery) => {
          if (err) reject(Object.assign(countedRefusal(this.metrics, err), { delivery }));
          else resolve(delivery);
        });
      } catch (err) {
        reject(countedRefusal(this.metrics, err));
      }
    });
  }

  /**
   * The streaming fast path, like ws.send(): queues one JSON object without a promise per
   * message. It is delivered exactly as send()'s are (in order, at least once, acknowledged
   * after the terminator's hook); a hook failure there is logged on both sides. Returns false
   * once the outbox is full: wait for whenSendable() before the next write. Throws the coded
   * error send() would reject with.
   */
  write(message: JsonObject): boolean {
    try {
      this.#enqueue(message, undefined);
    } catch (err) {
      throw countedRefusal(this.metrics, err);
    }
    return !this.outbox.isFull;
  }

  #enqueue(message: JsonObject, settle: OutboxEntry['settle']): void {
    this.#refuseIfUnavailable();
    const entry = this.outbox.push(encodePayload(message, this.config.session.maxPayloadBytes), settle);
    this.#session?.sendEntry(entry);
  }

  /** Refuses everything queued; send() callers are counted as they are told, write()'s here. */
  #failAll(err: FerryError): number {
    const { failed, unwatched } = this.outbox.failAll(err);
    if (unwatched > 0) this.metrics.messagesRefused.inc({ reason: err.code }, unwatched);
    return failed;
  }

  /** Drains: no new messages, waits up to drainTimeoutMs for acks, closes with 1001. */
  async stop(reason = 'shutdown'): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.state = 'draining';
    clearTimeout(this.#retryTimer);
    // Whoever waits in whenSendable() for a session is refused now, not left waiting.
    for (const wake of this.#openWaiters.splice(0)) wake();
    const depth = this.outbox.depth;
    this.#log.info('draining', { reason, unacked: depth, timeoutMs: this.config.session.drainTimeoutMs });
    if (depth > 0 && this.sessionOpen) await this.#waitForEmptyOutbox(this.config.session.drainTimeoutMs);
    const failed = this.#failAll(new FerryError('FERRY_ERR_SHUTTING_DOWN', `the initiator shut down (${reason}) before the message was acknowledged`));
    if (failed > 0) this.#log.warn('drain timeout: callers told their messages were not acknowledged', { count: failed });
    this.#session?.close(CloseCode.GOING_AWAY, reason);
    this.#inbox.halt();
    this.#stopWatching();
    await this.#http?.close();
    this.state = 'closed';
    this.#log.info('initiator stopped', { reason });
  }

  #refuseIfUnavailable(): void {
    if (this.#stopping) throw new FerryError('FERRY_ERR_SHUTTING_DOWN', 'the initiator is shutting down and accepts no new messages');
    if (this.state === 'circuit-open') {
      throw new FerryError('FERRY_ERR_CIRCUIT_OPEN', `gave up connecting to ${this.config.session.url} after ${this.#backoff.failures} attempts (reconnect.maxRetries); restart the pod once the terminator is back`);
    }
    if (!this.sessionOpen) throw new FerryError('FERRY_ERR_NO_SESSION', `no session to the terminator is open right now (${this.state}); retry shortly`);
  }

  async #runTriggerHook(payload: JsonObject, headers: TriggerHeaders): Promise<JsonObject> {
    const started = performance.now();
    try {
      const result = await runHook('on_trigger', this.config.hooks.timeoutMs, () => this.#hooks.on_trigger(payload, headers));
      if (typeof result !== 'object' || result === null || Array.isArray(result)) {
        throw new HookError('FERRY_ERR_HOOK_RESULT', 'on_trigger', `on_trigger must return a JSON object to send, got ${Array.isArray(result) ? 'an array' : result === null ? 'null' : typeof result}`);
      }
      return result;
    } catch (err) {
      const code = isFerryError(err) ? err.code : 'FERRY_ERR_HOOK_FAILED';
      this.metrics.hookErrors.inc({ hook: 'on_trigger', reason: code });
      this.#log.warn(`on_trigger refused a trigger: ${messageOf(err)}`, { code });
      throw err;
    } finally {
      this.metrics.hookDuration.observe({ hook: 'on_trigger' }, (performance.now() - started) / 1000);
    }
  }

  #withAckTimeout(delivery: Promise<Delivery>): Promise<Delivery> {
    const ms = this.config.session.ackTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new FerryError('FERRY_ERR_ACK_TIMEOUT', `not acknowledged within ${ms} ms (session.ackTimeoutMs); the message stays queued and may still be delivered`));
      }, ms);
    });
    return Promise.race([delivery, timeout]).finally(() => clearTimeout(timer));
  }

  #connect(): void {
    if (this.#stopping) return;
    this.state = 'connecting';
    const { session: s } = this.config;
    dial({ url: s.url, serverName: s.serverName, tls: this.#tls, timeoutMs: s.dialTimeoutMs, maxPayloadBytes: s.maxPayloadBytes })
      .then(async ({ ws, tlsSocket }) => {
        if (this.#stopping) {
          ws.close(CloseCode.GOING_AWAY, 'shutdown');
          return;
        }
        this.state = 'handshaking';
        // A frame ws refuses from the terminator (too big, malformed) ends the session by name.
        ws.on('error', (err) => this.#session?.fail(webSocketError(err)));
        keepAlive(ws, s.pingIntervalMs, (silentMs) => {
          this.#session?.fail(new FerryError('FERRY_ERR_PEER_DEAD', `nothing from the terminator for ${silentMs} ms (2 × session.pingIntervalMs)`));
          ws.terminate();
        });
        const { channel, identity } = await openChannel(this.#channelOptions(ws, tlsSocket)).catch((err: unknown) => {
          // The armor refused the peer (or timed out): count it, and end this connection.
          const ferr = isFerryError(err) ? err : new FerryError('FERRY_ERR_ARMOR_HANDSHAKE', messageOf(err), { cause: err });
          this.metrics.handshakeFailures.inc({ reason: ferr.code });
          closeWebSocket(ws, ferr.closeCode, ferr.code);
          throw ferr;
        });
        this.#attach(new Session({
          role: 'initiator',
          channel,
          logger: this.#log,
          metrics: this.metrics,
          armor: this.config.armor.mode,
          handshakeTimeoutMs: s.handshakeTimeoutMs,
          maxPayloadBytes: s.maxPayloadBytes,
          streams: { outbox: this.outbox, inbox: this.#inbox },
          newInbox: (streamId) => this.#newInbox(streamId),
          identity,
          unwatchedFailure: (id, reason) => {
            this.metrics.messagesRefused.inc({ reason: 'FERRY_ERR_REMOTE_HOOK' });
            this.#remoteHookFailureLog.warn(this.#session?.logger ?? this.#log, `message ${id}: the peer's hook failed: ${reason}`, { code: 'FERRY_ERR_REMOTE_HOOK' });
          },
        }));
      })
      .catch((err: unknown) => {
        const ferr = isFerryError(err) ? err : new FerryError('FERRY_ERR_DIAL_FAILED', messageOf(err), { cause: err });
        this.metrics.dialFailures.inc({ reason: reasonLabel(ferr) });
        if (ferr.code === 'FERRY_ERR_TLS') this.metrics.handshakeFailures.inc({ reason: reasonLabel(ferr) });
        this.#scheduleReconnect(ferr);
      });
  }

  #attach(session: Session): void {
    this.#session = session;
    session.onOpen(() => {
      this.state = 'open';
      this.#backoff.succeed();
      this.#inbox = (session.streams as { inbox: Inbox }).inbox;
      for (const wake of this.#openWaiters.splice(0)) wake();
      if (!this.#autoTriggered) {
        this.#autoTriggered = true;
        void this.#autoTrigger();
      }
    });
    session.onClose((code, reason, err) => {
      if (this.#session === session) this.#session = null;
      if (this.#stopping) return;
      this.#scheduleReconnect(err ?? new FerryError('FERRY_ERR_SESSION_CLOSED', `session closed (${code} ${reason})`));
    });
    session.start();
  }

  #scheduleReconnect(cause: FerryError): void {
    if (this.#stopping) return;
    const delay = this.#backoff.fail();
    if (this.#backoff.exhausted) {
      this.state = 'circuit-open';
      this.metrics.circuitOpen.set(1);
      this.#log.error(`⛔ circuit open: ${this.#backoff.failures} connection attempts in a row failed; not retrying (reconnect.maxRetries=${this.config.reconnect.maxRetries}). Last error: ${cause.message}`, { code: cause.code });
      const refused = this.#failAll(new FerryError('FERRY_ERR_CIRCUIT_OPEN', `not delivered: the circuit opened after ${this.#backoff.failures} failed attempts`));
      if (refused > 0) this.#log.error('unacknowledged messages refused to their callers', { count: refused });
      for (const wake of this.#openWaiters.splice(0)) wake();
      return;
    }
    this.state = 'backoff';
    this.metrics.reconnects.inc();
    this.#log.warn(`reconnecting in ${delay} ms: ${cause.message}`, { code: cause.code, attempt: this.#backoff.failures });
    this.#retryTimer = setTimeout(() => this.#connect(), delay);
  }

  #channelOptions(ws: WebSocket, tlsSocket: TLSSocket): OpenChannelOptions {
    return channelOptionsFor(this.config, 'initiator', { ws, tlsSocket, privateKey: this.#tls.privateKey }, (count) => this.metrics.rekeys.inc(count));
  }


  #newInbox(streamId: string): Inbox {
    const hook = this.#hooks.on_receive_initiator;
    return new Inbox(
      streamId,
      (buf, start, end, message) => {
        this.metrics.messagesReceived.inc();
        if (!hook) return undefined;
        return runHook('on_receive_initiator', this.config.hooks.timeoutMs, hook, parsePayload(buf, start, end), message);
      },
      {
        hookFailed: (err, message) => {
          this.metrics.hookErrors.inc({ hook: 'on_receive_initiator', reason: err.code });
          this.#hookFailureLog.warn(this.#log, `on_receive_initiator failed: ${err.message}`, { code: err.code, id: message.id });
        },
        duplicate: () => this.metrics.duplicatesDropped.inc(),
        pressure: () => {},
      },
      this.config.session.outboxLimit,
    );
  }

  /** Sends autoTrigger.count messages once the first session is up; "sent" means acknowledged. */
  async #autoTrigger(): Promise<void> {
    const count = this.config.autoTrigger.count;
    if (count === 0) return;
    this.#log.info(autoTriggerStartLine(count));
    const outcomes: Array<Promise<void>> = [];
    const failures: string[] = [];
    for (let i = 1; i <= count; i += 1) {
      const payload = { message: `auto-trigger ${i}/${count}`, index: i, at: new Date().toISOString() };
      let message: JsonObject;
      try {
        message = await this.#runTriggerHook(payload, { 'x-ferry-trigger': 'auto' });
        await this.whenSendable();
        outcomes.push(this.send(message).then(() => undefined, (err: unknown) => { failures.push(describeFailure(err)); }));
      } catch (err) {
        failures.push(describeFailure(err));
      }
    }
    await Promise.all(outcomes);
    const sent = count - failures.length;
    const line = autoTriggerCompleteLine(sent, count);
    if (failures.length === 0) this.#log.info(line);
    else this.#log.warn(`${line} ${failures.length} failed: ${summarize(failures)}`);
  }

  /**
   * Resolves once send() would accept a message: a session is open and the outbox has room.
   * Rejects (coded) when the circuit opened or the process drains. For in-process senders
   * that stream as fast as the peer acknowledges, like the auto-trigger.
   */
  async whenSendable(): Promise<void> {
    for (;;) {
      if (this.state === 'circuit-open' || this.#stopping) this.#refuseIfUnavailable();
      if (!this.sessionOpen) await new Promise<void>((resolve) => this.#openWaiters.push(resolve));
      else if (this.outbox.isFull) await this.outbox.whenNotFull();
      else return;
    }
  }

  #waitForEmptyOutbox(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const deadline = performance.now() + timeoutMs;
      const check = (): void => {
        if (this.outbox.depth === 0 || performance.now() >= deadline) resolve();
        else setTimeout(check, 20);
      };
      check();
    });
  }

  #retryAfterSeconds(): number {
    if (this.outbox.isFull) return 1;
    return Math.max(1, Math.ceil(this.#backoff.ceilingMs() / 1000));
  }
}

/** Starts the initiator: validates hooks and config, opens HTTP, dials. */
export async function startInitiator(hooks: InitiatorHooks, options: RuntimeOptions = {}): Promise<InitiatorRuntime> {
  checkHook('on_trigger', hooks.on_trigger);
  checkHook('on_receive_initiator', hooks.on_receive_initiator, true);
  const runtime = new InitiatorRuntime(hooks, prepare('initiator', options));
  await runtime.start();
  if (options.handleSignals) onShutdownSignal(runtime.logger, (signal) => runtime.stop(signal));
  return runtime;
}

function describeFailure(err: unknown): string {
  return isFerryError(err) ? `${err.code}: ${err.message}` : messageOf(err);
}

function summarize(failures: string[]): string {
  const counts = new Map<string, number>();
  for (const f of failures) counts.set(f, (counts.get(f) ?? 0) + 1);
  return [...counts].map(([text, n]) => (n > 1 ? `${n}× ${text}` : text)).join('; ');
}
