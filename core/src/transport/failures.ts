/**
 * How a failed connection is named, in one place for both roles: the coded error it becomes
 * and the low-cardinality label its metric carries. A dial (initiator), a refused TLS client or
 * upgrade request (terminator) and a failed armor handshake (either) each get one function.
 */
import { FerryError, isFerryError, messageOf, type ErrorCode } from '../errors.js';

/** TLS and certificate problems get their own code: they will not fix themselves by retrying. */
export function classifyDialError(url: string, err: Error): FerryError {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const isTls = /CERT|SSL|TLS|SIGNATURE|ISSUER|ALTNAME|SELF_SIGNED/.test(code);
  const text = `dial ${url} failed: ${code ? `${code}: ` : ''}${messageOf(err)}`;
  return new FerryError(isTls ? 'FERRY_ERR_TLS' : 'FERRY_ERR_DIAL_FAILED', text, { cause: err });
}

/** A stable, low-cardinality metric label for a dial or handshake failure. */
export function reasonLabel(err: unknown): string {
  const code = (err as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  if (typeof code === 'string' && code) return code;
  const own = (err as { code?: unknown } | undefined)?.code;
  return typeof own === 'string' && own ? own : 'unknown';
}

export interface Refusal {
  code: ErrorCode;
  /** The metric label: OpenSSL's or Node's own code, so one cause stays one series. */
  reason: string;
}

/** A client that failed TLS on the session port (wrong CA, no certificate, TLS 1.2, plain TCP...). */
export function tlsRefusal(err: Error): Refusal {
  return { code: 'FERRY_ERR_TLS', reason: (err as NodeJS.ErrnoException).code ?? 'TLS_ERROR' };
}

/** A connection closed at accept because session.maxPendingHandshakes were already mid-handshake. */
export function pendingRefusal(): Refusal {
  return { code: 'FERRY_ERR_TOO_MANY_PENDING', reason: 'FERRY_ERR_TOO_MANY_PENDING' };
}

/** A TLS-authenticated client whose WebSocket upgrade request was refused (malformed or too slow). */
export function upgradeRefusal(err: Error): Refusal {
  const reason = (err as NodeJS.ErrnoException).code ?? 'HTTP_ERROR';
  return { code: reason === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'FERRY_ERR_HANDSHAKE_TIMEOUT' : 'FERRY_ERR_PROTOCOL', reason };
}

/** Opening the channel failed: in tunnel mode, the armor refused the peer or timed out. */
export function channelFailure(err: unknown): FerryError {
  return isFerryError(err) ? err : new FerryError('FERRY_ERR_ARMOR_HANDSHAKE', messageOf(err), { cause: err });
}
