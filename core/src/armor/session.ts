/**
 * An established armor session: seals and opens frames with AES-256-GCM under per-direction
 * keys, and rotates each direction's key on a one-way ratchet.
 *
 * Sealed frame (byte 0 = 0x30):
 *
 *   0x30 | key epoch (u32 BE) | counter (u64 BE) | ciphertext | tag (16)
 *   '------------ header, 13 bytes: the AAD -----'
 *
 * The 96-bit GCM nonce is header bytes 1..12 (epoch || counter): no nonce is
 * random, none is stored separately, and none repeats under a key, because each key belongs to
 * one epoch and the counter only goes up.
 *
 * The counter is one sequence per direction for the whole session: it does NOT restart when the
 * key rotates. Were it to restart, dropping the last frames of an epoch would go unnoticed (the
 * receiver cannot know how many frames the sender sealed before rotating); with one sequence,
 * the receiver demands exactly the next counter, so any replay, reorder or drop — across a
 * rotation too — fails with FERRY_ERR_ARMOR_REPLAY.
 *
 * The receiver decrypts first and checks the counter second, so a header altered in transit
 * fails authentication (FERRY_ERR_ARMOR_DECRYPT), and only authentic frames can report REPLAY.
 * No state changes unless a frame is accepted. Any throw should end the session (close 4001).
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { ArmorError } from '../errors.js';
import {
  AEAD_TAG_LENGTH,
  MAX_BYTES_PER_KEY,
  MAX_FRAMES_PER_KEY,
  MessageType,
  SEALED_HEADER_LENGTH,
} from './constants.js';
import { ratchetKey } from './key-schedule.js';

const CIPHER = 'aes-256-gcm';
const CIPHER_OPTIONS = { authTagLength: AEAD_TAG_LENGTH } as const;
const TWO_TO_32 = 2 ** 32;
const MAX_EPOCH = 0xffff_ffff;
const MIN_SEALED_LENGTH = SEALED_HEADER_LENGTH + AEAD_TAG_LENGTH;
/** The most plaintext one update() call seals (see sealInto). */
const SEAL_PIECE_BYTES = 16 * 1024;

export interface ArmorSessionIdentity {
  /** 16 bytes, hex: names this session in logs on both sides. */
  readonly sessionId: string;
  /** This side's ephemeral X25519 public key, hex. */
  readonly localEphemeral: string;
  /** The peer's ephemeral X25519 public key, hex. */
  readonly peerEphemeral: string;
}

export interface RekeyPolicy {
  /** Rotate the send key after this many milliseconds under one key. */
  intervalMs: number;
  /** ...or after this many frames under one key, whichever comes first. */
  messages: number;
}

export interface ArmorSessionOptions {
  sendKey: Buffer;
  receiveKey: Buffer;
  identity: ArmorSessionIdentity;
  rekey: RekeyPolicy;
  now?: () => number;
}

export class ArmorSession {
  /** What sealing adds to a frame: the header and the tag. */
  static readonly SEAL_OVERHEAD = SEALED_HEADER_LENGTH + AEAD_TAG_LENGTH;

  readonly identity: ArmorSessionIdentity;
  /** Key rotations so far, per direction (for the rekeys metric). */
  readonly rekeys: { readonly send: number; readonly receive: number };

  readonly #rekeyCounts: { send: number; receive: number };
  readonly #now: () => number;
  readonly #maxFramesPerKey: number;
  readonly #rekeyIntervalMs: number;

  #sendKey: Buffer;
  #sendEpoch = 0;
  #sendCounter = 0;
  #sendFramesThisKey = 0;
  #sendBytesThisKey = 0;
  #sendKeySince: number;

  #receiveKey: Buffer;
  #receiveEpoch = 0;
  #receiveCounter = 0;

  #destroyed = false;

  /** Scratch: the header being sealed (byte 0 fixed) and its bytes 1..12, the nonce. */
  readonly #sealHeader = Buffer.alloc(SEALED_HEADER_LENGTH, MessageType.SEALED);
  readonly #sealNonce = this.#sealHeader.subarray(1);
  /** Scratch: the header and tag of the frame being opened. */
  readonly #openHeader = Buffer.alloc(SEALED_HEADER_LENGTH);
  readonly #openNonce = this.#openHeader.subarray(1);
  readonly #openTag = Buffer.alloc(AEAD_TAG_LENGTH);

