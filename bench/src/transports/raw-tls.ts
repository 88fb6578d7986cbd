/**
 * The floor: one mutual-TLS 1.3 socket carrying newline-delimited JSON, no framing beyond the
 * newline, no acks. The sender writes each line as it comes and backs off while more than
 * HIGH_WATER bytes wait; the receiver splits lines and parses each.
 */
import { once } from 'node:events';
import { connect, createServer, type TLSSocket } from 'node:tls';
import type { BenchMessage, Sink } from '../message.js';
import type { PeerArgs } from '../protocol.js';
import { clientTlsOptions, serverTlsOptions } from './tls-files.js';
import type { Receiver, SenderConnection, Transport } from './types.js';

const HIGH_WATER = 1024 * 1024;
const NEWLINE = 0x0a;

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

export const rawTls: Transport = {
  async receive(args: PeerArgs, sink: Sink): Promise<Receiver> {
    const server = createServer(serverTlsOptions(args.pkiDir), (socket) => readLines(socket, sink));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    return { port: typeof address === 'object' && address ? address.port : 0 };
  },

  async connect(args: PeerArgs): Promise<SenderConnection> {
    const socket = connect({ ...clientTlsOptions(args.pkiDir), host: '127.0.0.1', port: args.port });
    await once(socket, 'secureConnect');
    return {
      send(message: BenchMessage): boolean {
        socket.write(`${JSON.stringify(message)}\n`);
        return socket.writableLength < HIGH_WATER;
      },
      writable: async () => {
        await once(socket, 'drain');
      },
    };
  },
};
