/**
 * The armor's wire constants and domain-separation labels, in one place so the codec, the
 * handshake and the session agree, and so the known-answer tests can recompute every value with
 * openssl from this file alone.
 *
 * Every label starts with "fast-ferry armor v1" so no value derived or signed here can be
 * confused with one from another protocol or another version of this one.
 */

/** The armor protocol version carried in INIT, RESP and FINISH. */
export const ARMOR_VERSION = 1;

/**
 * TLS exporter label (RFC 8446 §7.5). Each side calls
 * `tlsSocket.exportKeyingMaterial(32, ARMOR_EXPORTER_LABEL)`; the value is unique to one TLS
 * connection, so a handshake that includes it cannot be replayed or relayed onto another.
 */
export const ARMOR_EXPORTER_LABEL = 'EXPORTER-fast-ferry-armor-v1';
export const EXPORTER_LENGTH = 32;

/** Byte 0 of every armor message. The session layer uses 0x01–0x1f, so byte 0 tells them apart. */
export const MessageType = {
  INIT: 0x20,
  RESP: 0x21,
  FINISH: 0x22,
  SEALED: 0x30,
} as const;
export type HandshakeMessageType = (typeof MessageType)['INIT' | 'RESP' | 'FINISH'];

export const X25519_PUBLIC_KEY_LENGTH = 32;
export const HANDSHAKE_NONCE_LENGTH = 32;
/** The longest signature we accept on the wire: P-521 in IEEE P1363 form is 132 bytes. */
export const MAX_SIGNATURE_LENGTH = 132;

/** INIT = type, version, ephemeral public key, nonce. */
export const INIT_LENGTH = 2 + X25519_PUBLIC_KEY_LENGTH + HANDSHAKE_NONCE_LENGTH;
/** RESP starts like INIT; then a u16 signature length and the signature. */
export const RESP_SIGNED_PART_LENGTH = 2 + X25519_PUBLIC_KEY_LENGTH + HANDSHAKE_NONCE_LENGTH;
/** FINISH = type, version, u16 signature length, signature. */
export const FINISH_HEADER_LENGTH = 4;

/** Sealed frame header: type (1), key epoch (u32), counter (u64). It is the AEAD's AAD. */
export const SEALED_HEADER_LENGTH = 13;
export const AEAD_TAG_LENGTH = 16;
export const AEAD_KEY_LENGTH = 32;
export const SESSION_ID_LENGTH = 16;

/** Hashed first into the transcript: the protocol and version this transcript belongs to. */
export const TRANSCRIPT_LABEL = 'fast-ferry armor v1 transcript';

/**
 * What each side signs, after TLS 1.3's CertificateVerify (RFC 8446 §4.4.3): 64 spaces, a
 * context string naming the signer's role, a zero byte, then the transcript hash. The role
 * string means a terminator's signature can never be reflected back as an initiator's.
 */
export const SIGNATURE_PAD = Buffer.alloc(64, 0x20);
export const TERMINATOR_SIGNATURE_CONTEXT = 'fast-ferry armor v1, terminator signature';
export const INITIATOR_SIGNATURE_CONTEXT = 'fast-ferry armor v1, initiator signature';

/** HKDF info strings: one per derived value, so no two outputs can ever be equal by design. */
export const KEY_INFO_INITIATOR_TO_TERMINATOR = 'fast-ferry armor v1 key initiator->terminator';
export const KEY_INFO_TERMINATOR_TO_INITIATOR = 'fast-ferry armor v1 key terminator->initiator';
export const SESSION_ID_INFO = 'fast-ferry armor v1 session id';
export const REKEY_INFO = 'fast-ferry armor v1 rekey';

/**
 * Hard ceilings on what one AES-256-GCM key may seal, whatever `rekey` says: TLS 1.3 (RFC 8446
 * §5.5) caps AES-GCM at 2^24.5 full-size records; we rotate after 2^24 frames or 2^36 bytes
 * (64 GiB = 2^32 AES blocks), whichever comes first, so even with megabyte batches an attacker's
 * advantage against one key stays near σ²/2^129 = 2^-65 (draft-irtf-cfrg-aead-limits aims at 2^-57).
 */
export const MAX_FRAMES_PER_KEY = 2 ** 24;
export const MAX_BYTES_PER_KEY = 2 ** 36;