  /** Made by ArmorHandshake; takes ownership of both keys (it zeroes them when done). */
  constructor(opts: ArmorSessionOptions) {
    validateRekeyPolicy(opts.rekey);
    if (opts.sendKey.length !== 32 || opts.receiveKey.length !== 32) {
      throw new TypeError('armor session keys must be 32 bytes');
    }
    this.identity = Object.freeze({ ...opts.identity });
    this.#rekeyCounts = { send: 0, receive: 0 };
    this.rekeys = this.#rekeyCounts;
    this.#now = opts.now ?? defaultNow;
    // The configured limit, but never beyond what one AES-GCM key may safely seal.
    this.#maxFramesPerKey = Math.min(opts.rekey.messages, MAX_FRAMES_PER_KEY);
    this.#rekeyIntervalMs = opts.rekey.intervalMs;
    this.#sendKey = opts.sendKey;
    this.#receiveKey = opts.receiveKey;
    this.#sendKeySince = this.#now();
  }

  /** The send key's epoch (how many times it has rotated); for logs and tests. */
  get sendEpoch(): number {
    return this.#sendEpoch;
  }

  /** The receive key's epoch; for logs and tests. */
  get receiveEpoch(): number {
    return this.#receiveEpoch;
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** Encrypt one frame (typically one batch of messages). Returns a new buffer; `plaintext` is not modified. */
  seal(plaintext: Buffer): Buffer {
    const out = Buffer.allocUnsafe(plaintext.length + ArmorSession.SEAL_OVERHEAD);
    this.sealInto(plaintext, out);
    return out;
  }

  /**
   * seal() into `out`, which must be exactly `plaintext.length + SEAL_OVERHEAD` bytes: a sender
   * seals into memory it reuses once the frame is written (see ArmoredChannel).
   */
  sealInto(plaintext: Buffer, out: Buffer): void {
    if (out.length !== plaintext.length + ArmorSession.SEAL_OVERHEAD) {
      throw new RangeError(`a sealed frame of ${plaintext.length} plaintext bytes takes ${plaintext.length + ArmorSession.SEAL_OVERHEAD} bytes, not ${out.length}`);
    }
    this.#assertLive();
    if (
      this.#sendFramesThisKey >= this.#maxFramesPerKey ||
      this.#sendBytesThisKey + plaintext.length > MAX_BYTES_PER_KEY ||
      this.#now() - this.#sendKeySince >= this.#rekeyIntervalMs
    ) {
      this.#rotateSendKey();
    }
    const counter = this.#sendCounter;
    if (counter >= Number.MAX_SAFE_INTEGER) {
      throw new ArmorError('FERRY_ERR_ARMOR_STALE_KEY', 'armor send counter exhausted; start a new session');
    }

    // The header is written into a per-session scratch buffer whose bytes 1..12 are also the
    // nonce view, both made once: creating Buffer views per call measured ~15% slower for small
    // frames. createCipheriv and setAAD copy what they need, so reusing the scratch is safe.
    const header = this.#sealHeader;
    header.writeUInt32BE(this.#sendEpoch, 1);
    header.writeUInt32BE(Math.floor(counter / TWO_TO_32), 5);
    header.writeUInt32BE(counter >>> 0, 9);
    const cipher = createCipheriv(CIPHER, this.#sendKey, this.#sealNonce, CIPHER_OPTIONS);
    cipher.setAAD(header);
    // node:crypto has no in-place encryption: update() returns a new buffer, copied once into
    // the frame. GCM is a stream mode, so update() returns every byte and final() none: the
    // frame's size is known before sealing. A large batch goes through in SEAL_PIECE_BYTES
    // pieces: a 256 KiB output is memory glibc maps afresh and the kernel faults in at every
    // seal, while 16 KiB ones come from (and go back to) its heap. Sealing alone, the two
    // come out close, and the microbenchmarks disagree on which is ahead: 232–266 µs in pieces
    // against 278–313 whole once (3 runs), medians 107–111 against 102–103 another time (2 runs
    // of 10 rounds, with few faults). The flood decides it: see direct-frames.ts for the faults
    // the pieces took away there.
    header.copy(out, 0);
    let at = SEALED_HEADER_LENGTH;
    for (let from = 0; from < plaintext.length; from += SEAL_PIECE_BYTES) {
      const piece = cipher.update(from === 0 && plaintext.length <= SEAL_PIECE_BYTES ? plaintext : plaintext.subarray(from, from + SEAL_PIECE_BYTES));
      piece.copy(out, at);
      at += piece.length;
    }
    cipher.final();
    cipher.getAuthTag().copy(out, SEALED_HEADER_LENGTH + plaintext.length);

    this.#sendCounter = counter + 1;
    this.#sendFramesThisKey += 1;
    this.#sendBytesThisKey += plaintext.length;
  }

  /** Decrypt and verify one sealed frame; returns the plaintext or throws an ArmorError. */
  open(sealed: Buffer): Buffer {
    this.#assertLive();
    if (sealed.length < MIN_SEALED_LENGTH) {
      throw new ArmorError(
        'FERRY_ERR_ARMOR_DECRYPT',
        `sealed frame truncated: ${sealed.length} byte(s), at least ${MIN_SEALED_LENGTH} expected`,
      );
    }
    if (sealed[0] !== MessageType.SEALED) {
      throw new ArmorError('FERRY_ERR_ARMOR_DECRYPT', `not a sealed frame: type byte 0x${sealed[0]?.toString(16)}`);
    }

    const epoch = sealed.readUInt32BE(1);
    let key: Buffer;
    if (epoch === this.#receiveEpoch) {
      key = this.#receiveKey;
    } else if (epoch === this.#receiveEpoch + 1) {
      // The sender rotated: try the next key in the ratchet, and commit to it only if the frame
      // authenticates and is in sequence.
      key = ratchetKey(this.#receiveKey);
    } else if (epoch < this.#receiveEpoch) {
      throw new ArmorError(
        'FERRY_ERR_ARMOR_STALE_KEY',
        `sealed frame under key epoch ${epoch}, which was rotated out (current epoch ${this.#receiveEpoch})`,
      );
    } else {
      throw new ArmorError(
        'FERRY_ERR_ARMOR_DECRYPT',
        `sealed frame claims key epoch ${epoch}, more than one ahead of ${this.#receiveEpoch} ` +
          '(forged header or lost frames)',
      );
    }

    // Header and tag are copied into per-session scratch buffers (cheaper than two views).
    const tagStart = sealed.length - AEAD_TAG_LENGTH;
    const header = this.#openHeader;
    sealed.copy(header, 0, 0, SEALED_HEADER_LENGTH);
    sealed.copy(this.#openTag, 0, tagStart);
    const decipher = createDecipheriv(CIPHER, key, this.#openNonce, CIPHER_OPTIONS);
    decipher.setAAD(header);
    decipher.setAuthTag(this.#openTag);
    let plaintext = decipher.update(sealed.subarray(SEALED_HEADER_LENGTH, tagStart));
    try {
      const rest = decipher.final();
      if (rest.length > 0) plaintext = Buffer.concat([plaintext, rest]);
    } catch (cause) {
      if (key !== this.#receiveKey) key.fill(0);
      throw new ArmorError('FERRY_ERR_ARMOR_DECRYPT', 'sealed frame failed authentication (forged or corrupted)', {
        cause,
      });
    }

    const counter = header.readUInt32BE(5) * TWO_TO_32 + header.readUInt32BE(9);
    if (counter !== this.#receiveCounter) {
      if (key !== this.#receiveKey) key.fill(0);
      const what =
        counter < this.#receiveCounter ? 'replayed or reordered' : 'a frame before it was dropped or reordered';
      throw new ArmorError(
        'FERRY_ERR_ARMOR_REPLAY',
        `sealed frame counter ${counter}, expected ${this.#receiveCounter}: ${what}`,
      );
    }

    if (key !== this.#receiveKey) {
      this.#receiveKey.fill(0);
      this.#receiveKey = key;
      this.#receiveEpoch = epoch;
      this.#rekeyCounts.receive += 1;
    }
    this.#receiveCounter = counter + 1;
    return plaintext;
  }

  /** Zero both keys. Further seal/open calls throw. Idempotent. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#sendKey.fill(0);
    this.#receiveKey.fill(0);
  }

  #rotateSendKey(): void {
    if (this.#sendEpoch >= MAX_EPOCH) {
      throw new ArmorError('FERRY_ERR_ARMOR_STALE_KEY', 'armor key epochs exhausted; start a new session');
    }
    const next = ratchetKey(this.#sendKey);
    this.#sendKey.fill(0);
    this.#sendKey = next;
    this.#sendEpoch += 1;
    this.#sendFramesThisKey = 0;
    this.#sendBytesThisKey = 0;
    this.#sendKeySince = this.#now();
    this.#rekeyCounts.send += 1;
  }

  #assertLive(): void {
    if (this.#destroyed) throw new ArmorError('FERRY_ERR_SESSION_CLOSED', 'armor session was destroyed');
  }
}

/** A monotonic clock: wall-clock jumps must not trigger or postpone a rekey. */
function defaultNow(): number {
  return performance.now();
}

/** Throws a TypeError naming the bad field; shared with ArmorHandshake so it fails early. */
export function validateRekeyPolicy(rekey: RekeyPolicy): void {
  if (!(typeof rekey.intervalMs === 'number' && rekey.intervalMs > 0)) {
    throw new TypeError(`armor rekey.intervalMs must be a positive number, got ${String(rekey.intervalMs)}`);
  }
  if (!(Number.isSafeInteger(rekey.messages) && rekey.messages >= 1)) {
    throw new TypeError(`armor rekey.messages must be a positive integer, got ${String(rekey.messages)}`);
  }
}
