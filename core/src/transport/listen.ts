/**
 * The terminator's wss listener: TLS 1.3 only, a client certificate required and verified
 * against the bundle's CA alone (never the system store), permessage-deflate off, maxPayload
 * set, and every stage bounded in time (TLS handshake, HTTP upgrade headers), so a slow or
 * bogus client costs a socket for seconds, not forever.
 *
 * Bounded in number too: at most `maxPending` connections at once may be anything but a
 * settled session (see `Listener.settled`); the next one is closed at accept, before Node
 * makes a socket or a TLS state for it, so a flood of strangers costs a fixed amount of
 * memory whatever its size. Established sessions are not counted: a flood cannot end them.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { DropArgument, Socket } from 'node:net';
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
  /** Most connections at once that have not become a session yet (session.maxPendingHandshakes). */
  maxPending: number;
  onConnection(ws: WebSocket, tlsSocket: TLSSocket, req: IncomingMessage): void;
  /** A client that failed TLS (wrong CA, no certificate, TLS 1.2, plain TCP...). */
  onTlsError(err: Error, remote: string): void;
  /**
   * A TLS-authenticated client whose upgrade request was refused before it became a WebSocket:
   * unparsable HTTP, or headers not complete within handshakeTimeoutMs (a slowloris).
   */
  onUpgradeError?(err: Error, remote: string): void;
  /** A connection closed at accept because `maxPending` connections were already pending. */
  onRefused(remote: string): void;
}

export interface Listener {
  server: Server;
  /** The port actually bound (useful with port 0 in tests). */
  port: number;
  /**
   * The connection on `tlsSocket` became a session: it no longer counts against maxPending,
   * until it closes.
   */
  settled(tlsSocket: TLSSocket): void;
  /** Swaps in new certificate material for new connections; open ones keep theirs. */
  reload(tls: TlsMaterial): void;
  close(): Promise<void>;
}

export function listen(options: ListenOptions): Promise<Listener> {
  const server = createServer({
    ...secureOptions(options.tls),
    requestCert: true,
    // The client certificate is checked in 'secureConnection' below instead of by OpenSSL
    // during the handshake: under TLS 1.3 a handshake-time refusal reaches the server only as
    // "socket hang up", while this way the log names the cause. The socket is destroyed
    // before the HTTP layer reads a byte from it.
    rejectUnauthorized: false,
    minVersion: 'TLSv1.3',
    handshakeTimeout: options.handshakeTimeoutMs,
    headersTimeout: options.handshakeTimeoutMs,
    requestTimeout: options.handshakeTimeoutMs,
    // Node checks headersTimeout/requestTimeout only this often (30 s by default), so without
    // it a client dribbling its upgrade headers holds a socket for 30 s, not handshakeTimeoutMs.
    connectionsCheckingInterval: Math.max(25, Math.floor(options.handshakeTimeoutMs / 4)),
  });
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: options.maxPayloadBytes, clientTracking: true });
  // The pending cap is net.Server's own maxConnections, moved up by one for every settled
  // session: Node compares it in its accept callback and closes the handle there ('drop').
  let settledCount = 0;
  const settledSockets = new WeakSet<TLSSocket>();
  const applyCap = (): void => {
    server.maxConnections = settledCount + options.maxPending;
  };
  applyCap();
  server.on('drop', (data?: DropArgument) => options.onRefused(address(data?.remoteAddress, data?.remotePort)));
  // The peer's address, taken at accept: once a timeout destroyed the socket it is gone, and
  // the line about that timeout would say `?:?`.
  const remotes = new WeakMap<Duplex, string>();
  server.prependListener('connection', (raw: Socket) => {
    remotes.set(raw, address(raw.remoteAddress, raw.remotePort));
  });
  const remoteOf = (socket: Duplex): string => {
    // A server-side TLSSocket keeps the TCP socket it wraps as _parent (no public accessor).
    const raw = (socket as { _parent?: Duplex })._parent;
    const tls = socket as TLSSocket;
    return (raw && remotes.get(raw)) ?? remotes.get(socket) ?? address(tls.remoteAddress, tls.remotePort);
  };
  // Sockets that passed TLS and the certificate check: only their errors are HTTP errors.
  const established = new WeakSet<Duplex>();
  server.prependListener('secureConnection', (socket: TLSSocket) => {
    if (socket.authorized) {
      established.add(socket);
      return;
    }
    options.onTlsError(new ClientCertificateError(socket), remoteOf(socket));
    socket.destroy();
  });
  server.on('tlsClientError', (err, socket) => {
    options.onTlsError(err, remoteOf(socket));
  });
  // With a listener here Node leaves the answer to us: say why in the status line and close.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (!established.has(socket)) {
      // A TLS failure: 'tlsClientError' above reported it already.
      socket.destroy();
      return;
    }
    const remote = remoteOf(socket);
    if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') options.onUpgradeError?.(err, remote);
    // As Node's own default handler does: a one-line answer, then the socket is destroyed.
    if (socket.writable && (socket as TLSSocket).bytesWritten === 0) {
      const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
      socket.write(`HTTP/1.1 ${status}\r\nconnection: close\r\n\r\n`);
    }
    socket.destroy();
  });
  // An upgrade request ws refuses (bad Sec-WebSocket-Key or version, wrong path...): ws answers
  // 400 itself; this makes the refusal a logged, counted one.
  wss.on('wsClientError', (err: Error, socket: Duplex) => {
    options.onUpgradeError?.(err, remoteOf(socket));
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
        port,
        settled(tlsSocket) {
          if (settledSockets.has(tlsSocket) || tlsSocket.destroyed) return;
          settledSockets.add(tlsSocket);
          settledCount += 1;
          applyCap();
          tlsSocket.once('close', () => {
            settledCount -= 1;
            applyCap();
          });
        },
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

/** Why a client certificate was refused, in words, with OpenSSL's code kept for the metric. */
export class ClientCertificateError extends Error {
  readonly code: string;
  constructor(socket: TLSSocket) {
    const cert = socket.getPeerX509Certificate();
    const raw = String(socket.authorizationError ?? 'UNKNOWN');
    const code = cert ? raw : 'NO_CLIENT_CERTIFICATE';
    const subject = cert ? ` (${cert.subject.replace(/\n/g, ', ')}, issued by ${cert.issuer.replace(/\n/g, ', ')})` : '';
    super(`client certificate refused: ${CERT_PROBLEMS[code] ?? code}${subject}`);
    this.code = code;
  }
}

const CERT_PROBLEMS: Record<string, string> = {
  NO_CLIENT_CERTIFICATE: 'no client certificate was presented (the initiator needs tls.certFile/tls.keyFile)',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "it was not issued by the bundle's CA",
  UNABLE_TO_GET_ISSUER_CERT: "it was not issued by the bundle's CA",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "it was not issued by the bundle's CA",
  DEPTH_ZERO_SELF_SIGNED_CERT: "it is self-signed, not issued by the bundle's CA",
  SELF_SIGNED_CERT_IN_CHAIN: "its chain ends in a CA other than the bundle's",
  CERT_HAS_EXPIRED: 'it has expired',
  CERT_NOT_YET_VALID: 'it is not valid yet (check the clocks)',
  CERT_SIGNATURE_FAILURE: 'its signature does not verify',
  INVALID_PURPOSE: 'it is not a client certificate (extendedKeyUsage clientAuth missing)',
};

function address(host: string | undefined, port: number | undefined): string {
  return `${host ?? '?'}:${port ?? '?'}`;
}

function secureOptions(tls: TlsMaterial) {
  return { ca: tls.ca, cert: tls.cert, key: tls.key };
}
