/**
 * What the runtimes hand the session and get back from it: an app's message (a JSON value or
 * bytes) as the payload an Outbox entry carries, and a received payload as the app's value (the
 * parsed JSON, or a Buffer). The wire format behind it stays in wire/payload.ts; runtimes go
 * through here, not past the session. Plain re-exports: these run once per message, so no
 * wrapper call is added.
 */
export { encodePayload as encodeMessage, parsePayload as decodeMessage } from '../wire/payload.js';
export type { Payload, EncodedPayload } from '../wire/payload.js';
export { FLAG_BYTES, KIND_MASK } from '../wire/constants.js';
