/**
 * Armor mode `tunnel`: after the wss upgrade, both ends run the armor key exchange (fresh
 * X25519 keys, signed by each pod's certificate key, bound to this TLS connection through the
 * TLS exporter), then every batch travels sealed under per-direction AES-256-GCM keys that
 * rotate inside the session. A frame the armor refuses ends the session with its coded reason.
 */
import type { KeyObject } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type WebSocket from 'ws';
import { ARMOR_EXPORTER_LABEL, ArmorHandshake, ArmorSession, type RekeyPolicy } from '../armor/index.js';
import { ArmorError, FerryError, isFerryError, messageOf } from '../errors.js';
import { SlabCarver, SlabPool } from '../wire/slab.js';
import { BaseChannel } from './channel.js';
import { DirectFrameSender, frameHeaderLength, writeFrameHeader } from './direct-frames.js';

export interface ArmorOptions {
  role: 'initiator' | 'terminator';
  ws: WebSocket;
  tlsSocket: TLSSocket;
  /** This pod's certificate key: it signs the handshake. */
  privateKey: KeyObject;
  rekey: RekeyPolicy;
  timeoutMs: number;
  /** Called with the number of new key rotations (both directions) as they happen. */
  onRekey(count: number): void;
}

/**
 * Memory for sealed frames, carved one after another for every armored channel of the process
 * (one thread: no two seal at once), so that many connections share one slab being carved
 * instead of holding one each. A sealed frame lives until the socket has written it, under
 * load long enough for V8 to promote a fresh Buffer, whose memory then waits for a full
 * mark-compact. Structured 16 KiB flood, alternating runs: the sender's peak RSS 151–170 MiB
 * with a fresh buffer per seal, 137–146 from slabs (plain ws 120–137); in a 16 KiB bytes flood
 * no change (133–141 MiB), where the ciphertext node:crypto returns for each seal, garbage until
 * the next scavenge, is most of it. Up to 8 free slabs (8 MiB) are kept.
 */
const sealedFrames = new SlabCarver(new SlabPool(1024 * 1024, 8));

export class ArmoredChannel extends BaseChannel {
  readonly #armor: ArmorSession;
  readonly #onRekey: (count: number) => void;
  /** The initiator is the WebSocket client: its frames carry the mask bit. */
  readonly #masked: boolean;
  readonly #frames: DirectFrameSender;
  #rekeys = 0;

