/** Fast Ferry's networking layer. Apps call startInitiator / startTerminator; the rest is for tools and tests. */
export { startInitiator, InitiatorRuntime } from './initiator.js';
export { startTerminator, TerminatorRuntime } from './terminator.js';
export { runMain } from './runtime.js';
export { autoTriggerStartLine, autoTriggerCompleteLine, parseAutoTriggerComplete } from './runtime/auto-trigger-line.js';
export { loadConfig, NON_KEY_ENV } from './config/load.js';
export { FORMAT_CHECKS, FORMAT_DOCS } from './config/formats.js';
export { CONFIG_SCHEMA, CONFIG_FILE_ENV, envNameOf } from './config/schema.js';
export { FerryError, ConfigError, HookError, ArmorError, ErrorCodes, CloseCode } from './errors.js';
export { createLogger, silentLogger } from './log.js';
export { loadTlsMaterial } from './transport/tls-material.js';

export type { InitiatorHooks, JsonObject, TriggerHeaders, InitiatorState } from './initiator.js';
export type { TerminatorHooks, TerminatorMessage } from './terminator.js';
export type { RuntimeOptions } from './runtime.js';
export type { FerryConfig, ConfigKey } from './config/schema.js';
export type { StringFormat } from './config/formats.js';
export type { TlsRole } from './transport/tls-material.js';
export type { ErrorCode } from './errors.js';
export type { Logger, LogFields, LogLevel } from './log.js';
export type { ReceivedMessage } from './session/inbox.js';
export type { Delivery } from './session/outbox.js';
