/**
 * ws-initiator. Edit SECTION 1 only: it decides what each trigger sends.
 * Everything below it is one line that starts Fast Ferry's runtime (core/).
 */
import { runMain, startInitiator, type Payload, type TriggerContext, type TriggerHeaders, type TriggerPayload } from '@fast-ferry/core';

// ───────────────────────────── SECTION 1: your hook ─────────────────────────────
/**
 * Called for every `POST /trigger` body (its own port: 8081 in the pod, 8082 with
 * `deploy.sh --local`) and for each auto-trigger message, whose headers carry
 * `headers['x-ferry-trigger'] === 'auto'`. The payload is the JSON object of the body, or its
 * bytes as a Buffer when it was sent as `Content-Type: application/octet-stream`. Return what to stream to the terminator: a JSON
 * object or bytes (a Buffer or Uint8Array), or a Promise of it; throw to refuse the trigger (the
 * HTTP caller gets 422 with your message). The message counts as sent once the terminator's hook
 * ran and acknowledged it. `context.log.info(...)` logs in the app's format (JSON lines with
 * log.format=json; console.log is routed there too).
 */
export function on_trigger(payload: TriggerPayload, headers: TriggerHeaders, context: TriggerContext): Payload | Promise<Payload> {
  void headers;
  void context;
  return payload;
}
// ─────────────────────────── END OF SECTION 1 ───────────────────────────────────

runMain('initiator', () => startInitiator({ on_trigger }, { handleSignals: true }));
