/** The bundle PKI (made by tools' ensurePki) as the options node:tls wants. */
import { readFileSync } from 'node:fs';
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
