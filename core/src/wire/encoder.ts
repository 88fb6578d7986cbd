/**
 * Writes frames into one growing buffer so that many messages leave in one WebSocket message
 * (and, under the armor, one AEAD seal). `take()` hands the bytes over as a view and starts
 * afresh in the rest of the same slab: nothing handed over is written again while its slab is
 * held (ws may still hold it while the socket drains, and the outbox keeps it for resends), and
 * no batch is copied.
 * Slabs, not a fresh buffer per batch, and recycled (slab.ts): batch memory lives until the
 * peer acknowledges it, and fresh off-heap memory that lives that long makes V8 run full
 * mark-compacts. A slab is written again once every batch in it is acknowledged and sent.
 */
import {
  ACK_BYTES,
  CONTROL_HEADER_BYTES,
  DATA_HEADER_BYTES,
  FrameType,
  MAX_REASON_BYTES,
  NACK_HEADER_BYTES,
} from './constants.js';
import { Slab, SlabPool } from './slab.js';

/** A one-off writer (a handshake frame) needs little, and so does one that sends only small batches. */
const INITIAL_BYTES = 16 * 1024;
/**
 * A writer whose batches all stayed this small (ACKs, a trickle of messages) goes on in another
 * small one-off buffer, not a slab, when it runs out of room: a session holds the slab it
 * writes into, and a terminator with one ACK-only session per initiator held 1 MiB for each.
 */
const SMALL_BATCH_BYTES = 4 * 1024;
/** Batches are carved out of slabs this large (about four full batches of 256 KiB). */
const SLAB_BYTES = 1024 * 1024;
/** Below this much room left, the next batch starts in a new buffer (a slab, or a small one-off). */
const MIN_ROOM_BYTES = 16 * 1024;
/**
 * Free slabs kept for the next batches: up to 16 MiB, held while idle. One cumulative ACK can
 * free many slabs at once (the outbox holds up to session.outboxLimitBytes, 8 MiB by default;
 * measured with 16): keeping 4, a flood of 16 KiB messages still took 586 fresh slabs in 7 s;
 * keeping 16, 54 in all, at start-up. Free and busy slabs together never outnumber the most
 * ever busy at once: with the default window, about ten.
 */
const FREE_SLABS_KEPT = 16;

/** The process's batch slabs, shared by every session (one thread: no two write at once). */
export const batchSlabs = new SlabPool(SLAB_BYTES, FREE_SLABS_KEPT);

export class FrameWriter {
  /** The slab being written: the writer holds it until it moves to another. */
  #slab: Slab;
  /** The part of #slab the frames since the last take() start in. */
  #buf: Buffer;
  #len = 0;
  /** The largest batch taken since the writer moved to #slab. */
  #largestBatch = 0;
  readonly #pool: SlabPool;

  /**
   * Starts in a small one-off buffer (a handshake frame), and goes on in `pool`'s slabs once
   * that is used up, unless every batch taken from it was small (SMALL_BATCH_BYTES).
   */
  constructor(pool: SlabPool = batchSlabs) {
    this.#pool = pool;
    this.#slab = Slab.oneOff(INITIAL_BYTES);
    this.#slab.retain();
    this.#buf = this.#slab.buf;
  }

  /** Bytes written since the last take(). */
  get length(): number {
    return this.#len;
  }

  /**
   * The buffer the frames since the last take() are in, at the offsets data() returned. Its
   * bytes up to `length` are not written again while its slab is held (take() hands them over
   * as they are, and a batch that outgrows it continues in a copy), so a frame can be read back
   * from it later by whoever holds the slab.
   */
  get buffer(): Buffer {
    return this.#buf;
  }

  /**
   * The slab `buffer` is part of. Whoever keeps a batch or a frame of it past the next write
   * (an outbox entry, a channel still sending it) holds the slab until it lets go.
   */
  get slab(): Slab {
    return this.#slab;
  }

  /**
   * One DATA frame. The payload may be the JSON text itself: it is then encoded straight into
   * the batch, which saves a Buffer and a copy per message; bytes are copied into the batch
   * once (the only copy they get before the socket). `flags` says which kind it is. Returns the
   * frame's offset in the batch, so the sender can find its bytes again for a resend
   * (dataPayload()).
   */
  data(seq: number, flags: number, payload: Uint8Array | string): number {
    let at: number;
    let length: number;
    if (typeof payload === 'string' && this.#len + DATA_HEADER_BYTES + payload.length * 3 <= this.#buf.length) {
      // The UTF-8 upper bound (3 bytes per UTF-16 unit) fits: write, then keep what was
      // written, one pass over the text instead of Buffer.byteLength's extra one.
      at = this.#reserve(DATA_HEADER_BYTES + payload.length * 3);
      length = this.#buf.write(payload, at + DATA_HEADER_BYTES, 'utf8');
      this.#len = at + DATA_HEADER_BYTES + length;
    } else if (typeof payload === 'string') {
      // Otherwise grow by the exact size: reserving 3× would triple the buffer a large
      // message is handed over in (and kept in, until it is acknowledged).
      length = Buffer.byteLength(payload, 'utf8');
      at = this.#reserve(DATA_HEADER_BYTES + length);
      this.#buf.write(payload, at + DATA_HEADER_BYTES, length, 'utf8');
    } else {
      length = payload.length;
      at = this.#reserve(DATA_HEADER_BYTES + length);
      this.#buf.set(payload, at + DATA_HEADER_BYTES);
    }
    const buf = this.#buf;
    buf[at] = FrameType.DATA;
    buf[at + 1] = flags;
    putUint48(buf, at + 2, seq);
    putUint32(buf, at + 8, length);
    return at;
  }

