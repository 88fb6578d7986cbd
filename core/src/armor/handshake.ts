/**
 * The armor handshake: a signed ephemeral X25519 exchange bound to the TLS connection, in the
 * SIGMA-I shape TLS 1.3 itself uses (ephemeral DH, then each side signs the transcript with its
 * certificate key). Three messages, over the already-authenticated TLS channel:
 *
 *   I → T  INIT    ephemeral public key, nonce
 *   T → I  RESP    ephemeral public key, nonce, signature(T's cert key, TH1)
 *   I → T  FINISH  signature(I's cert key, TH2)
 *
 * TH1/TH2 (key-schedule.ts) hash the TLS exporter, both certificate public keys and the
 * messages so far; the signed context names the signer's role. So a handshake cannot be moved
 * to another TLS connection (exporter), replayed (fresh ephemeral keys and nonces on both
 * sides), reflected (role contexts), or completed by anyone but the holder of the certificate
 * key the peer presented in TLS. Identities are in the signed transcript (as in ISO 9798-3)
 * rather than under a MAC as in SIGMA; key confirmation is implicit in the first sealed frame.
 *
 * The initiator's session is ready once it sends FINISH; the terminator's once FINISH verifies.
 *
 * States, for log lines:
 *   initiator   new → awaiting-resp → established
 *   terminator  awaiting-init → awaiting-finish → established
 *   either      → failed (after any error; every later call throws)
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { ArmorError } from '../errors.js';
import {
  EXPORTER_LENGTH,
  HANDSHAKE_NONCE_LENGTH,
  INITIATOR_SIGNATURE_CONTEXT,
  MessageType,
  SIGNATURE_PAD,
  TERMINATOR_SIGNATURE_CONTEXT,
} from './constants.js';
import {
  decodeHandshakeMessage,
  describeMessageType,
  encodeFinish,
  encodeInit,
  encodeRespSignedPart,
  encodeRespWithSignature,
} from './frames.js';
import type { HandshakeMessage } from './frames.js';
import {
  Transcript,
  deriveSessionKeys,
  x25519PublicKeyFromRaw,
  x25519RawPublicKey,
  x25519SharedSecret,
} from './key-schedule.js';
import { ArmorSession, validateRekeyPolicy } from './session.js';
import type { RekeyPolicy } from './session.js';
import { signWith, signatureSchemeOf, spkiOf, verifyWith } from './signature.js';
import type { SignatureScheme } from './signature.js';

export { ARMOR_EXPORTER_LABEL } from './constants.js';

export type ArmorRole = 'initiator' | 'terminator';

export type ArmorHandshakeState =
  | 'new'
  | 'awaiting-resp'
  | 'awaiting-init'
  | 'awaiting-finish'
  | 'established'
  | 'failed';

export interface ArmorHandshakeOptions {
  role: ArmorRole;
  /**
   * 32 bytes from tlsSocket.exportKeyingMaterial(32, ARMOR_EXPORTER_LABEL) — binds the handshake
   * to this TLS connection.
   */
  exporter: Buffer;
  /** This pod's long-term key: the private key of its TLS certificate (ECDSA P-256 expected; Ed25519 works). */
  localPrivateKey: KeyObject;
  /** The peer's long-term public key: the public key of the certificate the peer presented in TLS. */
  peerPublicKey: KeyObject;
  rekey: RekeyPolicy;
  /** Injectable clock (milliseconds, monotonic) for rekey tests. */
  now?: () => number;
  /** Test-only injection of the ephemeral key and nonce, for known-answer tests. */
  ephemeral?: { privateKey: KeyObject; nonce: Buffer };
}

export interface ArmorHandshakeStep {
  /** A handshake message to send to the peer, if any. */
  reply?: Buffer;
  /** The established session, once the handshake is complete on this side. */
  session?: ArmorSession;
}

export class ArmorHandshake {
  readonly role: ArmorRole;
  readonly #options: ArmorHandshakeOptions;
  readonly #localScheme: SignatureScheme;
  readonly #peerScheme: SignatureScheme;
  readonly #transcript: Transcript;
  readonly #localEphemeralPublic: Buffer;
  readonly #nonce: Buffer;
  /** Dropped as soon as the shared secret is computed. */
  #ephemeralPrivate: KeyObject | undefined;
  #state: ArmorHandshakeState;
  #peerEphemeralPublic: Buffer | undefined;
  /** Terminator only: the session built at INIT, handed out once FINISH verifies. */
  #pendingSession: ArmorSession | undefined;

