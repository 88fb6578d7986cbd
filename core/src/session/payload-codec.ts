/**
 * What the runtimes hand the session and get back from it: an app's message as the payload an
 * Outbox entry carries, and a received payload as the app's value. The wire format behind it
 * (UTF-8 JSON today) stays in wire/payload.ts; runtimes go through here, not past the session.
 * Plain re-exports: these run once per message, so no wrapper call is added.
 */
export { encodePayload as encodeMessage, parsePayload as decodeMessage } from '../wire/payload.js';
