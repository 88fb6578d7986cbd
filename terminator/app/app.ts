/**
 * ws-terminator. Edit SECTION 1 only: it decides what happens to each message received.
 * Everything below it is one line that starts Fast Ferry's runtime (core/).
 */
import { runMain, startTerminator, type TerminatorMessage } from '@fast-ferry/core';

// ───────────────────────────── SECTION 1: your hook ─────────────────────────────
/**
 * Called once per message, in order, with the parsed JSON or, for bytes, a Buffer. May be
 * async: the message is acknowledged to the initiator only after this returns (or its Promise
 * resolves). A throw is logged and counted and reported to the sender; the session carries on.
 * `message.reply(...)` streams an answer (a JSON object or bytes) back to the initiator;
 * `message.log.info(...)` logs in the app's format (JSON lines with log.format=json, where
 * console.log is routed too).
 */
export function on_receive_terminator(payload: unknown, message: TerminatorMessage): void | Promise<void> {
  const shown = Buffer.isBuffer(payload) ? describeBytes(payload) : JSON.stringify(payload);
  console.log(`📨 Received ${message.id}${message.redelivered ? ' (redelivered)' : ''}: ${shown}`);
}

/** Bytes as their length and the hex of the first few: `42 bytes 0a1b2c3d…`. */
function describeBytes(bytes: Buffer): string {
  const shown = 16;
  return `${bytes.length} bytes ${bytes.toString('hex', 0, shown)}${bytes.length > shown ? '…' : ''}`;
}
// ─────────────────────────── END OF SECTION 1 ───────────────────────────────────

runMain('terminator', () => startTerminator({ on_receive_terminator }, { handleSignals: true }));