  constructor(ws: WebSocket, tlsSocket: TLSSocket, role: ArmorOptions['role'], armor: ArmorSession, onRekey: (count: number) => void) {
    super(ws);
    this.#armor = armor;
    this.#onRekey = onRekey;
    this.#masked = role === 'initiator';
    this.#frames = new DirectFrameSender(tlsSocket, () => ws.readyState === ws.OPEN);
    ws.on('message', (data, isBinary) => this.#onMessage(data as Buffer, isBinary));
    ws.once('close', () => armor.destroy());
  }

  get identity(): Record<string, string> {
    const { sessionId, localEphemeral, peerEphemeral } = this.#armor.identity;
    return { armorSession: sessionId, localEphemeral, peerEphemeral };
  }

  send(batch: Buffer, done?: () => void): void {
    if (this.ws.readyState !== this.ws.OPEN) {
      done?.();
      return;
    }
    // Sealed into memory of its own, behind the WebSocket frame's header: the batch is not
    // needed once the seal returns, and the frame goes to the socket as one buffer.
    const sealedLength = batch.length + ArmorSession.SEAL_OVERHEAD;
    const headerLength = frameHeaderLength(sealedLength, this.#masked);
    const frame = sealedFrames.carve(headerLength + sealedLength);
    writeFrameHeader(frame.buf, sealedLength, this.#masked);
    this.#armor.sealInto(batch, frame.buf.subarray(headerLength));
    done?.();
    // The socket may hold the frame until written; only then is its memory written again.
    this.#frames.send(frame.buf, () => frame.slab.release());
    this.#countRekeys();
  }

  override close(code: number, reason: string): void {
    // Sealed frames still waiting go ahead of the close frame.
    this.#frames.flushQueued();
    super.close(code, reason);
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
    if (this.#armor.destroyed) return;
    if (!isBinary) {
      this.emit((h) => h.onError(new FerryError('FERRY_ERR_TEXT_FRAME', 'text frame refused: the session protocol is binary only')));
      return;
    }
    let plain: Buffer;
    try {
      plain = this.#armor.open(data);
    } catch (err) {
      const ferr = isFerryError(err) ? err : new ArmorError('FERRY_ERR_ARMOR_DECRYPT', messageOf(err), { cause: err });
      // Nothing more is read from a connection that sent a bad frame.
      this.#armor.destroy();
      this.emit((h) => h.onError(ferr));
      return;
    }
    this.#countRekeys();
    this.emitBatch(plain);
  }

  #countRekeys(): void {
    const total = this.#armor.rekeys.send + this.#armor.rekeys.receive;
    if (total !== this.#rekeys) {
      this.#onRekey(total - this.#rekeys);
      this.#rekeys = total;
    }
  }
}

/**
 * Runs the armor handshake on a freshly upgraded WebSocket. Resolves with the channel (frames
 * that follow the handshake in the same read are kept for the session); rejects with a coded
 * error on a bad message, a timeout, or a connection that closes first.
 */
export function armorHandshake(options: ArmorOptions): Promise<ArmoredChannel> {
  const { ws, tlsSocket, role } = options;
  return new Promise((resolve, reject) => {
    const peerCert = tlsSocket.getPeerX509Certificate();
    if (!peerCert) {
      reject(new ArmorError('FERRY_ERR_ARMOR_HANDSHAKE', 'the TLS peer presented no certificate to authenticate the armor handshake'));
      return;
    }
    let handshake: ArmorHandshake;
    try {
      handshake = new ArmorHandshake({
        role,
        // TLS 1.3 exporters treat an absent and an empty context alike (RFC 8446 §7.5).
        exporter: tlsSocket.exportKeyingMaterial(32, ARMOR_EXPORTER_LABEL, Buffer.alloc(0)),
        localPrivateKey: options.privateKey,
        peerPublicKey: peerCert.publicKey,
        rekey: options.rekey,
      });
    } catch (err) {
      reject(isFerryError(err) ? err : new ArmorError('FERRY_ERR_ARMOR_HANDSHAKE', messageOf(err), { cause: err }));
      return;
    }
    let done = false;
    const finish = (err: FerryError | null, channel?: ArmoredChannel): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      ws.off('message', onMessage);
      ws.off('close', onClose);
      if (err) reject(err);
      else resolve(channel as ArmoredChannel);
    };
    const timer = setTimeout(() => {
      finish(new FerryError('FERRY_ERR_HANDSHAKE_TIMEOUT', `armor handshake did not finish within ${options.timeoutMs} ms (session.handshakeTimeoutMs)`));
    }, options.timeoutMs);
    const onClose = (code: number): void => {
      finish(new ArmorError('FERRY_ERR_ARMOR_HANDSHAKE', `the connection closed (${code}) during the armor handshake`));
    };
    const onMessage = (data: Buffer, isBinary: boolean): void => {
      try {
        if (!isBinary) throw new ArmorError('FERRY_ERR_ARMOR_HANDSHAKE', 'text frame during the armor handshake');
        const step = handshake.receive(data);
        if (step.reply) ws.send(step.reply, { binary: true });
        if (step.session) {
          // The channel's own listener is registered before this one returns, so the
          // next message on this socket (the first sealed frame) already goes to it.
          finish(null, new ArmoredChannel(ws, tlsSocket, role, step.session, options.onRekey));
        }
      } catch (err) {
        finish(isFerryError(err) ? err : new ArmorError('FERRY_ERR_ARMOR_HANDSHAKE', messageOf(err), { cause: err }));
      }
    };
    ws.on('message', onMessage);
    ws.once('close', onClose);
    const first = handshake.start();
    if (first) ws.send(first, { binary: true });
  });
}
