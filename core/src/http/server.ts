/**
 * Starts an express app on host:port and hands back a close() that also ends keep-alive
 * connections, so a draining process exits on time, but only after the responses in flight
 * were written.
 */
import type { Express } from 'express';
import type { Server } from 'node:http';

/** How long close() waits for responses in flight before cutting their connections. */
const RESPONSE_GRACE_MS = 1000;

export interface HttpServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

export function serve(app: Express, host: string, port: number): Promise<HttpServer> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host);
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
