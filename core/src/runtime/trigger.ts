/**
 * A trigger's way in: on_trigger runs under hooks.timeoutMs, must return a JSON object, is
 * timed, and a refusal is counted and logged with its code; the caller of POST /trigger
 * waits for the acknowledgement at most session.ackTimeoutMs.
 */
import { FerryError, HookError, isFerryError, messageOf } from '../errors.js';
import { runHook } from '../hooks.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Delivery } from '../session/delivery.js';

export type JsonObject = Record<string, unknown>;
export type TriggerHeaders = Record<string, string | string[] | undefined>;
export type TriggerHook = (payload: JsonObject, headers: TriggerHeaders) => JsonObject | Promise<JsonObject>;

/** Runs on_trigger once; the message to send, or the coded error it was refused with. */
export async function runTriggerHook(hook: TriggerHook, timeoutMs: number, metrics: Metrics, logger: Logger, payload: JsonObject, headers: TriggerHeaders): Promise<JsonObject> {
  const started = performance.now();
  try {
    const result = await runHook('on_trigger', timeoutMs, () => hook(payload, headers));
    if (typeof result !== 'object' || result === null || Array.isArray(result)) {
      throw new HookError('FERRY_ERR_HOOK_RESULT', 'on_trigger', `on_trigger must return a JSON object to send, got ${Array.isArray(result) ? 'an array' : result === null ? 'null' : typeof result}`);
    }
    return result;
  } catch (err) {
    const code = isFerryError(err) ? err.code : 'FERRY_ERR_HOOK_FAILED';
    metrics.hookErrors.inc({ hook: 'on_trigger', reason: code });
    logger.warn(`on_trigger refused a trigger: ${messageOf(err)}`, { code });
    throw err;
  } finally {
    metrics.hookDuration.observe({ hook: 'on_trigger' }, (performance.now() - started) / 1000);
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
