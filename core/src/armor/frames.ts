/**
 * Encode and decode the three armor handshake messages. Lengths are checked exactly: a message
 * that is truncated, has trailing bytes, has the wrong type byte or the wrong version is refused
 * with FERRY_ERR_ARMOR_HANDSHAKE and a reason that says which. Nothing here is cryptographic;
 * the handshake decides what the fields mean.
 *
 *   INIT   (I→T)  0x20 | version | ephemeral X25519 public key (32) | nonce (32)           66 B
 *   RESP   (T→I)  0x21 | version | ephemeral X25519 public key (32) | nonce (32)
 *                      | signature length (u16 BE) | signature                          68+n B
 *   FINISH (I→T)  0x22 | version | signature length (u16 BE) | signature                 4+n B
 */
import { ArmorError } from '../errors.js';
import {
  ARMOR_VERSION,
  FINISH_HEADER_LENGTH,
  HANDSHAKE_NONCE_LENGTH,
  INIT_LENGTH,
  MAX_SIGNATURE_LENGTH,
  MessageType,
  RESP_SIGNED_PART_LENGTH,
  X25519_PUBLIC_KEY_LENGTH,
} from './constants.js';
import type { HandshakeMessageType } from './constants.js';

export interface InitMessage {
  type: typeof MessageType.INIT;
  ephemeralPublicKey: Buffer;
  nonce: Buffer;
}

export interface RespMessage {
  type: typeof MessageType.RESP;
  ephemeralPublicKey: Buffer;
  nonce: Buffer;
  signature: Buffer;
}

export interface FinishMessage {
  type: typeof MessageType.FINISH;
  signature: Buffer;
}

export type HandshakeMessage = InitMessage | RespMessage | FinishMessage;

const NAMES: Record<HandshakeMessageType, string> = {
  [MessageType.INIT]: 'INIT',
  [MessageType.RESP]: 'RESP',
  [MessageType.FINISH]: 'FINISH',
};

/** 'INIT (0x20)', or 'unknown type 0x7f' — for error messages and logs. */
export function describeMessageType(type: number | undefined): string {
  if (type === undefined) return 'an empty message';
  const hex = `0x${type.toString(16).padStart(2, '0')}`;
  const name = NAMES[type as HandshakeMessageType];
  return name === undefined ? `unknown type ${hex}` : `${name} (${hex})`;
}

export function encodeInit(ephemeralPublicKey: Buffer, nonce: Buffer): Buffer {
  return encodeKeyShare(MessageType.INIT, ephemeralPublicKey, nonce);
}

/**
 * RESP in two parts, because the terminator signs a transcript that already contains the
 * first part: `encodeRespSignedPart` then `encodeRespWithSignature`.
 */
export function encodeRespSignedPart(ephemeralPublicKey: Buffer, nonce: Buffer): Buffer {
  return encodeKeyShare(MessageType.RESP, ephemeralPublicKey, nonce);
}

/** INIT and the signed part of RESP share one layout: type, version, ephemeral key, nonce. */
function encodeKeyShare(type: typeof MessageType.INIT | typeof MessageType.RESP, ephemeralPublicKey: Buffer, nonce: Buffer): Buffer {
  checkFieldLength('ephemeral public key', ephemeralPublicKey, X25519_PUBLIC_KEY_LENGTH);
  checkFieldLength('nonce', nonce, HANDSHAKE_NONCE_LENGTH);
  const out = Buffer.alloc(type === MessageType.INIT ? INIT_LENGTH : RESP_SIGNED_PART_LENGTH);
  out[0] = type;
  out[1] = ARMOR_VERSION;
  ephemeralPublicKey.copy(out, 2);
  nonce.copy(out, 2 + X25519_PUBLIC_KEY_LENGTH);
  return out;
}

export function encodeRespWithSignature(signedPart: Buffer, signature: Buffer): Buffer {
  checkSignatureLength(signature);
  const out = Buffer.alloc(signedPart.length + 2 + signature.length);
  signedPart.copy(out, 0);
  out.writeUInt16BE(signature.length, signedPart.length);
  signature.copy(out, signedPart.length + 2);
  return out;
}

