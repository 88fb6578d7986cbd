/** The few constants the wire format shares. Byte 0 of every frame is its type. */
/**
 * Raised whenever a frame changes shape incompatibly: peers of different versions then refuse
 * each other by name (FERRY_ERR_VERSION) instead of misreading a frame.
 */
export const PROTOCOL_VERSION = 2;

export const FrameType = {
  /** initiator → terminator, first frame of every connection: JSON {v, role, streamId, peerStreamId, resumeFrom, holdsFrom, armor} */
  HELLO: 0x01,
  /** terminator → initiator, answer to HELLO: JSON {v, role, sessionId, streamId, resumeFrom, holdsFrom} */
  WELCOME: 0x02,
  /** one message: flags (redelivered, payload kind), per-stream sequence number, payload (UTF-8 JSON or bytes) */
  DATA: 0x10,
  /** cumulative acknowledgement: every sequence number up to this one was handed to the hook */
  ACK: 0x11,
  /** the receiving hook failed for this sequence number (sent before the ACK that covers it) */
  NACK: 0x12,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/**
 * The DATA flags byte: bit 0 redelivered, bits 1–2 the payload kind, bit 3 "the ACK may wait",
 * bits 4–7 reserved (sent as 0, ignored on receipt). The kind took two bits of the flags byte,
 * which every peer of this protocol version already sends as 0 (JSON), so it needs no new field
 * and no version bump; bit 3 was a reserved bit that earlier receivers ignore.
 */
/** DATA flag bit: this message was sent before, on an earlier connection. */
export const FLAG_REDELIVERED = 0x01;
/**
 * DATA flag bit: nobody waits on this message's acknowledgement (it was written with write()
 * and its outbox is less than half full), so the receiver may hold the ACK for up to its
 * session.ackDelayMs and let one ACK cover the messages that arrive meanwhile. Opt-in by the
 * sender: a receiver that does not know the bit ignores it and acknowledges at once, and a
 * sender that never sets it is acknowledged at once.
 */
export const FLAG_ACK_DELAYABLE = 0x08;
/** The payload kind's bits in the DATA flags byte. */
export const KIND_MASK = 0x06;
export const KIND_SHIFT = 1;
/** What a DATA payload is; a receiver refuses any other kind by name. */
export const PayloadKind = {
  /** UTF-8 JSON text, handed to the hook parsed */
  JSON: 0,
  /** opaque bytes, handed to the hook as a Buffer */
  BYTES: 1,
} as const;
export type PayloadKind = (typeof PayloadKind)[keyof typeof PayloadKind];
/** DATA flag bits of a bytes payload (kind BYTES). */
export const FLAG_BYTES = PayloadKind.BYTES << KIND_SHIFT;

/** type(1) + length(4) then a JSON body */
export const CONTROL_HEADER_BYTES = 5;
/** type(1) + flags(1) + seq(6) + length(4); read a written frame back with dataPayload(). */
export const DATA_HEADER_BYTES = 12;
/** type(1) + seq(6) */
export const ACK_BYTES = 7;
/** type(1) + seq(6) + reason length(2) */
export const NACK_HEADER_BYTES = 9;
/** Sequence numbers are 48-bit: exact in a JS number, and 2^48 messages outlast any session. */
export const MAX_SEQ = 2 ** 48 - 1;
/** A control frame body is a small JSON object; anything larger is an attack or a bug. */
export const MAX_CONTROL_BYTES = 4096;
/** A NACK reason is a hook's error message, cut to this many bytes. */
export const MAX_REASON_BYTES = 1024;
/**
 * Room kept below session.maxPayloadBytes, so that whatever is written fits in one WebSocket
 * message of the peer: a message leaves it for its DATA header, a batch for the ACK written at
 * flush time and the armor's seal (header + tag).
 */
export const HEADROOM_BYTES = 64;
