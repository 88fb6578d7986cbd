/** The bundle PKI (made by tools' ensurePki) as the options node:tls wants, and a free port. */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { pkiPaths } from '@fast-ferry/tools/dist/pki.js';

/** Mutual TLS 1.3, the bundle CA as the only trust anchor: what Fast Ferry's transport uses. */
export function serverTlsOptions(pkiDir: string) {
  const f = pkiPaths(pkiDir);
  return {
    ca: readFileSync(f.ca.cert),
    cert: readFileSync(f.terminator.cert),
    key: readFileSync(f.terminator.key),
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.3' as const,
  };
}

export function clientTlsOptions(pkiDir: string) {
  const f = pkiPaths(pkiDir);
  return {
    ca: readFileSync(f.ca.cert),
    cert: readFileSync(f.initiator.cert),
    key: readFileSync(f.initiator.key),
    servername: 'localhost',
    rejectUnauthorized: true,
    minVersion: 'TLSv1.3' as const,
  };
}

/** A port that was free a moment ago (the runtimes' config does not accept port 0 for HTTP). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
