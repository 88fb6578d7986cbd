/**
 * The bundle's throwaway PKI, made with the openssl CLI (node:crypto cannot issue X.509
 * certificates): one CA, a server certificate for the terminator valid for its Service DNS
 * names, and a client certificate for the initiator. ECDSA P-256 throughout. Kept in a
 * git-ignored folder (.ferry/pki), reused on the next run, re-issued with --rotate.
 *
 *   node tools/dist/pki.js ensure [--dir .ferry/pki] [--rotate]
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { INITIATOR, TERMINATOR, serviceDnsNames } from './names.js';

/** Valid for every name of the terminator Service, and for localhost (local runs and tests). */
export const TERMINATOR_SANS = [...serviceDnsNames(TERMINATOR).map((n) => `DNS:${n}`), 'DNS:localhost', 'IP:127.0.0.1'];
/** The initiator's client certificate: its Service's short and .svc names. */
export const INITIATOR_SANS = [`DNS:${INITIATOR.deployment}`, `DNS:${INITIATOR.deployment}.${INITIATOR.namespace}.svc`];

export interface CaPaths {
  cert: string;
  key: string;
}

export interface LeafOptions {
  ca: CaPaths;
  /** Output folder; tls.crt and tls.key are written there. */
  dir: string;
  commonName: string;
  sans: string[];
  usage: 'server' | 'client';
  /** Validity in days from now (default 365). */
  days?: number;
  /** Issue a certificate whose validity ended in the past (for tests of expiry handling). */
  expired?: boolean;
}

export interface PkiPaths {
  dir: string;
  ca: CaPaths;
  terminator: { cert: string; key: string };
  initiator: { cert: string; key: string };
}

function openssl(args: string[], cwd?: string): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'], ...(cwd ? { cwd } : {}) });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim() ?? '';
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error('openssl is required to make the bundle certificates: install it (apt-get install openssl / brew install openssl)');
    }
    throw new Error(`openssl ${args[0]} failed: ${stderr}`);
  }
}

function newKey(path: string): void {
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path]);
  chmodSync(path, 0o600);
}