  constructor(opts: ArmorHandshakeOptions) {
    validateOptions(opts);
    this.role = opts.role;
    this.#options = opts;
    this.#localScheme = signatureSchemeOf(opts.localPrivateKey);
    this.#peerScheme = signatureSchemeOf(opts.peerPublicKey);

    const localSpki = spkiOf(opts.localPrivateKey);
    const peerSpki = spkiOf(opts.peerPublicKey);
    this.#transcript =
      opts.role === 'initiator'
        ? new Transcript(opts.exporter, localSpki, peerSpki)
        : new Transcript(opts.exporter, peerSpki, localSpki);

    const ephemeral = opts.ephemeral ?? {
      privateKey: generateKeyPairSync('x25519').privateKey,
      nonce: randomBytes(HANDSHAKE_NONCE_LENGTH),
    };
    this.#ephemeralPrivate = ephemeral.privateKey;
    this.#localEphemeralPublic = x25519RawPublicKey(ephemeral.privateKey);
    this.#nonce = ephemeral.nonce;
    this.#state = opts.role === 'initiator' ? 'new' : 'awaiting-init';
  }

  /** Where the handshake is, for log lines. */
  get state(): ArmorHandshakeState {
    return this.#state;
  }

  /** Initiator: returns INIT, the first handshake message. Terminator: returns null (it waits for INIT). */
  start(): Buffer | null {
    if (this.role === 'terminator') return null;
    if (this.#state !== 'new') throw this.#fail('start() called twice');
    const init = encodeInit(this.#localEphemeralPublic, this.#nonce);
    this.#transcript.update(init);
    this.#state = 'awaiting-resp';
    return init;
  }

  /**
   * Feed one handshake message from the peer. Returns a reply to send (maybe), and the
   * established session once complete. Throws ArmorError('FERRY_ERR_ARMOR_HANDSHAKE') on any
   * failure, after which the handshake is dead.
   */
  receive(message: Buffer): ArmorHandshakeStep {
    let decoded: HandshakeMessage;
    try {
      if (this.#state === 'failed') throw new ArmorError('FERRY_ERR_ARMOR_HANDSHAKE', 'handshake already failed');
      decoded = decodeHandshakeMessage(message);
    } catch (err) {
      throw this.#fail(err);
    }
    try {
      switch (this.#state) {
        case 'awaiting-init':
          if (decoded.type === MessageType.INIT) return this.#onInit(message, decoded.ephemeralPublicKey);
          break;
        case 'awaiting-resp':
          if (decoded.type === MessageType.RESP) {
            return this.#onResp(message, decoded.ephemeralPublicKey, decoded.signature);
          }
          break;
        case 'awaiting-finish':
          if (decoded.type === MessageType.FINISH) return this.#onFinish(decoded.signature);
          break;
        default:
          break;
      }
      throw new ArmorError(
        'FERRY_ERR_ARMOR_HANDSHAKE',
        `unexpected ${describeMessageType(decoded.type)} while the ${this.role} is ${this.#state}`,
      );
    } catch (err) {
      throw this.#fail(err);
    }
  }

  /** Terminator: INIT → RESP. Derives the keys now; the session is released only after FINISH. */
  #onInit(init: Buffer, peerEphemeral: Buffer): ArmorHandshakeStep {
    this.#transcript.update(init);
    const respSignedPart = encodeRespSignedPart(this.#localEphemeralPublic, this.#nonce);
    this.#transcript.update(respSignedPart);
    const th1 = this.#transcript.snapshot();

    this.#pendingSession = this.#deriveSession(Buffer.from(peerEphemeral), th1);
    const content = signedContent(TERMINATOR_SIGNATURE_CONTEXT, th1);
    const signature = signWith(this.#options.localPrivateKey, this.#localScheme, content);
    const resp = encodeRespWithSignature(respSignedPart, signature);
    this.#transcript.update(resp.subarray(respSignedPart.length));
    this.#state = 'awaiting-finish';
    return { reply: resp };
  }

  /** Initiator: RESP → FINISH + session. */
  #onResp(resp: Buffer, peerEphemeral: Buffer, signature: Buffer): ArmorHandshakeStep {
    const signatureStart = resp.length - signature.length - 2;
    this.#transcript.update(resp.subarray(0, signatureStart));
    const th1 = this.#transcript.snapshot();
    const content = signedContent(TERMINATOR_SIGNATURE_CONTEXT, th1);
    if (!verifyWith(this.#options.peerPublicKey, this.#peerScheme, content, signature)) {
      throw new ArmorError(
        'FERRY_ERR_ARMOR_HANDSHAKE',
        `RESP signature does not verify with the terminator's certificate key (${this.#peerScheme.name}): ` +
          'wrong key, other TLS connection, replayed, or tampered',
      );
    }
    this.#transcript.update(resp.subarray(signatureStart));
    const th2 = this.#transcript.snapshot();

    const session = this.#deriveSession(Buffer.from(peerEphemeral), th1);
    const finish = encodeFinish(
      signWith(this.#options.localPrivateKey, this.#localScheme, signedContent(INITIATOR_SIGNATURE_CONTEXT, th2)),
    );
    this.#state = 'established';
    return { reply: finish, session };
  }

  /** Terminator: FINISH → session. */
  #onFinish(signature: Buffer): ArmorHandshakeStep {
    const th2 = this.#transcript.snapshot();
    const content = signedContent(INITIATOR_SIGNATURE_CONTEXT, th2);
    if (!verifyWith(this.#options.peerPublicKey, this.#peerScheme, content, signature)) {
      throw new ArmorError(
        'FERRY_ERR_ARMOR_HANDSHAKE',
        `FINISH signature does not verify with the initiator's certificate key (${this.#peerScheme.name}): ` +
          'wrong key, other TLS connection, replayed, or tampered',
      );
    }
    const session = this.#pendingSession;
    if (session === undefined) throw new ArmorError('FERRY_ERR_ARMOR_HANDSHAKE', 'FINISH before keys were derived');
    this.#pendingSession = undefined;
    this.#state = 'established';
    return { session };
  }

  /**
   * X25519 + HKDF → ArmorSession. Erasure, as far as node:crypto allows: the shared secret is a
   * Buffer we own, zeroed right after HKDF. The ephemeral private key is a KeyObject, which
   * node:crypto gives no way to wipe: we drop our reference, and OpenSSL clears the key when
   * the garbage collector frees it. Node's own copies of HKDF inputs are freed with
   * OPENSSL_clear_free. The derived keys are Buffers owned by the session, zeroed on rotation
   * and on destroy().
   */
  #deriveSession(peerEphemeral: Buffer, th1: Buffer): ArmorSession {
    const privateKey = this.#ephemeralPrivate;
    if (privateKey === undefined) throw new ArmorError('FERRY_ERR_ARMOR_HANDSHAKE', 'ephemeral key already used');
    this.#ephemeralPrivate = undefined;
    this.#peerEphemeralPublic = peerEphemeral;

    const shared = x25519SharedSecret(privateKey, x25519PublicKeyFromRaw(peerEphemeral));
    const keys = deriveSessionKeys(shared, th1);
    shared.fill(0);

    const initiator = this.role === 'initiator';
    return new ArmorSession({
      sendKey: initiator ? keys.initiatorToTerminator : keys.terminatorToInitiator,
      receiveKey: initiator ? keys.terminatorToInitiator : keys.initiatorToTerminator,
      identity: {
        sessionId: keys.sessionId.toString('hex'),
        localEphemeral: this.#localEphemeralPublic.toString('hex'),
        peerEphemeral: peerEphemeral.toString('hex'),
      },
      rekey: this.#options.rekey,
      ...(this.#options.now === undefined ? {} : { now: this.#options.now }),
    });
  }

  /** Move to 'failed', drop secrets, and return the error to throw (wrapping non-armor errors). */
  #fail(err: unknown): ArmorError {
    this.#state = 'failed';
    this.#ephemeralPrivate = undefined;
    this.#pendingSession?.destroy();
    this.#pendingSession = undefined;
    if (err instanceof ArmorError) return err;
    if (typeof err === 'string') return new ArmorError('FERRY_ERR_ARMOR_HANDSHAKE', err);
    return new ArmorError('FERRY_ERR_ARMOR_HANDSHAKE', `armor handshake failed: ${String(err)}`, { cause: err });
  }

  /** The peer's ephemeral public key once known (hex), for a log line on failure. */
  get peerEphemeral(): string | undefined {
    return this.#peerEphemeralPublic?.toString('hex');
  }
}

/** 64 spaces | role context | 0x00 | transcript hash — TLS 1.3's CertificateVerify layout. */
function signedContent(context: string, transcriptHash: Buffer): Buffer {
  return Buffer.concat([SIGNATURE_PAD, Buffer.from(context, 'utf8'), Buffer.alloc(1), transcriptHash]);
}

function validateOptions(opts: ArmorHandshakeOptions): void {
  if (opts.role !== 'initiator' && opts.role !== 'terminator') {
    throw new TypeError(`armor role must be 'initiator' or 'terminator', got ${String(opts.role)}`);
  }
  if (!Buffer.isBuffer(opts.exporter) || opts.exporter.length !== EXPORTER_LENGTH) {
    throw new TypeError(`armor exporter must be a ${EXPORTER_LENGTH}-byte Buffer from exportKeyingMaterial`);
  }
  if (opts.localPrivateKey.type !== 'private') {
    throw new TypeError(`armor localPrivateKey must be a private KeyObject, got a ${opts.localPrivateKey.type} key`);
  }
  if (opts.peerPublicKey.type !== 'public') {
    throw new TypeError(`armor peerPublicKey must be a public KeyObject, got a ${opts.peerPublicKey.type} key`);
  }
  validateRekeyPolicy(opts.rekey);
  if (opts.ephemeral !== undefined) {
    if (opts.ephemeral.privateKey.asymmetricKeyType !== 'x25519' || opts.ephemeral.privateKey.type !== 'private') {
      throw new TypeError('armor ephemeral.privateKey must be an X25519 private key');
    }
    if (opts.ephemeral.nonce.length !== HANDSHAKE_NONCE_LENGTH) {
      throw new TypeError(`armor ephemeral.nonce must be ${HANDSHAKE_NONCE_LENGTH} bytes`);
    }
  }
}
