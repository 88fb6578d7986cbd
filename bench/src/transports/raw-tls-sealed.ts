/**
 * Row raw-tls-sealed, bytes and structured JSON (protocol.ts: ROW_PAYLOADS): the tunnel's
 * floor. The raw TLS socket and length-prefixed frames of raw-tls.ts, carrying batches sealed
 * by the armor's own ArmorSession (AES-256-GCM in node:crypto, the default rekey policy): the
 * least work a sender that seals inside TLS does, and so what armor mode `tunnel` can reach.
 *
 * Batched as Fast Ferry's session batches: the first message of an event-loop turn is sealed
 * and written at once, the ones behind it are copied (length-prefixed) into one batch that is
 * sealed at the end of the turn, or as soon as it would pass the session's batch limit. A
 * paced sender (one message a turn) thus seals each message, a flood one batch a turn. JSON is
 * stringified into the batch and parsed after the open, the work plain ws does too. No ids, no
 * acks, no WebSocket framing: those are Fast Ferry's own cost, which this row leaves out.
 *
 * It loads the armor, the config schema and the slabs, not all of core (nor does raw-tls.ts):
 * with core's whole module graph in the process, V8 ran an early mark-compact and then one
 * every ~130 ms in a bytes flood (the old generation's limit set from the small heap it found),
 * and the raw TLS socket sent half as many 16 KiB messages (25k against 50k msgs/s).
 */
import { ArmorSession } from '@fast-ferry/core/armor';
import { CONFIG_SCHEMA } from '@fast-ferry/core/config/schema';
import { SlabCarver, SlabPool } from '@fast-ferry/core/wire/slab';
import type { TLSSocket } from 'node:tls';
import type { Payload, Sink } from '../message.js';
import { carries, payloadsOf, type PeerArgs } from '../protocol.js';
import { dial, eachFrame, hasRoom, LENGTH_BYTES, listen, onFrames, whenDrained, writeFrame } from './raw-tls.js';
import type { Receiver, SenderConnection, Transport } from './types.js';

/**
 * Fixed keys, one per direction: the floor measures the sealed data path, and the key
 * exchange, once per session, is no part of it. Never a pattern for real keys.
 */
const SENDER_KEY = 0x5e;
const RECEIVER_KEY = 0x7e;

/** The session's batch limit (FLUSH_BYTES in core's session/session.ts). */
export const BATCH_BYTES = 256 * 1024;

/**
 * Sealed frames are carved from reused 1 MiB slabs and held until the socket wrote them, as the
 * armored channel's are. They are written corked behind their length prefix, not one at a time
 * as the armored channel writes them (core's transport/direct-frames.ts). In 5-round runs at
 * 16 KiB, one at a time (4 runs) against corked (2 runs, each beside one of them) made this row
 * faster with bytes (0.66–0.98× raw TLS against 0.63–0.74×) and slower with structured JSON
 * (0.72–0.88× plain ws against 0.93–1.00×), so its 16 KiB bytes figure may sit under what a
 * sealing sender can reach.
 */
const sealedFrames = new SlabCarver(new SlabPool(1024 * 1024, 8));

/** The armor of one end of the floor's connection (exported for its tests). */
export function armorSession(role: 'sender' | 'receiver'): ArmorSession {
  const [send, receive] = role === 'sender' ? [SENDER_KEY, RECEIVER_KEY] : [RECEIVER_KEY, SENDER_KEY];
  return new ArmorSession({
    sendKey: Buffer.alloc(32, send),
    receiveKey: Buffer.alloc(32, receive),
    identity: { sessionId: 'bench-floor', localEphemeral: '', peerEphemeral: '' },
    rekey: { intervalMs: CONFIG_SCHEMA['armor.rekeyIntervalMs'].default, messages: CONFIG_SCHEMA['armor.rekeyMessages'].default },
  });
}

