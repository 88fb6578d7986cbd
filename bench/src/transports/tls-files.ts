/** The bundle PKI (made by tools' ensurePki) as the options node:tls wants, and a free port. */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export interface TlsFiles {
  caFile: string;
  server: { certFile: string; keyFile: string };
  client: { certFile: string; keyFile: string };
}

export function tlsFiles(pkiDir: string): TlsFiles {
  return {
    caFile: join(pkiDir, 'ca.crt'),
    server: { certFile: join(pkiDir, 'terminator', 'tls.crt'), keyFile: join(pkiDir, 'terminator', 'tls.key') },
    client: { certFile: join(pkiDir, 'initiator', 'tls.crt'), keyFile: join(pkiDir, 'initiator', 'tls.key') },
  };
}

/** Mutual TLS 1.3, the bundle CA as the only trust anchor: what Fast Ferry's transport uses. */
export function serverTlsOptions(pkiDir: string) {
  const f = tlsFiles(pkiDir);
  return {
    ca: readFileSync(f.caFile),
    cert: readFileSync(f.server.certFile),
    key: readFileSync(f.server.keyFile),
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.3' as const,
  };
}

export function clientTlsOptions(pkiDir: string) {
  const f = tlsFiles(pkiDir);
  return {
    ca: readFileSync(f.caFile),
    cert: readFileSync(f.client.certFile),
    key: readFileSync(f.client.keyFile),
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
