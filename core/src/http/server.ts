/**
 * Starts an express app on host:port and hands back a close() that also ends keep-alive
 * connections, so a draining process exits on time.
 */
import type { Express } from 'express';
import type { Server } from 'node:http';

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
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
