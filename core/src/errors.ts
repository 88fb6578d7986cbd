/**
 * One error family for the whole networking layer, after ws's error factory and nats.js's
 * errors.ts: every failure carries a stable `code` (listed in docs/operations.md), the WebSocket
 * close code it maps to when it ends a session, the HTTP status it is answered with, and the
 * underlying `cause`.
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

/** HTTP statuses an error answer of the apps can carry (the table below is their only source). */
export type HttpStatus = 400 | 401 | 404 | 405 | 408 | 413 | 415 | 422 | 431 | 500 | 502 | 503 | 504;

/**
 * The code table: the one place every FERRY_ERR_* code is defined. Per code:
 * - `close`: the WebSocket close code a session ends with when this error ends it; null for
 *   codes that never end a session (HTTP refusals, start-up, tools).
 * - `http`: the status of the HTTP answer that carries this code (POST /trigger and the other
 *   routes of the apps' HTTP server); null when no HTTP answer carries it.
 * - `meaning`: one line, shown in the generated table in docs/operations.md.
 * A test checks that every FERRY_ERR_* string in core/src and tools/src is listed here.
 */
export const ErrorCodes = {
  FERRY_ERR_CONFIG: { close: CloseCode.INTERNAL_ERROR, http: null, meaning: 'a configuration value is missing or malformed' },
  FERRY_ERR_STARTUP: { close: null, http: null, meaning: 'an app could not start for a reason other than config, certificates or hooks; the line says why' },
  FERRY_ERR_HOOK_INVALID: { close: CloseCode.INTERNAL_ERROR, http: null, meaning: 'a hook is not a function' },
  FERRY_ERR_HOOK_FAILED: { close: CloseCode.INTERNAL_ERROR, http: 422, meaning: 'a hook threw or rejected' },
  FERRY_ERR_HOOK_TIMEOUT: { close: CloseCode.INTERNAL_ERROR, http: 422, meaning: 'a hook did not settle within hooks.timeoutMs' },
  FERRY_ERR_HOOK_RESULT: { close: CloseCode.INTERNAL_ERROR, http: 422, meaning: 'on_trigger returned something other than a JSON object or bytes, or an object JSON cannot carry as it is' },
  FERRY_ERR_BAD_PAYLOAD: { close: null, http: null, meaning: 'write(), send() or reply() got a value that is neither JSON nor bytes (bytes inside an object, a Map, a Set, a BigInt, a function); the message says where' },
  FERRY_ERR_REMOTE_HOOK: { close: CloseCode.INTERNAL_ERROR, http: 502, meaning: "the peer's hook failed for this message" },
  FERRY_ERR_BAD_FRAME: { close: CloseCode.PROTOCOL_ERROR, http: null, meaning: 'a frame was malformed, truncated or of an unknown type' },
  FERRY_ERR_TEXT_FRAME: { close: CloseCode.UNSUPPORTED_DATA, http: null, meaning: 'a text frame arrived; the protocol is binary only' },
  FERRY_ERR_PROTOCOL: { close: CloseCode.PROTOCOL_ERROR, http: null, meaning: 'a frame arrived out of order for the session state' },
  FERRY_ERR_VERSION: { close: CloseCode.PROTOCOL_ERROR, http: null, meaning: 'the peer speaks another protocol version' },
  FERRY_ERR_SEQUENCE: { close: CloseCode.PROTOCOL_ERROR, http: null, meaning: 'a sequence number skipped ahead (a message would be lost)' },
  FERRY_ERR_PAYLOAD_TOO_BIG: { close: CloseCode.MESSAGE_TOO_BIG, http: 413, meaning: 'a payload is larger than session.maxPayloadBytes, or a POST /trigger body is larger than http.bodyLimitBytes' },
  FERRY_ERR_HANDSHAKE_TIMEOUT: { close: CloseCode.POLICY_VIOLATION, http: null, meaning: 'the hello/welcome (or armor) handshake did not finish in time' },
  FERRY_ERR_TOO_MANY_PENDING: { close: null, http: null, meaning: 'the terminator closed a new connection at accept: session.maxPendingHandshakes connections were already mid-handshake' },
  FERRY_ERR_DIAL_TIMEOUT: { close: CloseCode.GOING_AWAY, http: null, meaning: 'the wss dial did not complete within session.dialTimeoutMs' },
  FERRY_ERR_DIAL_FAILED: { close: CloseCode.GOING_AWAY, http: null, meaning: 'the wss dial failed (refused, DNS, TLS)' },
  FERRY_ERR_TLS: { close: CloseCode.POLICY_VIOLATION, http: null, meaning: 'the TLS handshake failed (certificate, CA, version)' },
  FERRY_ERR_PEER_GONE: { close: null, http: null, meaning: 'the connection dropped without a WebSocket close (peer process killed, network cut): close code 1006' },
  FERRY_ERR_PEER_DEAD: { close: CloseCode.PEER_DEAD, http: null, meaning: 'nothing arrived from the peer for two ping intervals' },
  FERRY_ERR_CIRCUIT_OPEN: { close: CloseCode.GOING_AWAY, http: 503, meaning: 'reconnect.maxRetries reached; the initiator stopped dialing' },
  FERRY_ERR_NO_SESSION: { close: CloseCode.GOING_AWAY, http: 503, meaning: 'no session to the terminator has opened yet (after the first one, messages wait in the outbox while reconnecting)' },
  FERRY_ERR_OUTBOX_FULL: { close: CloseCode.GOING_AWAY, http: 503, meaning: 'the bounded outbox is full; retry later' },
  FERRY_ERR_ACK_TIMEOUT: { close: CloseCode.GOING_AWAY, http: 504, meaning: 'the peer did not acknowledge within session.ackTimeoutMs' },
  FERRY_ERR_SHUTTING_DOWN: { close: CloseCode.GOING_AWAY, http: 503, meaning: 'the process is draining and accepts no new messages' },
  FERRY_ERR_SESSION_CLOSED: { close: CloseCode.GOING_AWAY, http: 503, meaning: 'the session ended' },
  FERRY_ERR_CERT: { close: CloseCode.INTERNAL_ERROR, http: null, meaning: 'a certificate or key file is missing, unreadable or does not match' },
  FERRY_ERR_ARMOR_HANDSHAKE: { close: CloseCode.ARMOR_FAILURE, http: null, meaning: 'the armor key exchange failed (bad signature, wrong TLS binding, replay)' },
  FERRY_ERR_ARMOR_DECRYPT: { close: CloseCode.ARMOR_FAILURE, http: null, meaning: 'a sealed frame failed authentication (forged or corrupted)' },
  FERRY_ERR_ARMOR_REPLAY: { close: CloseCode.ARMOR_FAILURE, http: null, meaning: 'a sealed frame was replayed, reordered or dropped (counter mismatch)' },
  FERRY_ERR_ARMOR_STALE_KEY: { close: CloseCode.ARMOR_FAILURE, http: null, meaning: 'a sealed frame used a rotated-out key' },
  FERRY_ERR_BAD_REQUEST: { close: null, http: 400, meaning: 'the POST /trigger body is not a non-empty JSON object nested at most 64 levels deep (any bytes, zero-length too, are accepted as application/octet-stream): it is empty, not valid JSON, not a JSON object, too deep or not valid for its Content-Encoding; or the HTTP request is malformed' },
  FERRY_ERR_UNSUPPORTED_ENCODING: { close: null, http: 415, meaning: 'the request body has a Content-Encoding (not identity, gzip, deflate or br) or a charset (not UTF-8/16/32) the app cannot read' },
  FERRY_ERR_REQUEST_TIMEOUT: { close: null, http: 408, meaning: 'the request headers and body did not all arrive within 10 s of the request starting (a slow or stalled client)' },
  FERRY_ERR_HEADERS_TOO_LARGE: { close: null, http: 431, meaning: "the request headers exceed Node's limit (16 KiB)" },
  FERRY_ERR_METHOD: { close: null, http: 405, meaning: '/trigger takes POST only' },
  FERRY_ERR_NOT_FOUND: { close: null, http: 404, meaning: 'no such route (POST /trigger asked on the probes port names http.triggerPort)' },
  FERRY_ERR_UNAUTHORIZED: { close: null, http: 401, meaning: 'POST /trigger without the bearer token of http.triggerTokenFile (missing or wrong Authorization header)' },
  FERRY_ERR_INTERNAL: { close: null, http: 500, meaning: 'an unexpected error while answering a request (a bug: no request a client sends should cause it); the message says what' },
  FERRY_ERR_BLUEPRINT: { close: null, http: null, meaning: 'blueprint.yaml has a missing, unknown or malformed key (deploy.sh, blueprint.js check)' },
  FERRY_ERR_VERIFY: { close: null, http: null, meaning: 'verify found the deployment not working (not ready in time, a container that cannot start); deploy.sh prints what the cluster shows' },
} as const satisfies Record<string, { close: CloseCode | null; http: HttpStatus | null; meaning: string }>;

export type ErrorCode = keyof typeof ErrorCodes;

export class FerryError extends Error {
  override readonly name: string = 'FerryError';
  readonly code: ErrorCode;
  /** The WebSocket close code a session ends with when this error ends it. */
  readonly closeCode: CloseCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    // Codes that never end a session by design still need a close code if one ever does.
    this.closeCode = ErrorCodes[code].close ?? CloseCode.INTERNAL_ERROR;
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

/** The codes a hook's run can fail with (ferry_hook_errors_total{reason} starts with these at 0). */
export const HOOK_RUN_CODES = ['FERRY_ERR_HOOK_FAILED', 'FERRY_ERR_HOOK_TIMEOUT', 'FERRY_ERR_HOOK_RESULT'] as const satisfies readonly ErrorCode[];

/** Errors a hook raised, or that running it raised (timeout, bad result). */
export class HookError extends FerryError {
  override readonly name = 'HookError';
  constructor(
    code: 'FERRY_ERR_HOOK_INVALID' | (typeof HOOK_RUN_CODES)[number],
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