/** Copies length-prefixed messages into a batch and writes it sealed, as described above. */
class SealedBatcher {
  readonly #socket: TLSSocket;
  readonly #armor: ArmorSession;
  /** Reused for every batch: the seal writes the sealed frame into memory of its own. */
  readonly #batch = Buffer.allocUnsafe(BATCH_BYTES);
  #used = 0;
  #sentThisTurn = false;

  constructor(socket: TLSSocket, armor: ArmorSession) {
    this.#socket = socket;
    this.#armor = armor;
  }

  /** Adds one message; false when the socket wants the sender to wait. */
  add(payload: Payload): boolean {
    if (Buffer.isBuffer(payload)) this.#addBytes(payload);
    else this.#addJson(JSON.stringify(payload));
    if (!this.#sentThisTurn) {
      this.#sentThisTurn = true;
      setImmediate(() => this.#endTurn());
      this.#flush();
    }
    return hasRoom(this.#socket);
  }

  #addBytes(bytes: Buffer): void {
    const need = LENGTH_BYTES + bytes.length;
    if (need > BATCH_BYTES) return this.#sealAlone(bytes);
    if (this.#used + need > BATCH_BYTES) this.#flush();
    this.#batch.writeUInt32BE(bytes.length, this.#used);
    bytes.copy(this.#batch, this.#used + LENGTH_BYTES);
    this.#used += need;
  }

  #addJson(json: string): void {
    // An upper bound (UTF-8 takes at most 3 bytes per UTF-16 unit), as the session's.
    const most = LENGTH_BYTES + json.length * 3;
    if (most > BATCH_BYTES) return this.#sealAlone(Buffer.from(json, 'utf8'));
    if (this.#used + most > BATCH_BYTES) this.#flush();
    const written = this.#batch.write(json, this.#used + LENGTH_BYTES, 'utf8');
    this.#batch.writeUInt32BE(written, this.#used);
    this.#used += LENGTH_BYTES + written;
  }

  /** A message bigger than a batch: what is batched leaves first, then it alone. */
  #sealAlone(message: Buffer): void {
    this.#flush();
    const framed = Buffer.allocUnsafe(LENGTH_BYTES + message.length);
    framed.writeUInt32BE(message.length, 0);
    message.copy(framed, LENGTH_BYTES);
    this.#write(framed);
  }

  #endTurn(): void {
    this.#sentThisTurn = false;
    this.#flush();
  }

  #flush(): void {
    if (this.#used === 0) return;
    this.#write(this.#batch.subarray(0, this.#used));
    this.#used = 0;
  }

  /** Seals `plain` into slab memory, released once the socket wrote it; `plain` is free again at once. */
  #write(plain: Buffer): void {
    const sealed = sealedFrames.carve(plain.length + ArmorSession.SEAL_OVERHEAD);
    this.#armor.sealInto(plain, sealed.buf);
    writeFrame(this.#socket, sealed.buf, () => sealed.slab.release());
  }
}

/** Hands each message of an opened batch to `accept`: bytes as a view of the batch, JSON parsed. */
export function unbatch(batch: Buffer, json: boolean, accept: (message: unknown) => void): void {
  eachFrame(batch, json ? (message) => accept(JSON.parse(message.toString('utf8'))) : accept);
}

export const rawTlsSealed: Transport = {
  receive(args: PeerArgs, sink: Sink): Promise<Receiver> {
    if (!carries('raw-tls-sealed', args.payload)) throw new TypeError(`row raw-tls-sealed carries ${payloadsOf('raw-tls-sealed').join(' and ')} only, not ${args.payload}`);
    const json = args.payload !== 'bytes';
    return listen(args, (socket) => {
      const armor = armorSession('receiver');
      onFrames(socket, (sealed) => unbatch(armor.open(sealed), json, (message) => sink.accept(message)));
    });
  },

  async connect(args: PeerArgs): Promise<SenderConnection> {
    const socket = await dial(args);
    const batcher = new SealedBatcher(socket, armorSession('sender'));
    return {
      send: (payload: Payload): boolean => batcher.add(payload),
      writable: () => whenDrained(socket),
    };
  },
};
