/**
 * Reads this pod's TLS material (the bundle's CA, its certificate and key) and checks it before
 * any socket opens, so a bad Secret stops the process with a line that names the file, the
 * problem and the fix instead of failing later inside a handshake.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { FerryError } from '../errors.js';

export interface TlsMaterial {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
  certificate: X509Certificate;
  caCertificate: X509Certificate;
  privateKey: KeyObject;
  /** Seconds until the certificate expires (negative when expired). */
  secondsToExpiry(): number;
}

export interface TlsPaths {
  caFile: string;
  certFile: string;
  keyFile: string;
}

const FIX = 'regenerate with `bash deploy.sh --rotate-certs` (k3d) or delete .ferry/pki and run `bash deploy.sh --local` again';

export function loadTlsMaterial(paths: TlsPaths, now: Date = new Date()): TlsMaterial {
  const ca = readPem(paths.caFile, 'tls.caFile', 'CA certificate');
  const cert = readPem(paths.certFile, 'tls.certFile', 'certificate');
  const key = readPem(paths.keyFile, 'tls.keyFile', 'private key');
  const caCertificate = parse(() => new X509Certificate(ca), paths.caFile, 'is not a PEM certificate');
  const certificate = parse(() => new X509Certificate(cert), paths.certFile, 'is not a PEM certificate');
  const privateKey = parse(() => createPrivateKey(key), paths.keyFile, 'is not a PEM private key');
  if (!certificate.checkPrivateKey(privateKey)) {
    throw certError(`${paths.keyFile} does not belong to the certificate ${paths.certFile}`);
  }
  if (!certificate.verify(caCertificate.publicKey)) {
    throw certError(`${paths.certFile} (${certificate.subject.replace(/\n/g, ', ')}) is not signed by the CA in ${paths.caFile}`);
  }
  const notAfter = new Date(certificate.validTo);
  if (notAfter.getTime() <= now.getTime()) {
    throw certError(`${paths.certFile} expired on ${notAfter.toISOString()}`);
  }
  if (new Date(certificate.validFrom).getTime() > now.getTime()) {
    throw certError(`${paths.certFile} is not valid before ${new Date(certificate.validFrom).toISOString()} (check the clock)`);
  }
  return {
    ca,
    cert,
    key,
    certificate,
    caCertificate,
    privateKey,
    secondsToExpiry: () => Math.round((notAfter.getTime() - Date.now()) / 1000),
  };
}

function readPem(path: string, key: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw certError(`cannot read the ${what} ${path} (${key}): ${code}`, err);
  }
}

function parse<T>(fn: () => T, path: string, problem: string): T {
  try {
    return fn();
  } catch (err) {
    throw certError(`${path} ${problem}`, err);
  }
}

function certError(message: string, cause?: unknown): FerryError {
  return new FerryError('FERRY_ERR_CERT', `${message}: ${FIX}`, cause === undefined ? undefined : { cause });
}
