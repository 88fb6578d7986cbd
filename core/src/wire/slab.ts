/**
 * Batch memory that is written again once nothing refers to it.
 *
 * Why: a sender keeps every batch until the peer acknowledges its messages, long enough for V8
 * to promote the Buffer to the old generation, and promoted memory outside the heap comes back
 * only through a full mark-compact. With a fresh 1 MiB slab per MiB sent, a flood of 16 KiB
 * messages made the initiator mark-compact every 40–90 ms (GC was 18 % of its main thread,
 * against 4 % for a plain ws sender, plus four helper threads at ~9 % of a core each). Recycled,
 * the slabs are allocated once: 54 in a 7 s flood instead of one per MiB. (The mark-compacts
 * the apps still ran without any slab allocated are the other half of the story: the command-line
 * flags in tools/src/node-options.ts.)
 *
 * Who holds a slab: the FrameWriter while it writes into it, every outbox entry whose frame is
 * in it (until acknowledged, refused or written into another batch), and every batch a channel
 * is still sending. A hold that is never released only keeps the slab from being reused (the GC
 * frees it then); releasing more often than it was held throws once the count goes below zero,
 * because reusing the slab could overwrite bytes that are still to be sent or resent. (A count
 * cannot tell whose hold was released: an extra release while others still hold it goes unseen.)
 */

export class Slab {
  readonly buf: Buffer;
  readonly #pool: SlabPool | undefined;
  #holds = 0;

  /** `pool`: where the slab goes when its last hold is released; undefined for a one-off buffer. */
  constructor(buf: Buffer, pool: SlabPool | undefined) {
    this.buf = buf;
    this.#pool = pool;
  }

  /** A buffer of its own, left to the GC when nobody holds it (not pooled). */
  static oneOff(bytes: number): Slab {
    return new Slab(Buffer.allocUnsafe(bytes), undefined);
  }

  retain(): void {
    this.#holds += 1;
  }

  release(): void {
    this.#holds -= 1;
    if (this.#holds > 0) return;
    if (this.#holds < 0) {
      this.#holds = 0;
      throw new Error('slab released more often than it was held: its bytes could have been overwritten while still needed');
    }
    this.#pool?.put(this);
  }
}

export class SlabPool {
  readonly slabBytes: number;
  /** Free slabs kept for reuse; more are left to the GC (memory held while idle). */
  readonly keep: number;
  readonly #free: Slab[] = [];

  constructor(slabBytes: number, keep: number) {
    this.slabBytes = slabBytes;
    this.keep = keep;
  }

  /** Free slabs waiting to be reused. */
  get free(): number {
    return this.#free.length;
  }

  /** A slab with no holds: a free one, or a new one. */
  take(): Slab {
    return this.#free.pop() ?? new Slab(Buffer.allocUnsafe(this.slabBytes), this);
  }

  put(slab: Slab): void {
    if (this.#free.length < this.keep) this.#free.push(slab);
  }
}

/**
 * Hands out buffers of sizes known in advance, one after another from the pool's slabs: the
 * armor seals each batch into one, and holds its slab until ws has written it. A buffer larger
 * than a slab is a one-off for the GC. The carver holds the slab it carves from, for as long
 * as it lives: one carver per process, not per connection.
 */
export class SlabCarver {
  readonly #pool: SlabPool;
  /** The slab being carved: the carver holds it until it moves to another. */
  #slab: Slab | undefined;
  #used = 0;

  constructor(pool: SlabPool) {
    this.#pool = pool;
  }

  /**
   * `bytes` of memory nobody else is using, and the slab they are in, held once for the caller,
   * who releases it when done with them.
   */
  carve(bytes: number): { buf: Buffer; slab: Slab } {
    if (bytes > this.#pool.slabBytes) {
      const slab = Slab.oneOff(bytes);
      slab.retain();
      return { buf: slab.buf, slab };
    }
    if (this.#slab === undefined || this.#used + bytes > this.#pool.slabBytes) {
      this.#slab?.release();
      this.#slab = this.#pool.take();
      this.#slab.retain();
      this.#used = 0;
    }
    const slab = this.#slab;
    slab.retain();
    const buf = slab.buf.subarray(this.#used, this.#used + bytes);
    this.#used += bytes;
    return { buf, slab };
  }
}
