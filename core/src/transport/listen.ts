/**
 * The terminator's wss listener: TLS 1.3 only, a client certificate required and verified
 * against the bundle's CA alone (never the system store), permessage-deflate off, maxPayload
 * set, and every stage bounded in time (TLS handshake, HTTP upgrade headers), so a slow or
 * bogus client costs a socket for seconds, not forever.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { WebSocketServer, type WebSocket } from 'ws';
import type { TlsMaterial } from './tls-material.js';

export interface ListenOptions {
  host: string;
  port: number;
  tls: TlsMaterial;
  handshakeTimeoutMs: number;
  maxPayloadBytes: number;
  onConnection(ws: WebSocket, tlsSocket: TLSSocket, req: IncomingMessage): void;
  /** A client that failed TLS (wrong CA, no certificate, TLS 1.2, plain TCP...). */
  onTlsError(err: Error, remote: string): void;
}

export interface Listener {
  server: Server;
  wss: WebSocketServer;
  /** The port actually bound (useful with port 0 in tests). */
  port: number;
  /** Swaps in new certificate material for new connections; open ones keep theirs. */
  reload(tls: TlsMaterial): void;
  close(): Promise<void>;
}

export function listen(options: ListenOptions): Promise<Listener> {
  const server = createServer({
    ...secureOptions(options.tls),
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.3',
    handshakeTimeout: options.handshakeTimeoutMs,
    headersTimeout: options.handshakeTimeoutMs,
    requestTimeout: options.handshakeTimeoutMs,
  });
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: options.maxPayloadBytes, clientTracking: true });
  server.on('tlsClientError', (err, socket) => {
    options.onTlsError(err, `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`);
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    wss.handleUpgrade(req, socket, head, (ws) => options.onConnection(ws, req.socket as TLSSocket, req));
  });
  // Anything but an upgrade on the session port is refused plainly.
  server.on('request', (_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain', connection: 'close' });
    res.end('426 Upgrade Required: this port speaks the Fast Ferry WebSocket session protocol only\n');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : options.port;
      resolve({
        server,
        wss,
        port,
        reload(tls) {
          server.setSecureContext(secureOptions(tls));
        },
        close() {
          for (const client of wss.clients) client.terminate();
          return new Promise<void>((done) => {
            wss.close(() => server.close(() => done()));
            server.closeAllConnections();
          });
        },
      });
    });
  });
}

function secureOptions(tls: TlsMaterial) {
  return { ca: tls.ca, cert: tls.cert, key: tls.key };
}