  /** Clears `flag` in the header of the DATA frame at `at` (returned by data(); not taken yet). */
  clearDataFlag(at: number, flag: number): void {
    this.#buf[at + 1] = (this.#buf[at + 1] as number) & ~flag;
  }

  ack(seq: number): void {
    const at = this.#reserve(ACK_BYTES);
    this.#buf[at] = FrameType.ACK;
    this.#buf.writeUIntBE(seq, at + 1, 6);
  }

  nack(seq: number, reason: string): void {
    const text = Buffer.from(reason, 'utf8').subarray(0, MAX_REASON_BYTES);
    const at = this.#reserve(NACK_HEADER_BYTES + text.length);
    const buf = this.#buf;
    buf[at] = FrameType.NACK;
    buf.writeUIntBE(seq, at + 1, 6);
    buf.writeUInt16BE(text.length, at + 7);
    text.copy(buf, at + NACK_HEADER_BYTES);
  }

  control(type: typeof FrameType.HELLO | typeof FrameType.WELCOME, body: object): void {
    const json = Buffer.from(JSON.stringify(body), 'utf8');
    const at = this.#reserve(CONTROL_HEADER_BYTES + json.length);
    this.#buf[at] = type;
    this.#buf.writeUInt32BE(json.length, at + 1);
    json.copy(this.#buf, at + CONTROL_HEADER_BYTES);
  }

  /**
   * The frames written so far, as one buffer at the same offsets; the writer starts empty
   * again. Nobody writes the buffer returned while its slab (`slab`, read before take()) is
   * held: an outbox keeps it for resends, a channel until the socket has it.
   */
  take(): Buffer {
    const out = this.#buf.subarray(0, this.#len);
    if (this.#len > this.#largestBatch) this.#largestBatch = this.#len;
    const room = this.#buf.length - this.#len;
    if (room >= MIN_ROOM_BYTES) this.#buf = this.#buf.subarray(this.#len);
    else this.#moveTo(this.#largestBatch <= SMALL_BATCH_BYTES ? Slab.oneOff(INITIAL_BYTES) : this.#pool.take());
    this.#len = 0;
    return out;
  }

  #reserve(bytes: number): number {
    const at = this.#len;
    if (at + bytes > this.#buf.length) {
      // Another slab, with the batch so far copied to its start; a batch larger than a slab
      // gets a one-off buffer of its own size (exact: see data()), not kept for reuse.
      const size = at + bytes;
      const grown = size <= this.#pool.slabBytes ? this.#pool.take() : Slab.oneOff(size);
      this.#buf.copy(grown.buf, 0, 0, at);
      this.#moveTo(grown);
    }
    this.#len = at + bytes;
    return at;
  }

  #moveTo(slab: Slab): void {
    slab.retain();
    const old = this.#slab;
    this.#slab = slab;
    this.#buf = slab.buf;
    this.#largestBatch = 0;
    old.release();
  }
}

/**
 * Big-endian stores without Buffer's range checks, for the header every DATA frame carries:
 * writeUIntBE(seq, at, 6) and writeUInt32BE took 21 ns a frame, these 7 (a microbenchmark).
 * The values are in range by construction: a seq is at most MAX_SEQ (constants.ts) and a length
 * below maxPayloadBytes.
 */
function putUint48(buf: Buffer, at: number, value: number): void {
  const high = Math.floor(value / 2 ** 32);
  buf[at] = high >>> 8;
  buf[at + 1] = high;
  putUint32(buf, at + 2, value >>> 0);
}

function putUint32(buf: Buffer, at: number, value: number): void {
  buf[at] = value >>> 24;
  buf[at + 1] = value >>> 16;
  buf[at + 2] = value >>> 8;
  buf[at + 3] = value;
}

/** One frame on its own (tests, fixtures, handshakes). */
export function encodeControl(type: typeof FrameType.HELLO | typeof FrameType.WELCOME, body: object): Buffer {
  const w = new FrameWriter();
  w.control(type, body);
  return w.take();
}

/** The payload length of the DATA frame that starts at `at` in `buf`. */
export function dataPayloadLength(buf: Buffer, at: number): number {
  return buf.readUInt32BE(at + 8);
}

/** The payload of the DATA frame that starts at `at` in `buf`, as a view (no copy). */
export function dataPayload(buf: Buffer, at: number): Buffer {
  const start = at + DATA_HEADER_BYTES;
  return buf.subarray(start, start + dataPayloadLength(buf, at));
}
