/**
 * ws-initiator. Edit SECTION 1 only: it decides what each trigger sends.
 * Everything below it is one line that starts Fast Ferry's runtime (core/).
 */
import { runMain, startInitiator, type JsonObject, type TriggerContext, type TriggerHeaders } from '@fast-ferry/core';

// ───────────────────────────── SECTION 1: your hook ─────────────────────────────
/**
 * Called for every `POST /trigger` body and for each auto-trigger message.
 * Return the JSON object to stream to the terminator (or a Promise of it); throw to refuse the
 * trigger (the HTTP caller gets 422 with your message). The message counts as sent once the
 * terminator's hook ran and acknowledged it. `context.log.info(...)` logs in the app's format
 * (JSON lines with log.format=json; console.log is routed there too).
 */
export function on_trigger(payload: JsonObject, headers: TriggerHeaders, context: TriggerContext): JsonObject {
  void headers;
  void context;
  return payload;
}
// ─────────────────────────── END OF SECTION 1 ───────────────────────────────────

runMain('initiator', () => startInitiator({ on_trigger }, { handleSignals: true }));
