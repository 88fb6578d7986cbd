/**
 * Reads this pod's TLS material (the bundle's CA, its certificate and key) and checks it before
 * any socket opens, so a bad Secret stops the process with a line that names the file, the
 * problem and the fix instead of failing later inside a handshake.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { FerryError } from '../errors.js';

/** Which end of the session this material is for; it decides the extended key usage needed. */
export type TlsRole = 'initiator' | 'terminator';

export interface TlsMaterial {
  role: TlsRole;
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

/** RFC 5280 extended key usage OIDs: what a TLS peer checks the presented certificate for. */
const EKU = { serverAuth: '1.3.6.1.5.5.7.3.1', clientAuth: '1.3.6.1.5.5.7.3.2', any: '2.5.29.37.0' } as const;
/** The initiator dials (TLS client), the terminator accepts (TLS server). */
const NEEDED: Record<TlsRole, { oid: string; name: keyof typeof EKU; other: TlsRole }> = {
  initiator: { oid: EKU.clientAuth, name: 'clientAuth', other: 'terminator' },
  terminator: { oid: EKU.serverAuth, name: 'serverAuth', other: 'initiator' },
};

/**
 * Checks, each failure named with its file and fix: the CA file holds a CA; this pod's
 * certificate is a leaf (not the CA itself), made for this role, matching its key, issued and
 * signed by that CA, and valid now.
 */
export function loadTlsMaterial(paths: TlsPaths, role: TlsRole, now: Date = new Date()): TlsMaterial {
  const ca = readPem(paths.caFile, 'tls.caFile', 'CA certificate');
  const cert = readPem(paths.certFile, 'tls.certFile', 'certificate');
  const key = readPem(paths.keyFile, 'tls.keyFile', 'private key');
  const caCertificate = parse(() => new X509Certificate(ca), paths.caFile, 'is not a PEM certificate');
  const certificate = parse(() => new X509Certificate(cert), paths.certFile, 'is not a PEM certificate');
  const privateKey = parse(() => createPrivateKey(key), paths.keyFile, 'is not a PEM private key');
  const subject = (c: X509Certificate): string => c.subject.replace(/\n/g, ', ');
  if (!caCertificate.ca) {
    throw certError(`${paths.caFile} (tls.caFile, ${subject(caCertificate)}) is not a CA certificate (no basicConstraints CA:TRUE)`, undefined, `point tls.caFile at the bundle's ca.crt, or ${FIX}`);
  }
  // Checked before the key: with ca.crt and ca.key as this pod's pair every other check passes,
  // and the peer would then refuse a CA presented as a client or server certificate.
  if (certificate.ca) {
    throw certError(`${paths.certFile} (tls.certFile, ${subject(certificate)}) is a CA certificate (basicConstraints CA:TRUE), not the ${role}'s own`, undefined, `point tls.certFile and tls.keyFile at the ${role}'s tls.crt and tls.key, or ${FIX}`);
  }
  const needed = NEEDED[role];
  const usages = certificate.keyUsage;
  // No extendedKeyUsage extension means no restriction (RFC 5280 4.2.1.12), as TLS peers read it.
  if (usages !== undefined && !usages.includes(needed.oid) && !usages.includes(EKU.any)) {
    const has = usages.map((oid) => Object.entries(EKU).find(([, o]) => o === oid)?.[0] ?? oid).join(', ') || 'none';
    throw certError(`${paths.certFile} (tls.certFile, ${subject(certificate)}) has extended key usage ${has}, but the ${role} needs ${needed.name} (is it the ${needed.other}'s certificate?)`, undefined, `point tls.certFile and tls.keyFile at the ${role}'s own tls.crt and tls.key, or ${FIX}`);
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw certError(`${paths.keyFile} (tls.keyFile) does not belong to the certificate ${paths.certFile} (tls.certFile)`);
  }
  if (!certificate.checkIssued(caCertificate) || !certificate.verify(caCertificate.publicKey)) {
    throw certError(`${paths.certFile} (${subject(certificate)}) is not signed by the CA in ${paths.caFile}`);
  }
  const notAfter = new Date(certificate.validTo);
  if (notAfter.getTime() <= now.getTime()) {
    throw certError(`${paths.certFile} expired on ${notAfter.toISOString()}`);
  }
  if (new Date(certificate.validFrom).getTime() > now.getTime()) {
    throw certError(`${paths.certFile} is not valid before ${new Date(certificate.validFrom).toISOString()} (check the clock)`);
  }
  return {
    role,
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

function certError(message: string, cause?: unknown, fix: string = FIX): FerryError {
  return new FerryError('FERRY_ERR_CERT', `${message}: ${fix}`, cause === undefined ? undefined : { cause });
}
