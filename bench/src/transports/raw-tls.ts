/**
 * The floor: one mutual-TLS 1.3 socket, no acks. JSON goes as newline-delimited lines (the
 * receiver splits lines and parses each); bytes as length-prefixed frames (a 4-byte
 * big-endian length, then the bytes; the receiver hands each frame on as a Buffer, copying
 * only a frame that straddles reads, once, when it is whole). The sender writes each message as
 * it comes and backs off while more than HIGH_WATER bytes wait.
 *
 * raw-tls-sealed.ts builds the tunnel's floor on the same socket and frames.
 */
import { once } from 'node:events';
import { connect, createServer, type TLSSocket } from 'node:tls';
import type { Payload, Sink } from '../message.js';
import type { PeerArgs } from '../protocol.js';
import { clientTlsOptions, serverTlsOptions } from './tls-files.js';
import type { Receiver, SenderConnection, Transport } from './types.js';

const HIGH_WATER = 1024 * 1024;
const NEWLINE = 0x0a;
/** The big-endian length before each frame's bytes. */
export const LENGTH_BYTES = 4;

function readLines(socket: TLSSocket, sink: Sink): void {
  let rest: Buffer | null = null;
  socket.on('data', (chunk: Buffer) => {
    const buf = rest ? Buffer.concat([rest, chunk]) : chunk;
    let start = 0;
    for (let nl = buf.indexOf(NEWLINE, start); nl !== -1; nl = buf.indexOf(NEWLINE, start)) {
      sink.accept(JSON.parse(buf.toString('utf8', start, nl)));
      start = nl + 1;
    }
    rest = start < buf.length ? buf.subarray(start) : null;
  });
}

/** Hands each length-prefixed frame to the sink, through `decode` (by default the frame's bytes as they are). */
export function readFrames(socket: TLSSocket, sink: Sink, decode: (frame: Buffer) => unknown = (frame) => frame): void {
  onFrames(socket, (frame) => sink.accept(decode(frame)));
}

/**
 * Calls `onFrame` with each length-prefixed frame read from `socket`, in order. The reads of a
 * frame that spans several (a TLS socket reads at most 16 KiB at a time) are kept apart and
 * joined once it is whole, not joined at every read: for a 256 KiB sealed batch that would copy
 * about 2 MiB, and the floor would measure its own copying.
 */
export function onFrames(socket: TLSSocket, onFrame: (frame: Buffer) => void): void {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  /** The bytes the first pending frame needs, its length prefix included (as far as known). */
  let needed = 0;
  socket.on('data', (chunk: Buffer) => {
    let buf = chunk;
    if (pendingBytes > 0) {
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes < needed) return;
      buf = Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
    }
    const start = eachFrame(buf, onFrame);
    if (start === buf.length) return;
    const rest = buf.subarray(start);
    pending = [rest];
    pendingBytes = rest.length;
    needed = rest.length >= LENGTH_BYTES ? LENGTH_BYTES + rest.readUInt32BE(0) : LENGTH_BYTES;
  });
}

/**
 * Calls `onFrame` with each whole length-prefixed frame in `buf`, in order, as a view of it;
 * returns where the first frame not wholly in `buf` begins (`buf.length` when none is).
 */
export function eachFrame(buf: Buffer, onFrame: (frame: Buffer) => void): number {
  let start = 0;
  while (buf.length - start >= LENGTH_BYTES) {
    const end = start + LENGTH_BYTES + buf.readUInt32BE(start);
    if (end > buf.length) break;
    onFrame(buf.subarray(start + LENGTH_BYTES, end));
    start = end;
  }
  return start;
}

/**
 * Writes one length-prefixed frame; false when the socket wants the sender to wait. `written`
 * is called once the socket no longer needs `frame`.
 */
export function writeFrame(socket: TLSSocket, frame: Buffer, written?: () => void): boolean {
  const header = Buffer.allocUnsafe(LENGTH_BYTES);
  header.writeUInt32BE(frame.length, 0);
  // Corked: header and bytes leave in one write, the bytes not copied into a new frame here.
  socket.cork();
  socket.write(header);
  socket.write(frame, written);
  socket.uncork();
  return hasRoom(socket);
}

/** Whether the sender may go on: fewer than HIGH_WATER bytes wait in the socket. */
export function hasRoom(socket: TLSSocket): boolean {
  return socket.writableLength < HIGH_WATER;
}

/** Resolves when the socket drained what send() left it (send() returned false). */
export async function whenDrained(socket: TLSSocket): Promise<void> {
  await once(socket, 'drain');
}

export async function listen(args: PeerArgs, onSocket: (socket: TLSSocket) => void): Promise<Receiver> {
  const server = createServer(serverTlsOptions(args.pkiDir), onSocket);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  return { port: typeof address === 'object' && address ? address.port : 0 };
}

export async function dial(args: PeerArgs): Promise<TLSSocket> {
  const socket = connect({ ...clientTlsOptions(args.pkiDir), host: '127.0.0.1', port: args.port });
  await once(socket, 'secureConnect');
  return socket;
}

export const rawTls: Transport = {
  receive(args: PeerArgs, sink: Sink): Promise<Receiver> {
    const read = args.payload === 'bytes' ? readFrames : readLines;
    return listen(args, (socket) => read(socket, sink));
  },

  async connect(args: PeerArgs): Promise<SenderConnection> {
    const socket = await dial(args);
    return {
      send(payload: Payload): boolean {
        if (Buffer.isBuffer(payload)) return writeFrame(socket, payload);
        socket.write(`${JSON.stringify(payload)}\n`);
        return hasRoom(socket);
      },
      writable: () => whenDrained(socket),
    };
  },
};
