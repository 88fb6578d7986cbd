/**
 * Signatures with a pod's long-term key (the key of its TLS certificate). ECDSA signatures use
 * the fixed-size IEEE P1363 encoding (r || s) rather than DER, so their length on the wire is
 * known from the key alone and checked exactly.
 */
import { createPublicKey, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

export interface SignatureScheme {
  /** For logs and errors: 'ECDSA P-256 SHA-256', 'Ed25519'. */
  readonly name: string;
  /** Digest passed to crypto.sign / crypto.verify; null for Ed25519, which hashes internally. */
  readonly digest: string | null;
  /** Exact signature length in bytes. */
  readonly length: number;
}

const ECDSA_SCHEMES: Record<string, SignatureScheme> = {
  prime256v1: { name: 'ECDSA P-256 SHA-256', digest: 'sha256', length: 64 },
  secp384r1: { name: 'ECDSA P-384 SHA-384', digest: 'sha384', length: 96 },
  secp521r1: { name: 'ECDSA P-521 SHA-512', digest: 'sha512', length: 132 },
};
const ED25519: SignatureScheme = { name: 'Ed25519', digest: null, length: 64 };

/** The scheme for a long-term key, or a TypeError naming what is unsupported. */
export function signatureSchemeOf(key: KeyObject): SignatureScheme {
  if (key.asymmetricKeyType === 'ed25519') return ED25519;
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve ?? '(unknown curve)';
    const scheme = ECDSA_SCHEMES[curve];
    if (scheme !== undefined) return scheme;
    throw new TypeError(`armor long-term key: EC curve ${curve} is not supported (use P-256, P-384, P-521 or Ed25519)`);
  }
  throw new TypeError(
    `armor long-term key: type ${key.asymmetricKeyType ?? key.type} is not supported (use ECDSA P-256 or Ed25519)`,
  );
}

export function signWith(privateKey: KeyObject, scheme: SignatureScheme, data: Buffer): Buffer {
  return sign(scheme.digest, data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
}

/** False for a wrong, malformed or wrong-length signature; never throws for bad input. */
export function verifyWith(publicKey: KeyObject, scheme: SignatureScheme, data: Buffer, signature: Buffer): boolean {
  if (signature.length !== scheme.length) return false;
  try {
    return verify(scheme.digest, data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature);
  } catch {
    return false;
  }
}

/** SubjectPublicKeyInfo DER of a public key, or of the public half of a private key. */
export function spkiOf(key: KeyObject): Buffer {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return publicKey.export({ type: 'spki', format: 'der' });
}
