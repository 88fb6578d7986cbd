/**
 * ws-terminator with a JetStream sink: every message goes into a NATS JetStream stream, and
 * Fast Ferry acknowledges it to the initiator only once JetStream acknowledged the publish.
 * Same shape as terminator/app/app.ts: SECTION 1 is the hook, the last line starts the runtime.
 * Settings come from NATS_* variables (see README.md beside this file).
 */
import { runMain, startTerminator, type TerminatorMessage } from '@fast-ferry/core';
import { createJetStreamSink, sinkSettingsFromEnv, type JetStreamSink } from './jetstream-sink.js';

// ───────────────────────────── SECTION 1: your hook ─────────────────────────────
/** Made at start-up from the NATS_* variables (below), so a bad one stops the start with its name. */
let sink: JetStreamSink;

/**
 * Publishes the message with its Fast Ferry id as Nats-Msg-Id and returns after the PubAck, so
 * the ACK to the initiator means "stored in the stream". A throw (NATS unreachable, no PubAck)
 * NACKs the message: its sender's caller is told, nothing is acknowledged that was not stored.
 * A redelivered message that JetStream already holds comes back as a duplicate PubAck and is
 * not stored again.
 */
export async function on_receive_terminator(payload: unknown, message: TerminatorMessage): Promise<void> {
  const ack = await sink.publish(payload, message);
  if (message.redelivered) {
    console.log(`↩️  redelivered ${message.id}: ${ack.duplicate ? 'duplicate, JetStream already had it' : 'new to JetStream'} (stream ${ack.stream} seq ${ack.seq})`);
  }
}
// ─────────────────────────── END OF SECTION 1 ───────────────────────────────────

runMain('terminator', async () => {
  sink = createJetStreamSink(sinkSettingsFromEnv());
  const runtime = await startTerminator({ on_receive_terminator }, { handleSignals: true });
  // Connect now rather than on the first message; a failure here is logged, and each message
  // tries again (and is NACKed with the reason while NATS stays unreachable).
  sink.ready().catch((err: unknown) => runtime.logger.warn(err instanceof Error ? err.message : String(err)));
  return runtime;
});
