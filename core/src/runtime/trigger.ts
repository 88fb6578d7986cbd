/**
 * A trigger's way in: on_trigger runs under hooks.timeoutMs, must return a JSON object or bytes,
 * is timed, and a refusal is counted and logged with its code (capped, its stack at debug); the
 * caller of POST /trigger waits for the acknowledgement at most session.ackTimeoutMs.
 */
import { FerryError, HookError, isFerryError, messageOf } from '../errors.js';
import { logHookFailure, runHook } from '../hooks.js';
import type { Logger } from '../log.js';
import { RepeatedLog } from '../log-limit.js';
import type { Metrics } from '../metrics.js';
import type { Delivery } from '../session/delivery.js';
import { encodeMessage, type Payload } from '../session/payload-codec.js';

export type JsonObject = Record<string, unknown>;
export type TriggerHeaders = Record<string, string | string[] | undefined>;
/** What on_trigger gets: the JSON object of a trigger, or its body as a Buffer when it was sent as application/octet-stream. */
export type TriggerPayload = JsonObject | Buffer;

/** What on_trigger is told besides the body and the headers. */
export interface TriggerContext {
  /** The hook's logger: lines in the app's log format (JSON with log.format=json), `hook` as a field. */
  log: Logger;
}
export type TriggerHook = (payload: TriggerPayload, headers: TriggerHeaders, context: TriggerContext) => Payload | Promise<Payload>;

/** How a runtime runs on_trigger: the hook, its context and the cap on its failure lines. */
export class TriggerRunner {
  readonly #hook: TriggerHook;
  readonly #timeoutMs: number;
  readonly #metrics: Metrics;
  readonly #logger: Logger;
  readonly #context: TriggerContext;
  readonly #failureLog = new RepeatedLog('on_trigger failures');

  constructor(hook: TriggerHook, timeoutMs: number, metrics: Metrics, logger: Logger) {
    this.#hook = hook;
    this.#timeoutMs = timeoutMs;
    this.#metrics = metrics;
    this.#logger = logger;
    this.#context = { log: logger.child({ hook: 'on_trigger' }) };
  }

  /**
   * Runs on_trigger once; the message to send, or the coded error it was refused with. The
   * result is encoded here once to refuse what cannot be sent as FERRY_ERR_HOOK_RESULT, naming
   * the hook (the send encodes it again: this path is an HTTP request or an auto-trigger, not a stream).
   */
  async run(payload: TriggerPayload, headers: TriggerHeaders): Promise<Payload> {
    const started = performance.now();
    try {
      const result = await runHook('on_trigger', this.#timeoutMs, () => this.#hook(payload, headers, this.#context));
      if (result instanceof Uint8Array) return result;
      if (typeof result !== 'object' || result === null || Array.isArray(result)) {
        throw new HookError('FERRY_ERR_HOOK_RESULT', 'on_trigger', `on_trigger must return a JSON object or bytes (a Buffer or Uint8Array) to send, got ${Array.isArray(result) ? 'an array' : result === null ? 'null' : typeof result}`);
      }
      try {
        // Its size is checked by the send, as for any message (FERRY_ERR_PAYLOAD_TOO_BIG, 413).
        encodeMessage(result, Number.POSITIVE_INFINITY);
      } catch (err) {
        if (isFerryError(err) && err.code === 'FERRY_ERR_BAD_PAYLOAD') throw new HookError('FERRY_ERR_HOOK_RESULT', 'on_trigger', `on_trigger returned a message that cannot be sent: ${err.message}`, { cause: err });
        throw err;
      }
      return result;
    } catch (err) {
      const ferr = isFerryError(err) ? err : new HookError('FERRY_ERR_HOOK_FAILED', 'on_trigger', messageOf(err), { cause: err });
      this.#metrics.hookErrors.inc({ hook: 'on_trigger', reason: ferr.code });
      logHookFailure(this.#failureLog, this.#logger, 'on_trigger refused a trigger', ferr, { hook: 'on_trigger' });
      throw err;
    } finally {
      this.#metrics.hookDuration.observe({ hook: 'on_trigger' }, (performance.now() - started) / 1000);
    }
  }
}

/** Rejects with FERRY_ERR_ACK_TIMEOUT after `ms`; the message itself stays queued. */
export function withAckTimeout(delivery: Promise<Delivery>, ms: number): Promise<Delivery> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new FerryError('FERRY_ERR_ACK_TIMEOUT', `not acknowledged within ${ms} ms (session.ackTimeoutMs); the message stays queued and may still be delivered`));
    }, ms);
  });
  return Promise.race([delivery, timeout]).finally(() => clearTimeout(timer));
}
