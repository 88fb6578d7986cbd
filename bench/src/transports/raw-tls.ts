/**
 * The floor: one mutual-TLS 1.3 socket, no acks. JSON goes as newline-delimited lines (the
 * receiver splits lines and parses each); bytes as length-prefixed frames (a 4-byte
 * big-endian length, then the bytes; the receiver hands each frame on as a Buffer, copying
 * only when a frame straddles two reads). The sender writes each message as it comes and
 * backs off while more than HIGH_WATER bytes wait.
 *
 * The sealed variant (row raw-tls-sealed, bytes only) is the tunnel's floor: the same socket,
 * each message sealed before it is framed and opened after it is read, by the armor's own
 * ArmorSession (AES-256-GCM in node:crypto, the default rekey policy). It measures what that
 * AEAD work costs on top of TLS, which no sender in armor mode `tunnel` can avoid.
 */
import { once } from 'node:events';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { CONFIG_SCHEMA } from '@fast-ferry/core';
import { ArmorSession } from '@fast-ferry/core/armor';
import type { Payload, Sink } from '../message.js';
import type { PeerArgs } from '../protocol.js';
import { clientTlsOptions, serverTlsOptions } from './tls-files.js';
import type { Receiver, SenderConnection, Transport } from './types.js';

const HIGH_WATER = 1024 * 1024;
const NEWLINE = 0x0a;
const LENGTH_BYTES = 4;

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

function readFrames(socket: TLSSocket, sink: Sink, open: (frame: Buffer) => Buffer = (frame) => frame): void {
  let rest: Buffer | null = null;
  socket.on('data', (chunk: Buffer) => {
    const buf = rest ? Buffer.concat([rest, chunk]) : chunk;
    let start = 0;
    while (buf.length - start >= LENGTH_BYTES) {
      const end = start + LENGTH_BYTES + buf.readUInt32BE(start);
      if (end > buf.length) break;
      sink.accept(open(buf.subarray(start + LENGTH_BYTES, end)));
      start = end;
    }
    rest = start < buf.length ? buf.subarray(start) : null;
  });
}

/** Writes one length-prefixed frame; false when the socket wants the sender to wait. */
function writeFrame(socket: TLSSocket, frame: Buffer): boolean {
  const header = Buffer.allocUnsafe(LENGTH_BYTES);
  header.writeUInt32BE(frame.length, 0);
  // Corked: header and bytes leave in one write, the bytes not copied into a new frame here.
  socket.cork();
  socket.write(header);
  socket.write(frame);
  socket.uncork();
  return socket.writableLength < HIGH_WATER;
}

/**
 * Fixed keys, one per direction: the floor measures the sealed data path, and the key
 * exchange, once per session, is no part of it. Never a pattern for real keys.
 */
const SENDER_KEY = 0x5e;
const RECEIVER_KEY = 0x7e;

function armorSession(role: 'sender' | 'receiver'): ArmorSession {
  const [send, receive] = role === 'sender' ? [SENDER_KEY, RECEIVER_KEY] : [RECEIVER_KEY, SENDER_KEY];
  return new ArmorSession({
    sendKey: Buffer.alloc(32, send),
    receiveKey: Buffer.alloc(32, receive),
    identity: { sessionId: 'bench-floor', localEphemeral: '', peerEphemeral: '' },
    rekey: { intervalMs: CONFIG_SCHEMA['armor.rekeyIntervalMs'].default, messages: CONFIG_SCHEMA['armor.rekeyMessages'].default },
  });
}

async function listen(args: PeerArgs, onSocket: (socket: TLSSocket) => void): Promise<Receiver> {
  const server = createServer(serverTlsOptions(args.pkiDir), onSocket);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  return { port: typeof address === 'object' && address ? address.port : 0 };
}

async function dial(args: PeerArgs): Promise<TLSSocket> {
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
        return socket.writableLength < HIGH_WATER;
      },
      writable: async () => {
        await once(socket, 'drain');
      },
    };
  },
};

export const rawTlsSealed: Transport = {
  receive(args: PeerArgs, sink: Sink): Promise<Receiver> {
    if (args.payload !== 'bytes') throw new TypeError(`row raw-tls-sealed carries bytes only, not ${args.payload}`);
    return listen(args, (socket) => {
      const armor = armorSession('receiver');
      readFrames(socket, sink, (frame) => armor.open(frame));
    });
  },

  async connect(args: PeerArgs): Promise<SenderConnection> {
    const socket = await dial(args);
    const armor = armorSession('sender');
    return {
      send(payload: Payload): boolean {
        if (!Buffer.isBuffer(payload)) throw new TypeError('row raw-tls-sealed carries bytes only');
        return writeFrame(socket, armor.seal(payload));
      },
      writable: async () => {
        await once(socket, 'drain');
      },
    };
  },
};
