/**
 * One error family for the whole networking layer, after ws's error factory and nats.js's
 * errors.ts: every failure carries a stable `code` (listed in the README), the WebSocket close
 * code it maps to when it ends a session, and the underlying `cause`.
 */

/** WebSocket close codes used by Fast Ferry (RFC 6455 §7.4 plus the private 4000–4999 range). */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  UNSUPPORTED_DATA: 1003,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
  /** Private range: the session armor refused a frame or a handshake. */
  ARMOR_FAILURE: 4001,
  /** Private range: the peer was silent for two ping intervals. */
  PEER_DEAD: 4002,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/**
 * The code table. Keys are the codes; values the close code a session ends with when this
 * error ends it, and a one-line meaning (shown in the README's error table).
 */
export const ErrorCodes = {
  FERRY_ERR_CONFIG: { close: CloseCode.INTERNAL_ERROR, meaning: 'a configuration value is missing or malformed' },
  FERRY_ERR_HOOK_INVALID: { close: CloseCode.INTERNAL_ERROR, meaning: 'a hook is not a function' },
  FERRY_ERR_HOOK_FAILED: { close: CloseCode.INTERNAL_ERROR, meaning: 'a hook threw or rejected' },
  FERRY_ERR_HOOK_TIMEOUT: { close: CloseCode.INTERNAL_ERROR, meaning: 'a hook did not settle within hooks.timeoutMs' },
  FERRY_ERR_HOOK_RESULT: { close: CloseCode.INTERNAL_ERROR, meaning: 'on_trigger returned something other than a JSON object' },
  FERRY_ERR_REMOTE_HOOK: { close: CloseCode.INTERNAL_ERROR, meaning: "the peer's hook failed for this message" },
  FERRY_ERR_BAD_FRAME: { close: CloseCode.PROTOCOL_ERROR, meaning: 'a frame was malformed, truncated or of an unknown type' },
  FERRY_ERR_TEXT_FRAME: { close: CloseCode.UNSUPPORTED_DATA, meaning: 'a text frame arrived; the protocol is binary only' },
  FERRY_ERR_PROTOCOL: { close: CloseCode.PROTOCOL_ERROR, meaning: 'a frame arrived out of order for the session state' },
  FERRY_ERR_VERSION: { close: CloseCode.PROTOCOL_ERROR, meaning: 'the peer speaks another protocol version' },
  FERRY_ERR_SEQUENCE: { close: CloseCode.PROTOCOL_ERROR, meaning: 'a sequence number skipped ahead (a message would be lost)' },
  FERRY_ERR_PAYLOAD_TOO_BIG: { close: CloseCode.MESSAGE_TOO_BIG, meaning: 'a payload is larger than session.maxPayloadBytes' },
  FERRY_ERR_HANDSHAKE_TIMEOUT: { close: CloseCode.POLICY_VIOLATION, meaning: 'the hello/welcome (or armor) handshake did not finish in time' },
  FERRY_ERR_DIAL_TIMEOUT: { close: CloseCode.GOING_AWAY, meaning: 'the wss dial did not complete within session.dialTimeoutMs' },
  FERRY_ERR_DIAL_FAILED: { close: CloseCode.GOING_AWAY, meaning: 'the wss dial failed (refused, DNS, TLS)' },
  FERRY_ERR_TLS: { close: CloseCode.POLICY_VIOLATION, meaning: 'the TLS handshake failed (certificate, CA, version)' },
  FERRY_ERR_PEER_DEAD: { close: CloseCode.PEER_DEAD, meaning: 'nothing arrived from the peer for two ping intervals' },
  FERRY_ERR_CIRCUIT_OPEN: { close: CloseCode.GOING_AWAY, meaning: 'reconnect.maxRetries reached; the initiator stopped dialing' },
  FERRY_ERR_NO_SESSION: { close: CloseCode.GOING_AWAY, meaning: 'no session is open to carry the message' },
  FERRY_ERR_OUTBOX_FULL: { close: CloseCode.GOING_AWAY, meaning: 'the bounded outbox is full; retry later' },
  FERRY_ERR_ACK_TIMEOUT: { close: CloseCode.GOING_AWAY, meaning: 'the peer did not acknowledge within session.ackTimeoutMs' },
  FERRY_ERR_SHUTTING_DOWN: { close: CloseCode.GOING_AWAY, meaning: 'the process is draining and accepts no new messages' },
  FERRY_ERR_SESSION_CLOSED: { close: CloseCode.GOING_AWAY, meaning: 'the session ended' },
  FERRY_ERR_CERT: { close: CloseCode.INTERNAL_ERROR, meaning: 'a certificate or key file is missing, unreadable or does not match' },
  FERRY_ERR_ARMOR_HANDSHAKE: { close: CloseCode.ARMOR_FAILURE, meaning: 'the armor key exchange failed (bad signature, wrong TLS binding, replay)' },
  FERRY_ERR_ARMOR_DECRYPT: { close: CloseCode.ARMOR_FAILURE, meaning: 'a sealed frame failed authentication (forged or corrupted)' },
  FERRY_ERR_ARMOR_REPLAY: { close: CloseCode.ARMOR_FAILURE, meaning: 'a sealed frame was replayed, reordered or dropped (counter mismatch)' },
  FERRY_ERR_ARMOR_STALE_KEY: { close: CloseCode.ARMOR_FAILURE, meaning: 'a sealed frame used a rotated-out key' },
} as const satisfies Record<string, { close: CloseCode; meaning: string }>;

export type ErrorCode = keyof typeof ErrorCodes;

export class FerryError extends Error {
  override readonly name: string = 'FerryError';
  readonly code: ErrorCode;
  /** The WebSocket close code a session ends with when this error ends it. */
  readonly closeCode: CloseCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.closeCode = ErrorCodes[code].close;
  }
}

/** Configuration errors stop the process before any socket is opened. */
export class ConfigError extends FerryError {
  override readonly name = 'ConfigError';
  constructor(
    readonly key: string,
    readonly value: unknown,
    readonly expected: string,
  ) {
    super('FERRY_ERR_CONFIG', `invalid config ${key}=${describeValue(value)}: expected ${expected}`);
  }
}

/** Errors a hook raised, or that running it raised (timeout, bad result). */
export class HookError extends FerryError {
  override readonly name = 'HookError';
  constructor(
    code: 'FERRY_ERR_HOOK_INVALID' | 'FERRY_ERR_HOOK_FAILED' | 'FERRY_ERR_HOOK_TIMEOUT' | 'FERRY_ERR_HOOK_RESULT',
    readonly hook: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** Session-armor failures; each ends the session with close code 4001. */
export class ArmorError extends FerryError {
  override readonly name = 'ArmorError';
}

export function isFerryError(err: unknown): err is FerryError {
  return err instanceof FerryError;
}

/** A short, log-safe rendering of a config value. */
export function describeValue(value: unknown): string {
  if (value === undefined) return '(missing)';
  const text = typeof value === 'string' ? JSON.stringify(value) : safeJson(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** The message of anything thrown, for log lines. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
