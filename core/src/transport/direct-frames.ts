/**
 * Binary WebSocket messages written by the armored channel straight to its TLS socket: one
 * unfragmented frame each (RFC 6455 §5.2), header and payload in one buffer, and one frame in
 * the socket at a time.
 *
 * Why not ws.send(): ws writes a frame as two buffers, its header and the payload, and a socket
 * still busy with one write queues the ones that come meanwhile; Node's TLS socket then copies
 * every buffer of the next write into one fresh allocation, and for the armor's 256 KiB batches
 * glibc maps that memory afresh and the kernel faults it in page by page. The tunnel sender in
 * a 16 KiB bytes flood (3 s under `perf stat`, 14 runs) took 950–88,000 page faults, as glibc's
 * state went, at 25–44 µs of CPU a message; with frames written here and the seal's output in
 * 16 KiB pieces (ArmorSession.sealInto), 740–4,200 in 6 runs, at 26–28 µs. Either change alone
 * only moved the faults to the other allocation.
 *
 * ws still writes its own control frames (ping, pong, close) to the same socket, each in one
 * synchronous call, so frames never interleave. A frame still queued here when the channel
 * closes is handed to the socket before ws's close frame (flushQueued), as ws.send() would have
 * put it there; one queued when the peer closes first is dropped, as ws drops what is sent while
 * closing: whatever it carried is resent or acknowledged again on the next session.
 */
import type { TLSSocket } from 'node:tls';

const FIN_BINARY = 0x82;
const MASK_BIT = 0x80;
const LENGTH_16 = 126;
const LENGTH_64 = 127;
const MASK_KEY_BYTES = 4;

/** The header's size for a payload of `payloadLength` bytes; `masked`: a client's frame. */
export function frameHeaderLength(payloadLength: number, masked: boolean): number {
  const lengthBytes = payloadLength < LENGTH_16 ? 2 : payloadLength < 0x1_0000 ? 4 : 10;
  return lengthBytes + (masked ? MASK_KEY_BYTES : 0);
}

/**
 * Writes the header of a final binary frame at the start of `buf`. A client's frame carries the
 * mask bit and an all-zero masking key, the one the initiator gives ws too (dial.ts says why),
 * so the payload goes as it is.
 */
export function writeFrameHeader(buf: Buffer, payloadLength: number, masked: boolean): void {
  buf[0] = FIN_BINARY;
  let at: number;
  if (payloadLength < LENGTH_16) {
    buf[1] = payloadLength;
    at = 2;
  } else if (payloadLength < 0x1_0000) {
    buf[1] = LENGTH_16;
    buf.writeUInt16BE(payloadLength, 2);
    at = 4;
  } else {
    buf[1] = LENGTH_64;
    buf.writeUInt32BE(Math.floor(payloadLength / 2 ** 32), 2);
    buf.writeUInt32BE(payloadLength >>> 0, 6);
    at = 10;
  }
  if (masked) {
    buf[1] = (buf[1] as number) | MASK_BIT;
    buf.fill(0, at, at + MASK_KEY_BYTES);
  }
}

interface Queued {
  frame: Buffer;
  written: () => void;
}

/** Hands frames to the socket one at a time, each once the one before it was written. */
export class DirectFrameSender {
  readonly #socket: TLSSocket;
  readonly #isOpen: () => boolean;
  #queue: Queued[] = [];
  #writing = false;

  /** `isOpen`: whether frames may still go (the WebSocket is open: no close frame sent). */
  constructor(socket: TLSSocket, isOpen: () => boolean) {
    this.#socket = socket;
    this.#isOpen = isOpen;
  }

  /** Sends a whole frame (header included); `written` is called once its memory is free again. */
  send(frame: Buffer, written: () => void): void {
    this.#queue.push({ frame, written });
    this.#next();
  }

  /** Hands every queued frame to the socket now: the channel is about to send its close frame. */
  flushQueued(): void {
    const queue = this.#queue;
    this.#queue = [];
    for (const item of queue) {
      if (this.#isOpen()) this.#socket.write(item.frame, item.written);
      else item.written();
    }
  }

  #next(): void {
    if (this.#writing) return;
    const item = this.#queue.shift();
    if (item === undefined) return;
    if (!this.#isOpen()) {
      item.written();
      for (const dropped of this.#queue.splice(0)) dropped.written();
      return;
    }
    this.#writing = true;
    // Called once the socket wrote it, or with an error once the socket is gone.
    this.#socket.write(item.frame, () => {
      this.#writing = false;
      item.written();
      this.#next();
    });
  }
}
