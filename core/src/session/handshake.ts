/**
 * HELLO and WELCOME bodies: parsed strictly, since they come from the network. A peer on
 * another protocol version, in another armor mode, or with a malformed body is refused with a
 * reason that says which field and what was expected.
 */
import { FerryError } from '../errors.js';
import { MAX_SEQ, PROTOCOL_VERSION } from '../wire/constants.js';

export interface Hello {
  v: number;
  role: 'initiator';
  /** The initiator's outbound stream. */
  streamId: string;
  /** The terminator stream the initiator last received from ('' if none)… */
  peerStreamId: string;
  /** …and the last sequence number of it that was delivered. */
  resumeFrom: number;
  /**
   * The lowest sequence number of `streamId` the initiator still holds (its next one when it
   * holds none): everything below was acknowledged, perhaps by another terminator replica, or
   * refused to its caller, so this terminator moves past what it has not seen of it.
   */
  holdsFrom: number;
  armor: 'tunnel' | 'tls';
}

export interface Welcome {
  v: number;
  role: 'terminator';
  sessionId: string;
  /** The terminator's outbound stream to this initiator. */
  streamId: string;
  /** Everything up to this sequence number of the initiator's stream was delivered. */
  resumeFrom: number;
  /** The lowest sequence number of `streamId` the terminator still holds (as in HELLO). */
  holdsFrom: number;
}

const STREAM_ID = /^[0-9a-f]{16}$/;

export function parseHello(body: unknown, localArmor: 'tunnel' | 'tls'): Hello {
  const o = object(body, 'HELLO');
  version(o, 'HELLO');
  if (o['role'] !== 'initiator') throw bad('HELLO', 'role', 'initiator', o['role']);
  const hello: Hello = {
    v: PROTOCOL_VERSION,
    role: 'initiator',
    streamId: streamId(o, 'streamId', 'HELLO', false),
    peerStreamId: streamId(o, 'peerStreamId', 'HELLO', true),
    resumeFrom: seq(o, 'resumeFrom', 'HELLO', 0),
    holdsFrom: seq(o, 'holdsFrom', 'HELLO', 1),
    armor: o['armor'] === 'tls' ? 'tls' : 'tunnel',
  };
  if (o['armor'] !== 'tls' && o['armor'] !== 'tunnel') throw bad('HELLO', 'armor', "'tunnel' or 'tls'", o['armor']);
  if (hello.armor !== localArmor) {
    throw new FerryError('FERRY_ERR_PROTOCOL', `armor mode mismatch: the initiator uses '${hello.armor}', this terminator '${localArmor}' (set armor.mode alike on both)`);
  }
  return hello;
}

export function parseWelcome(body: unknown): Welcome {
  const o = object(body, 'WELCOME');
  version(o, 'WELCOME');
  if (o['role'] !== 'terminator') throw bad('WELCOME', 'role', 'terminator', o['role']);
  const sessionId = o['sessionId'];
  if (typeof sessionId !== 'string' || !STREAM_ID.test(sessionId)) throw bad('WELCOME', 'sessionId', '16 hex digits', sessionId);
  return {
    v: PROTOCOL_VERSION,
    role: 'terminator',
    sessionId,
    streamId: streamId(o, 'streamId', 'WELCOME', false),
    resumeFrom: seq(o, 'resumeFrom', 'WELCOME', 0),
    holdsFrom: seq(o, 'holdsFrom', 'WELCOME', 1),
  };
}

function object(body: unknown, frame: string): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new FerryError('FERRY_ERR_PROTOCOL', `${frame} body must be a JSON object`);
  }
  return body as Record<string, unknown>;
}

function version(o: Record<string, unknown>, frame: string): void {
  if (o['v'] !== PROTOCOL_VERSION) {
    throw new FerryError('FERRY_ERR_VERSION', `${frame} speaks protocol version ${String(o['v'])}, this side speaks ${PROTOCOL_VERSION} (deploy both apps from the same release)`);
  }
}

function streamId(o: Record<string, unknown>, key: string, frame: string, emptyOk: boolean): string {
  const value = o[key];
  if (typeof value === 'string' && (STREAM_ID.test(value) || (emptyOk && value === ''))) return value;
  throw bad(frame, key, '16 hex digits', value);
}

/** A sequence number field: `min` is 0 for "delivered up to" (nothing yet), 1 for a held one. */
function seq(o: Record<string, unknown>, key: string, frame: string, min: 0 | 1): number {
  const value = o[key];
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= MAX_SEQ) return value;
  throw bad(frame, key, `an integer from ${min} to ${MAX_SEQ}`, value);
}

function bad(frame: string, key: string, expected: string, got: unknown): FerryError {
  return new FerryError('FERRY_ERR_PROTOCOL', `${frame}.${key} must be ${expected}, got ${JSON.stringify(got) ?? String(got)}`);
}
