/**
 * The reference: plain `ws` over mutual TLS 1.3, fire-and-forget, the way an application
 * would write it. JSON: ws.send(JSON.stringify(message)) (a text frame), JSON.parse on receipt.
 * Bytes: ws.send(buffer) (a binary frame), the Buffer handed on as received.
 * permessage-deflate off on both ends, as in Fast Ferry. The sender backs off while more
 * than HIGH_WATER bytes wait in the socket.
 */
import { once } from 'node:events';
import { createServer } from 'node:https';
import type { Socket } from 'node:net';
import WebSocket, { WebSocketServer, type RawData } from 'ws';
import type { Payload, Sink } from '../message.js';
import type { PeerArgs } from '../protocol.js';
import { clientTlsOptions, serverTlsOptions } from './tls-files.js';
import type { Receiver, SenderConnection, Transport } from './types.js';

const HIGH_WATER = 1024 * 1024;

export const ws: Transport = {
  async receive(args: PeerArgs, sink: Sink): Promise<Receiver> {
    const server = createServer(serverTlsOptions(args.pkiDir));
    const wss = new WebSocketServer({ server, perMessageDeflate: false, maxPayload: 4 * 1024 * 1024 });
    wss.on('connection', (socket) => {
      // binaryType is 'nodebuffer': a binary message arrives as one Buffer.
      socket.on('message', (data: RawData, isBinary: boolean) => {
        sink.accept(isBinary ? data : JSON.parse((data as Buffer).toString('utf8')));
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    return { port: typeof address === 'object' && address ? address.port : 0 };
  },

  async connect(args: PeerArgs): Promise<SenderConnection> {
    const socket = new WebSocket(`wss://127.0.0.1:${args.port}`, { ...clientTlsOptions(args.pkiDir), perMessageDeflate: false });
    let raw: Socket | undefined;
    socket.once('upgrade', (res) => {
      raw = res.socket;
    });
    await once(socket, 'open');
    const tcp = raw as Socket;
    return {
      send(payload: Payload): boolean {
        socket.send(Buffer.isBuffer(payload) ? payload : JSON.stringify(payload));
        return socket.bufferedAmount < HIGH_WATER;
      },
      writable: async () => {
        await once(tcp, 'drain');
      },
    };
  },
};
