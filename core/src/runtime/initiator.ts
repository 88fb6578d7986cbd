/**
 * The initiator runtime: keeps one session to the terminator up (dial-loop.ts), runs
 * on_trigger for POST /trigger and for the auto-trigger, and sends the results through a
 * bounded outbox that resends whatever a dropped connection left unacknowledged. Its API for
 * code: send() (a promise per message), write() and whenSendable() (streaming), stop() (drain).
 *
 * Once the first session opened, messages are accepted while the link is down too (like a
 * NATS client's reconnect buffer): they wait in the outbox and leave when the next session
 * opens, and each caller is answered when its message is acknowledged. Refused at once only
 * when the outbox is full, the circuit is open or the process drains. Before the first session
 * ever opened they are refused (FERRY_ERR_NO_SESSION): a terminator never reached is most
 * often a wrong URL or certificate, which the caller should learn at once, not after
 * session.ackTimeoutMs (NATS refuses before its first connect too, by default).
 */
import { FerryError, CloseCode } from '../errors.js';
import { checkHook } from '../hooks.js';
import { RepeatedLog } from '../log-limit.js';
import { createTriggerApp, readTriggerToken } from '../http/trigger-app.js';
import { serve, type HttpServer } from '../http/server.js';
import { createProbeApp, type Readiness } from '../http/probes.js';
import type { Logger } from '../log.js';
import { countedRefusal, trackOutboxes } from '../metrics.js';
import type { Delivery } from '../session/delivery.js';
import type { Inbox, ReceivedMessage } from '../session/inbox.js';
import { Outbox, type OutboxEntry } from '../session/outbox.js';
import { encodeMessage, type Payload } from '../session/payload-codec.js';
import type { Session } from '../session/session.js';
import { autoTrigger } from './auto-trigger.js';
import { Certificates } from './certificates.js';
import { DialLoop, type LinkState } from './dial-loop.js';
import { HookedInboxes } from './hooked-inbox.js';
import { RemoteHookFailures } from './remote-hook-failures.js';
import { onShutdownSignal } from './main.js';
import { prepare, type Prepared, type RuntimeOptions } from './prepare.js';
import { TriggerRunner, withAckTimeout, type JsonObject, type TriggerContext, type TriggerHeaders, type TriggerPayload, type TriggerHook } from './trigger.js';

export type { JsonObject, Payload, TriggerContext, TriggerHeaders, TriggerPayload };

/** What on_receive_initiator is told besides the payload. */
export interface InitiatorMessage extends ReceivedMessage {
  /** The hook's logger: lines in the app's log format (JSON with log.format=json), `hook` as a field. */
  log: Logger;
}

export interface InitiatorHooks {
  /**
   * Turns a trigger (an HTTP body: a JSON object, or a Buffer for application/octet-stream; or
   * an auto-trigger) into the message to send: a JSON object or bytes.
   */
  on_trigger: TriggerHook;
  /** Optional: messages the terminator streams back (the parsed JSON, or a Buffer for bytes). */
  on_receive_initiator?: (payload: unknown, message: InitiatorMessage) => unknown;
}

export type InitiatorState = LinkState | 'draining' | 'closed';

export class InitiatorRuntime {
  readonly config: Prepared['config'];
  readonly metrics: Prepared['metrics'];
  readonly outbox: Outbox;
  #inbox: Inbox;
  readonly #inboxes: HookedInboxes<InitiatorMessage>;
  /** Every Inbox that may still run the hook (an older terminator stream's finishes its queue): stop() halts them all. */
  readonly #liveInboxes = new Set<Inbox>();
  readonly #trigger: TriggerRunner;
  readonly #certificates: Certificates;
  readonly #log: Prepared['logger'];
  readonly #refusedTriggerLog = new RepeatedLog('refused POST /trigger requests');
  readonly #link: DialLoop;
  /** /healthz, /readyz, /metrics on http.port. */
  #http: HttpServer | null = null;
  /** POST /trigger on http.triggerPort. */
  #triggerHttp: HttpServer | null = null;
  #autoTriggered = false;
  /** A session opened once: from then on messages are accepted while reconnecting. */
  #everOpened = false;
  /** When the last session closed (performance.now()); readiness gives up after ackTimeoutMs. */
  #downSince = 0;
  #openWaiters: Array<() => void> = [];
  #stopping = false;
  #stopped = false;

