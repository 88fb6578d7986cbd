/**
 * Fast Ferry's networking layer. Apps call startInitiator / startTerminator; the rest is for
 * tools and tests.
 *
 * How to read it, bottom up (each folder imports only from those before it, plus the shared
 * leaves: errors.ts, log.ts, log-limit.ts, metrics.ts, hooks.ts and config/, the validated
 * settings):
 * - wire/: the frame format (HELLO, WELCOME, DATA, ACK, NACK) and the payload encoding: bytes
 *   in, bytes out, no sockets, no timers.
 * - armor/: the tunnel mode's key exchange and sealed frames, pure crypto on buffers.
 * - transport/: sockets: dialing and listening with mutual TLS 1.3, keepalive, the FrameChannel
 *   a session runs on (sealed by armor/ in tunnel mode), the per-connection wiring both roles
 *   share (connection.ts) and how connection failures are named (failures.ts).
 * - session/: the delivery protocol over any FrameChannel: handshake and resume, Outbox (send,
 *   resend, ack) and Inbox (dedupe, order, ack after the hook), backoff. Runtimes hand it app
 *   values through payload-codec.ts, never wire/ directly.
 * - http/: the HTTP surface (/trigger, probes, metrics); it knows a Delivery
 *   (session/delivery.ts), nothing else of the session.
 * - runtime/: the two roles, wiring all of the above: prepare.ts and main.ts (process start and
 *   end), certificates.ts, hooked-inbox.ts (every receive hook run and timed the same way),
 *   initiator.ts (send API, drain) with dial-loop.ts (dial, backoff, circuit) and trigger.ts
 *   (on_trigger, ack timeout), terminator.ts (accept, replies) with stream-registry.ts, and
 *   auto-trigger.ts with its report line's format and parser (auto-trigger-line.ts).
 */
export { startInitiator, InitiatorRuntime } from './runtime/initiator.js';
export { startTerminator, TerminatorRuntime } from './runtime/terminator.js';
export { runMain } from './runtime/main.js';
export { autoTriggerStartLine, autoTriggerCompleteLine, parseAutoTriggerComplete } from './runtime/auto-trigger-line.js';
export { loadConfig, NON_KEY_ENV } from './config/load.js';
export { FORMAT_CHECKS, FORMAT_DOCS } from './config/formats.js';
export { CONFIG_SCHEMA, CONFIG_FILE_ENV, envNameOf } from './config/schema.js';
export { FerryError, ConfigError, HookError, ArmorError, ErrorCodes, CloseCode } from './errors.js';
export { createLogger, silentLogger } from './log.js';
export { createMetrics, knownReasons } from './metrics.js';
export { loadTlsMaterial } from './transport/tls-material.js';

export type { InitiatorHooks, InitiatorMessage, JsonObject, Payload, TriggerContext, TriggerHeaders, TriggerPayload, InitiatorState } from './runtime/initiator.js';
export type { TerminatorHooks, TerminatorMessage } from './runtime/terminator.js';
export type { RuntimeOptions } from './runtime/prepare.js';
export type { FerryConfig, ConfigKey } from './config/schema.js';
export type { StringFormat } from './config/formats.js';
export type { TlsRole } from './transport/tls-material.js';
export type { ErrorCode } from './errors.js';
export type { Logger, LogFields, LogLevel } from './log.js';
export type { ReceivedMessage } from './session/inbox.js';
export type { Delivery } from './session/delivery.js';