export function encodeFinish(signature: Buffer): Buffer {
  checkSignatureLength(signature);
  const out = Buffer.alloc(FINISH_HEADER_LENGTH + signature.length);
  out[0] = MessageType.FINISH;
  out[1] = ARMOR_VERSION;
  out.writeUInt16BE(signature.length, 2);
  signature.copy(out, FINISH_HEADER_LENGTH);
  return out;
}

/**
 * Decode one handshake message. Returned fields are views into `buf` (no copies); the caller
 * must not mutate `buf` while it uses them.
 */
export function decodeHandshakeMessage(buf: Buffer): HandshakeMessage {
  const type = buf[0];
  if (type !== MessageType.INIT && type !== MessageType.RESP && type !== MessageType.FINISH) {
    throw refused(`expected an armor handshake message, got ${describeMessageType(type)}`);
  }
  const name = describeMessageType(type);
  const version = buf[1];
  if (version === undefined) throw refused(`${name} truncated: ${buf.length} byte(s), no version byte`);
  if (version !== ARMOR_VERSION) {
    throw refused(`${name} has armor version ${version}; this side speaks version ${ARMOR_VERSION}`);
  }
  switch (type) {
    case MessageType.INIT: {
      checkExactLength(name, buf, INIT_LENGTH);
      return {
        type,
        ephemeralPublicKey: buf.subarray(2, 2 + X25519_PUBLIC_KEY_LENGTH),
        nonce: buf.subarray(2 + X25519_PUBLIC_KEY_LENGTH, INIT_LENGTH),
      };
    }
    case MessageType.RESP: {
      const signature = readSignature(name, buf, RESP_SIGNED_PART_LENGTH);
      return {
        type,
        ephemeralPublicKey: buf.subarray(2, 2 + X25519_PUBLIC_KEY_LENGTH),
        nonce: buf.subarray(2 + X25519_PUBLIC_KEY_LENGTH, RESP_SIGNED_PART_LENGTH),
        signature,
      };
    }
    case MessageType.FINISH: {
      // FINISH's u16 signature length sits right after type and version.
      return { type, signature: readSignature(name, buf, 2) };
    }
  }
}

/** Read `u16 length | signature` at `offset`, which must end exactly at the end of `buf`. */
function readSignature(name: string, buf: Buffer, offset: number): Buffer {
  if (buf.length < offset + 2) {
    throw refused(`${name} truncated: ${buf.length} byte(s), need at least ${offset + 2} before the signature`);
  }
  const length = buf.readUInt16BE(offset);
  if (length === 0 || length > MAX_SIGNATURE_LENGTH) {
    throw refused(`${name} declares a ${length}-byte signature; expected 1–${MAX_SIGNATURE_LENGTH}`);
  }
  checkExactLength(name, buf, offset + 2 + length);
  return buf.subarray(offset + 2);
}

function checkExactLength(name: string, buf: Buffer, expected: number): void {
  if (buf.length < expected) throw refused(`${name} truncated: ${buf.length} byte(s), expected ${expected}`);
  if (buf.length > expected) {
    throw refused(`${name} has ${buf.length - expected} trailing byte(s): ${buf.length} byte(s), expected ${expected}`);
  }
}

/** Encoding with a wrong-sized field is a bug on this side, not a peer's fault. */
function checkFieldLength(field: string, value: Buffer, expected: number): void {
  if (value.length !== expected) throw new TypeError(`armor ${field} must be ${expected} bytes, got ${value.length}`);
}

function checkSignatureLength(signature: Buffer): void {
  if (signature.length === 0 || signature.length > MAX_SIGNATURE_LENGTH) {
    throw new TypeError(`armor signature must be 1–${MAX_SIGNATURE_LENGTH} bytes, got ${signature.length}`);
  }
}

function refused(reason: string): ArmorError {
  return new ArmorError('FERRY_ERR_ARMOR_HANDSHAKE', reason);
}
