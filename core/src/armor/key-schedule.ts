/**
 * The armor's key schedule: the running transcript hash, the X25519 agreement, the HKDF
 * derivation of the per-direction keys and session id, and the one-way rekey ratchet.
 *
 *   transcript  = SHA-256( "fast-ferry armor v1 transcript" | exporter (32)
 *                          | u16 len | initiator SPKI DER | u16 len | terminator SPKI DER
 *                          | INIT | RESP up to its signature )                 → TH1
 *                 ... continued with | u16 sig len | RESP signature              → TH2
 *   shared      = X25519(own ephemeral private, peer ephemeral public)
 *   key I→T     = HKDF-SHA256(ikm = shared, salt = TH1, info = "... key initiator->terminator", 32)
 *   key T→I     = HKDF-SHA256(ikm = shared, salt = TH1, info = "... key terminator->initiator", 32)
 *   session id  = HKDF-SHA256(ikm = shared, salt = TH1, info = "... session id", 16)
 *   next key    = HKDF-SHA256(ikm = key, salt = (none), info = "fast-ferry armor v1 rekey", 32)
 *
 * The keys are salted with TH1, which covers the TLS exporter, both long-term identities, both
 * ephemeral keys and both nonces; the signatures then authenticate TH1 (terminator) and TH2
 * (initiator). TH1 does not depend on the (randomised) ECDSA signatures, which is what lets the
 * known-answer test recompute the keys with openssl from fixed inputs.
 */
import { createHash, createPublicKey, diffieHellman, hkdfSync } from 'node:crypto';
import type { Hash, KeyObject } from 'node:crypto';
import { ArmorError } from '../errors.js';
import {
  AEAD_KEY_LENGTH,
  EXPORTER_LENGTH,
  KEY_INFO_INITIATOR_TO_TERMINATOR,
  KEY_INFO_TERMINATOR_TO_INITIATOR,
  REKEY_INFO,
  SESSION_ID_INFO,
  SESSION_ID_LENGTH,
  TRANSCRIPT_LABEL,
  X25519_PUBLIC_KEY_LENGTH,
} from './constants.js';

/** DER prefix of an X25519 SubjectPublicKeyInfo (RFC 8410): SEQUENCE, AlgorithmIdentifier 1.3.101.110, BIT STRING. */
const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

/** The raw 32-byte public key of an X25519 key (public, or the public half of a private one). */
export function x25519RawPublicKey(key: KeyObject): Buffer {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return der.subarray(X25519_SPKI_PREFIX.length);
}

/** An X25519 public KeyObject from its 32 raw bytes, as carried in INIT and RESP. */
export function x25519PublicKeyFromRaw(raw: Buffer): KeyObject {
  if (raw.length !== X25519_PUBLIC_KEY_LENGTH) {
    throw new ArmorError('FERRY_ERR_ARMOR_HANDSHAKE', `ephemeral public key is ${raw.length} bytes, expected 32`);
  }
  return createPublicKey({ key: Buffer.concat([X25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

/**
 * X25519(own private, peer public). A peer that sends a small-order point forces an all-zero
 * secret (RFC 7748 §6.1 says to check); OpenSSL refuses that itself, and we check again so the
 * guarantee doesn't depend on the library version.
 */
export function x25519SharedSecret(privateKey: KeyObject, peerPublicKey: KeyObject): Buffer {
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey, publicKey: peerPublicKey });
  } catch (cause) {
    const reason = 'X25519 key agreement failed (peer sent an invalid ephemeral key)';
    throw new ArmorError('FERRY_ERR_ARMOR_HANDSHAKE', reason, { cause });
  }
  if (shared.every((byte) => byte === 0)) {
    const reason = 'X25519 produced an all-zero secret (peer sent a small-order key)';
    throw new ArmorError('FERRY_ERR_ARMOR_HANDSHAKE', reason);
  }
  return shared;
}

/** The running SHA-256 transcript; `snapshot()` gives the hash so far without ending it. */
export class Transcript {
  readonly #hash: Hash = createHash('sha256');

  constructor(exporter: Buffer, initiatorSpki: Buffer, terminatorSpki: Buffer) {
    if (exporter.length !== EXPORTER_LENGTH) {
      throw new TypeError(`armor exporter must be ${EXPORTER_LENGTH} bytes, got ${exporter.length}`);
    }
    this.#hash.update(TRANSCRIPT_LABEL, 'utf8');
    this.#hash.update(exporter);
    this.#updateWithLength(initiatorSpki);
    this.#updateWithLength(terminatorSpki);
  }

  update(data: Buffer): this {
    this.#hash.update(data);
    return this;
  }

  snapshot(): Buffer {
    return this.#hash.copy().digest();
  }

  #updateWithLength(data: Buffer): void {
    const length = Buffer.alloc(2);
    length.writeUInt16BE(data.length);
    this.#hash.update(length).update(data);
  }
}

export interface SessionKeys {
  initiatorToTerminator: Buffer;
  terminatorToInitiator: Buffer;
  sessionId: Buffer;
}

/**
 * HKDF-SHA256 of the X25519 secret, salted with TH1, into the two direction keys and the
 * session id. Node's hkdfSync performs extract-then-expand on every call; with the same ikm and
 * salt that is the same PRK each time, so three calls equal one extract and three expands.
 */
export function deriveSessionKeys(sharedSecret: Buffer, transcriptHash: Buffer): SessionKeys {
  return {
    initiatorToTerminator: hkdf(sharedSecret, transcriptHash, KEY_INFO_INITIATOR_TO_TERMINATOR, AEAD_KEY_LENGTH),
    terminatorToInitiator: hkdf(sharedSecret, transcriptHash, KEY_INFO_TERMINATOR_TO_INITIATOR, AEAD_KEY_LENGTH),
    sessionId: hkdf(sharedSecret, transcriptHash, SESSION_ID_INFO, SESSION_ID_LENGTH),
  };
}

/**
 * The rekey ratchet: the next key is a one-way function of the current one, so once the
 * current key is zeroed, a later compromise cannot recover it (forward secrecy inside a session).
 */
export function ratchetKey(key: Buffer): Buffer {
  return hkdf(key, Buffer.alloc(0), REKEY_INFO, AEAD_KEY_LENGTH);
}

/**
 * HKDF-SHA256 (RFC 5869), extract then expand. hkdfSync returns an ArrayBuffer; wrapping it
 * (no copy) lets the owner zero it later. Exported for the RFC 5869 known-answer test.
 */
export function hkdf(ikm: Buffer, salt: Buffer, info: string | Buffer, length: number): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, info, length));
}
