/**
 * Starts an express app on host:port and hands back a close() that also ends keep-alive
 * connections, so a draining process exits on time, but only after the responses in flight
 * were written.
 *
 * A request must arrive whole (headers and body) within requestTimeoutMs, or it is answered
 * 408 FERRY_ERR_REQUEST_TIMEOUT and its connection closed: without that bound, a client that
 * trickles its body a byte at a time holds a connection (and a parser) for as long as it likes.
 * Node enforces the bound itself (server.headersTimeout / requestTimeout); the time an answer
 * takes once the request is complete (on_trigger, the acknowledgement) is not counted.
 */
import type { Express } from 'express';
import { createServer, STATUS_CODES, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { ErrorCodes, type ErrorCode } from '../errors.js';

/** How long close() waits for responses in flight before cutting their connections. */
const RESPONSE_GRACE_MS = 1000;

/** The default bound on receiving one whole request, headers and body. */
export const REQUEST_TIMEOUT_MS = 10_000;

export interface ServeOptions {
  /** How long one request (headers and body) may take to arrive; REQUEST_TIMEOUT_MS by default. */
  requestTimeoutMs?: number;
}

export interface HttpServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/** Sockets whose request ran out of time, with the bound: the app sees their requests end as aborted. */
const timedOut = new WeakMap<Socket, number>();

/** The bound in ms when this connection was cut because its request did not arrive in time. */
export function requestTimedOutAfter(socket: Socket): number | undefined {
  return timedOut.get(socket);
}

export function serve(app: Express, host: string, port: number, options: ServeOptions = {}): Promise<HttpServer> {
  const requestTimeoutMs = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const server = createServer(
      {
        requestTimeout: requestTimeoutMs,
        // The whole request is bounded by requestTimeout already; headers get no longer.
        headersTimeout: requestTimeoutMs,
        // Node looks for expired requests only this often (30 s by default), so a request is
        // cut between requestTimeoutMs and 5 % later.
        connectionsCheckingInterval: Math.max(50, Math.floor(requestTimeoutMs / 20)),
      },
      app,
    );
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => answerClientError(err, socket, requestTimeoutMs));
    server.listen(port, host);
    server.once('error', reject);
    server.once('listening', () => {
      server.off('error', reject);
      const address = server.address();
      resolve({
        server,
        port: typeof address === 'object' && address ? address.port : port,
        close: () =>
          new Promise<void>((done) => {
            // Stop accepting, let responses in flight be written (callers must hear why
            // their message was refused), then cut whatever still hangs on.
            server.close(() => done());
            server.closeIdleConnections();
            setTimeout(() => server.closeAllConnections(), RESPONSE_GRACE_MS).unref();
          }),
      });
    });
  });
}

/**
 * Node's own answer to a request it cannot hand to the app (timed out, malformed, headers too
 * large), as a coded JSON body like every other answer. As in Node's default handler, nothing
 * is written when an answer to this connection has started already, so the peer never gets a
 * corrupted response.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Socket, requestTimeoutMs: number): void {
  let code: ErrorCode;
  let message: string;
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    timedOut.set(socket, requestTimeoutMs);
    code = 'FERRY_ERR_REQUEST_TIMEOUT';
    message = `the request (headers and body) did not arrive within ${requestTimeoutMs} ms; send it whole, at once`;
  } else if (err.code === 'HPE_HEADER_OVERFLOW') {
    code = 'FERRY_ERR_HEADERS_TOO_LARGE';
    message = 'the request headers are larger than the server accepts (16 KiB)';
  } else {
    code = 'FERRY_ERR_BAD_REQUEST';
    message = `malformed HTTP request: ${err.message}${err.code ? ` (${err.code})` : ''}`;
  }
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (!socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const status = ErrorCodes[code].http;
  const body = JSON.stringify({ error: code, message });
  // The server keeps half-open connections, so the socket is destroyed once the answer is
  // flushed rather than left for the client to close; a client that never reads loses it too.
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`, () => socket.destroy());
  setTimeout(() => socket.destroy(), RESPONSE_GRACE_MS).unref();
}