/** A self-signed CA that may sign leaf certificates only (pathlen 0). */
export function createCa(dir: string, commonName = 'Fast Ferry bundle CA', days = 3650): CaPaths {
  mkdirSync(dir, { recursive: true });
  const ca = { cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
  newKey(ca.key);
  openssl([
    'req', '-x509', '-new', '-key', ca.key, '-sha256', '-days', String(days), '-subj', `/CN=${commonName}`,
    '-addext', 'basicConstraints=critical,CA:TRUE,pathlen:0',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-addext', 'subjectKeyIdentifier=hash',
    '-out', ca.cert,
  ]);
  return ca;
}

/** Issues a leaf certificate signed by `ca` into dir/tls.crt + dir/tls.key. */
export function issueLeaf(options: LeafOptions): { cert: string; key: string } {
  mkdirSync(options.dir, { recursive: true });
  const out = { cert: join(options.dir, 'tls.crt'), key: join(options.dir, 'tls.key') };
  const work = mkdtempSync(join(tmpdir(), 'ferry-pki-'));
  try {
    newKey(out.key);
    const csr = join(work, 'leaf.csr');
    openssl(['req', '-new', '-key', out.key, '-subj', `/CN=${options.commonName}`, '-out', csr]);
    const ext = join(work, 'leaf.ext');
    writeFileSync(ext, [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature',
      `extendedKeyUsage=${options.usage === 'server' ? 'serverAuth' : 'clientAuth'}`,
      `subjectAltName=${options.sans.join(',')}`,
      'authorityKeyIdentifier=keyid',
      '',
    ].join('\n'));
    if (options.expired) {
      signExpired(work, options.ca, csr, ext, out.cert);
    } else {
      openssl([
        'x509', '-req', '-in', csr, '-CA', options.ca.cert, '-CAkey', options.ca.key, '-set_serial', `0x${randomSerial()}`,
        '-days', String(options.days ?? 365), '-sha256', '-extfile', ext, '-out', out.cert,
      ]);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return out;
}

/** `openssl x509` cannot back-date; `openssl ca` can, given a minimal database. */
function signExpired(work: string, ca: CaPaths, csr: string, ext: string, out: string): void {
  writeFileSync(join(work, 'index.txt'), '');
  writeFileSync(join(work, 'serial'), `${randomSerial()}\n`);
  writeFileSync(join(work, 'ca.cnf'), [
    '[ ca ]', 'default_ca = local', '[ local ]', 'database = index.txt', 'new_certs_dir = .', 'serial = serial',
    'default_md = sha256', 'policy = any', 'unique_subject = no', '[ any ]', 'commonName = supplied', '',
  ].join('\n'));
  openssl([
    'ca', '-batch', '-notext', '-config', 'ca.cnf', '-cert', resolve(ca.cert), '-keyfile', resolve(ca.key), '-in', csr,
    '-startdate', '20200101000000Z', '-enddate', '20200102000000Z', '-extfile', ext, '-out', resolve(out),
  ], work);
}

function randomSerial(): string {
  return [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('').replace(/^[89a-f]/, '1');
}

/** Where the bundle PKI keeps each file in `dir` (the layout deploy.sh and the tests rely on). */
export function pkiPaths(dir: string): PkiPaths {
  return {
    dir,
    ca: { cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') },
    terminator: { cert: join(dir, 'terminator', 'tls.crt'), key: join(dir, 'terminator', 'tls.key') },
    initiator: { cert: join(dir, 'initiator', 'tls.crt'), key: join(dir, 'initiator', 'tls.key') },
  };
}

/**
 * Makes the bundle PKI in `dir` unless it is there and still valid for 30 days; `rotate`
 * re-issues the leaf certificates (and the CA when it is missing or expiring).
 */
export function ensurePki(dir: string, options: { rotate?: boolean } = {}): { paths: PkiPaths; created: boolean } {
  const paths = pkiPaths(dir);
  const all = [paths.ca.cert, paths.ca.key, paths.terminator.cert, paths.terminator.key, paths.initiator.cert, paths.initiator.key];
  const healthy = all.every((p) => existsSync(p)) && [paths.ca.cert, paths.terminator.cert, paths.initiator.cert].every((p) => validFor(p, 30));
  if (healthy && !options.rotate) return { paths, created: false };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!existsSync(paths.ca.cert) || !existsSync(paths.ca.key) || !validFor(paths.ca.cert, 60)) createCa(dir);
  issueLeaf({ ca: paths.ca, dir: join(dir, 'terminator'), commonName: 'terminator', sans: TERMINATOR_SANS, usage: 'server' });
  issueLeaf({ ca: paths.ca, dir: join(dir, 'initiator'), commonName: 'initiator', sans: INITIATOR_SANS, usage: 'client' });
  return { paths, created: true };
}

function validFor(certPath: string, days: number): boolean {
  try {
    const cert = new X509Certificate(readFileSync(certPath));
    return new Date(cert.validTo).getTime() - Date.now() > days * 86_400_000;
  } catch {
    return false;
  }
}

function main(argv: string[]): void {
  const [command, ...rest] = argv;
  const dirFlag = rest.indexOf('--dir');
  const dir = dirFlag >= 0 ? rest[dirFlag + 1] : '.ferry/pki';
  if (command !== 'ensure' || !dir) {
    process.stderr.write('usage: node tools/dist/pki.js ensure [--dir DIR] [--rotate]\n');
    process.exit(2);
  }
  const { paths, created } = ensurePki(dir, { rotate: rest.includes('--rotate') });
  process.stdout.write(`${created ? 'issued' : 'reused'} certificates in ${paths.dir}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) main(process.argv.slice(2));