  constructor(hooks: InitiatorHooks, prepared: Prepared) {
    this.config = prepared.config;
    this.metrics = prepared.metrics;
    this.#log = prepared.logger;
    this.#trigger = new TriggerRunner(hooks.on_trigger, prepared.config.hooks.timeoutMs, prepared.metrics, prepared.logger);
    this.#certificates = new Certificates(prepared.tls, prepared.metrics);
    this.outbox = new Outbox(prepared.config.session.outboxLimit, undefined, prepared.config.session.outboxLimitBytes);
    this.#inboxes = new HookedInboxes({
      name: 'on_receive_initiator',
      hook: hooks.on_receive_initiator,
      describeFor: (_streamId, log) => (message) => ({ id: message.id, seq: message.seq, redelivered: message.redelivered, log }),
      // The open session carries the current terminator stream; an older stream's Inbox
      // still finishing its queue has no session to pause.
      setPaused: (streamId, paused) => {
        const session = this.#link.session;
        if (!session || streamId !== this.#inbox.streamId) return false;
        session.setPaused(paused);
        return true;
      },
      config: prepared.config,
      metrics: prepared.metrics,
      logger: prepared.logger,
    });
    this.#inbox = this.#newInbox('');
    this.#link = new DialLoop({
      config: prepared.config,
      metrics: prepared.metrics,
      logger: prepared.logger,
      certificates: this.#certificates,
      streams: () => ({ outbox: this.outbox, inbox: this.#inbox }),
      newInbox: (streamId) => this.#newInbox(streamId),
      remoteHookFailures: new RemoteHookFailures("the terminator's on_receive_terminator"),
      opened: (session) => this.#opened(session),
      circuitOpened: () => this.#circuitOpened(),
    });
    trackOutboxes(this.metrics, () => [this.outbox]);
  }

  get state(): InitiatorState {
    if (this.#stopped) return 'closed';
    return this.#stopping ? 'draining' : this.#link.state;
  }

  get logger(): Prepared['logger'] {
    return this.#log;
  }

  /** The port of /healthz, /readyz and /metrics. */
  get httpPort(): number {
    return this.#http?.port ?? 0;
  }

  /** The port POST /trigger listens on. */
  get triggerPort(): number {
    return this.#triggerHttp?.port ?? 0;
  }

  get sessionOpen(): boolean {
    return this.#link.session?.state === 'open';
  }

  async start(): Promise<void> {
    const { config } = this;
    if (config.http.triggerPort === config.http.port) {
      throw new FerryError('FERRY_ERR_CONFIG', `http.triggerPort and http.port are both ${config.http.port}; /trigger needs a port of its own (the default is 8081)`);
    }
    const token = config.http.triggerTokenFile === '' ? undefined : readTriggerToken(config.http.triggerTokenFile);
    const app = createTriggerApp(
      {
        trigger: (payload, headers) => this.trigger(payload, headers),
        retryAfterSeconds: () => this.#retryAfterSeconds(),
        refused: (code, status, message) => {
          this.metrics.messagesRefused.inc({ reason: code });
          this.#refusedTriggerLog.warn(this.#log, `POST /trigger refused (${status}): ${message}`, { code });
        },
      },
      config.http.bodyLimitBytes,
      token === undefined ? {} : { token },
    );
    this.#http = await serve(createProbeApp(() => this.readiness(), this.metrics.registry, config.http.triggerPort), config.http.host, config.http.port);
    try {
      this.#triggerHttp = await serve(app, config.http.host, config.http.triggerPort);
    } catch (err) {
      // An embedder that catches this must not be left holding a half-started runtime's port.
      await this.#http.close();
      throw err;
    }
    this.#certificates.watch(config.tls, this.#log);
    this.#log.info('initiator up', { http: `${config.http.host}:${this.#http.port}`, trigger: `${config.http.host}:${this.#triggerHttp.port}`, auth: token === undefined ? 'none' : 'bearer', terminator: config.session.url, armor: config.armor.mode });
    this.#link.start();
  }

  /**
   * Ready = a request to POST /trigger now can be expected to be answered 200: a session is
   * open, or one opened before and the link has been down for less than session.ackTimeoutMs
   * (a terminator restart: the outbox carries the messages across it, so the initiator stays in
   * its Service); not while the circuit is open or the process drains. Past ackTimeoutMs without
   * a session it is unready, so a Service sends callers to a replica that can deliver, though
   * what still arrives is accepted. The reason says whether a session is open now.
   */
  readiness(): Readiness {
    if (this.#stopping) return { ready: false, reason: 'draining' };
    if (this.sessionOpen) return { ready: true, reason: `session ${this.#link.session?.id} open` };
    if (this.state === 'circuit-open') return { ready: false, reason: `circuit open after ${this.#link.backoff.failures} failed attempts` };
    if (!this.#everOpened) return { ready: false, reason: `no session yet (${this.state})` };
    const downMs = Math.round(performance.now() - this.#downSince);
    const { ackTimeoutMs } = this.config.session;
    const detail = `${this.state}, ${this.#link.backoff.failures} failed attempts, no session for ${downMs} ms; messages are queued: ${this.outbox.depth} of ${this.outbox.limit}`;
    if (downMs >= ackTimeoutMs) return { ready: false, reason: `reconnecting for longer than session.ackTimeoutMs=${ackTimeoutMs} (${detail})` };
    return { ready: true, reason: `reconnecting (${detail})` };
  }

  /** Runs on_trigger and sends its result; resolves once the terminator acknowledged it. */
  async trigger(payload: TriggerPayload, headers: TriggerHeaders): Promise<Delivery> {
    try {
      this.#refuseIfUnavailable();
    } catch (err) {
      // Counted like send()'s refusals; the HTTP layer counts only what it refuses itself.
      throw countedRefusal(this.metrics, err);
    }
    const message = await this.#runTriggerHook(payload, headers);
    return withAckTimeout(this.send(message), this.config.session.ackTimeoutMs);
  }

  /**
   * Sends one message: a JSON object, or bytes (a Buffer or Uint8Array, which the caller may
   * reuse once this returns). Always answers with a promise: it rejects at once (coded, counted)
   * when no session has opened yet, the outbox is full, the circuit is open, the message is too
   * big or neither JSON nor bytes (FERRY_ERR_BAD_PAYLOAD) or the process drains; otherwise it
   * settles when the terminator acknowledged the message (after a reconnect if need be) or it
   * was finally refused.
   */
  send(message: Payload): Promise<Delivery> {
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
   * The streaming fast path, like ws.send(): queues one message (a JSON object or bytes)
   * without a promise per message. It is delivered exactly as send()'s are (in order, at least
   * once, acknowledged after the terminator's hook); a hook failure there is logged on both
   * sides. Returns false once the outbox holds half of session.outboxLimit or
   * session.outboxLimitBytes: wait for whenSendable() before the next write. Throws the coded
   * error send() would reject with (FERRY_ERR_OUTBOX_FULL only once the outbox is full).
   *
   * Why half (a high-water mark, like a Writable's): a writer that goes on as fast as it may
   * keeps the outbox at its mark, and everything there is memory held until the ACK and sent
   * again after a crash. Half the window keeps the link as busy. In the bench's floods (ferry-tls,
   * 4 alternating pairs of runs, full → half) the sender's peak RSS went 130-134 → 118-122 MiB
   * at 16 KiB bytes (plain ws 97-100), 127-140 → 120-123 at 1 KiB bytes, 89-119 → 92-97 and
   * 120-122 → 110-113 for 1 KiB and 16 KiB of JSON; msgs/s 39-49k → 52-64k at 16 KiB bytes,
   * within noise for JSON. And the upper half stays free for send() and POST /trigger, which
   * cannot wait: a streamer no longer fills the outbox and makes them 503.
   */
  write(message: Payload): boolean {
    try {
      this.#enqueue(message, undefined);
    } catch (err) {
      throw countedRefusal(this.metrics, err);
    }
    return !this.outbox.isPastHalf;
  }

  /**
   * Resolves once write() may go on: the outbox is under half of its limits (see write()) and a
   * session opened once (one need not be open now). Rejects (coded) when the circuit opened or
   * the process drains. For in-process senders that stream as fast as the peer acknowledges,
   * like the auto-trigger.
   */
  async whenSendable(): Promise<void> {
    for (;;) {
      if (this.state === 'circuit-open' || this.#stopping) this.#refuseIfUnavailable();
      if (!this.#everOpened) await new Promise<void>((resolve) => this.#openWaiters.push(resolve));
      else if (this.outbox.isPastHalf) await this.outbox.whenUnderHalf();
      else return;
    }
  }

  /** Drains: no new messages, waits up to drainTimeoutMs for acks, closes with 1001. */
  async stop(reason = 'shutdown'): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    // Whoever waits in whenSendable() for a session or for room is refused now, not when the
    // drain ends.
    for (const wake of this.#openWaiters.splice(0)) wake();
    this.outbox.releaseWaiters();
    const depth = this.outbox.depth;
    this.#log.info('draining', { reason, unacked: depth, timeoutMs: this.config.session.drainTimeoutMs });
    // The link keeps dialing while it drains: a SIGTERM during a terminator restart (no session
    // now, messages queued) still delivers them on the next session within the drain timeout.
    if (depth > 0 && this.#everOpened && this.#link.state !== 'circuit-open') await this.#waitForEmptyOutbox(this.config.session.drainTimeoutMs);
    this.#link.stop();
    const failed = this.#failAll(new FerryError('FERRY_ERR_SHUTTING_DOWN', `the initiator shut down (${reason}) before the message was acknowledged`));
    if (failed > 0) this.#log.warn('drain timeout: callers told their messages were not acknowledged', { count: failed });
    this.#link.session?.close(CloseCode.GOING_AWAY, reason);
    for (const inbox of this.#liveInboxes) inbox.halt();
    this.#certificates.stop();
    await Promise.all([this.#triggerHttp?.close(), this.#http?.close()]);
    this.#stopped = true;
    this.#log.info('initiator stopped', { reason });
  }

  #newInbox(streamId: string): Inbox {
    // Inboxes of earlier streams that finished their queue run no hook again: forgotten here.
    for (const inbox of this.#liveInboxes) if (inbox !== this.#inbox && inbox.queued === 0 && !inbox.busy) this.#liveInboxes.delete(inbox);
    const inbox = this.#inboxes.create(streamId);
    this.#liveInboxes.add(inbox);
    return inbox;
  }

  #enqueue(message: Payload, settle: OutboxEntry['settle']): void {
    this.#refuseIfUnavailable();
    const entry = this.outbox.push(encodeMessage(message, this.config.session.maxPayloadBytes), settle);
    // Without an open session it waits in the outbox; the next session sends it when it opens.
    const session = this.#link.session;
    if (session?.state === 'open') session.sendEntry(entry);
    this.outbox.ownBytes(entry);
  }

  /** Refuses everything queued; send() callers are counted as they are told, write()'s here. */
  #failAll(err: FerryError): number {
    const { failed, unwatched } = this.outbox.failAll(err);
    if (unwatched > 0) this.metrics.messagesRefused.inc({ reason: err.code }, unwatched);
    return failed;
  }

  #refuseIfUnavailable(): void {
    if (this.#stopping) throw new FerryError('FERRY_ERR_SHUTTING_DOWN', 'the initiator is shutting down and accepts no new messages');
    if (this.state === 'circuit-open') {
      throw new FerryError('FERRY_ERR_CIRCUIT_OPEN', `gave up connecting to ${this.config.session.url} after ${this.#link.backoff.failures} attempts (reconnect.maxRetries); restart the pod once the terminator is back`);
    }
    if (!this.#everOpened) throw new FerryError('FERRY_ERR_NO_SESSION', `no session to the terminator has opened yet (${this.state}); retry shortly`);
  }

  #runTriggerHook(payload: TriggerPayload, headers: TriggerHeaders): Promise<Payload> {
    return this.#trigger.run(payload, headers);
  }

  #opened(session: Session): void {
    this.#inbox = (session.streams as { inbox: Inbox }).inbox;
    this.#everOpened = true;
    session.onClose(() => {
      this.#downSince = performance.now();
    });
    for (const wake of this.#openWaiters.splice(0)) wake();
    if (!this.#autoTriggered) {
      this.#autoTriggered = true;
      void autoTrigger(this.config.autoTrigger.count, { runTriggerHook: (p, h) => this.#runTriggerHook(p, h), whenSendable: () => this.whenSendable(), send: (m) => this.send(m) }, this.#log);
    }
  }

  /** Nothing will be delivered: every caller and waiter is told now. */
  #circuitOpened(): void {
    const refused = this.#failAll(new FerryError('FERRY_ERR_CIRCUIT_OPEN', `not delivered: the circuit opened after ${this.#link.backoff.failures} failed attempts`));
    if (refused > 0) this.#log.error('unacknowledged messages refused to their callers', { count: refused });
    for (const wake of this.#openWaiters.splice(0)) wake();
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
    return Math.max(1, Math.ceil(this.#link.backoff.ceilingMs() / 1000));
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
