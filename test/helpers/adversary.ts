/**
 * An authenticated client that speaks the session protocol by hand, for the adversarial
 * suite: WebSocket over mutual TLS with a bundle certificate, the armor handshake driven step
 * by step with core's ArmorHandshake, HELLO sealed under the resulting session — and then
 * whatever misbehaviour a test wants to send (raw WebSocket frames included).
 */
import { createPrivateKey, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import WebSocket from 'ws';
import { ARMOR_EXPORTER_LABEL, ArmorHandshake, type ArmorSession } from '../../core/src/armor/index.js';
import { FrameType, PROTOCOL_VERSION } from '../../core/src/wire/constants.js';
import { decodeFrames } from '../../core/src/wire/decoder.js';
import { encodeControl } from '../../core/src/wire/encoder.js';

export interface Credentials {
  ca: string;
  cert: string;
  key: string;
}

export interface Closed {
  code: number;
  reason: string;
}

/** One connection: the WebSocket, its TLS socket, and how it ended (once it did). */
export interface Conn {
  ws: WebSocket;
  tls: TLSSocket;
  /** Our side's port: the terminator's log lines about us carry `remote=127.0.0.1:<localPort>`. */
  localPort: number;
  closed: Promise<Closed>;
  /** Binary messages received, in order (the armor handshake takes them from here). */
  next(timeoutMs?: number): Promise<Buffer>;
}

/** Dials wss://localhost:<port> with a client certificate, TLS 1.3, no compression. */
export function openConn(port: number, creds: Credentials): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://localhost:${port}`, {
      ca: readFileSync(creds.ca),
      cert: readFileSync(creds.cert),
      key: readFileSync(creds.key),
      minVersion: 'TLSv1.3',
      perMessageDeflate: false,
      maxPayload: 64 * 1024 * 1024,
    });
    const inbox: Buffer[] = [];
    const takers: Array<(buf: Buffer) => void> = [];
    ws.on('message', (data: Buffer) => {
      const taker = takers.shift();
      if (taker) taker(data);
      else inbox.push(data);
    });
    const closed = new Promise<Closed>((done) => ws.once('close', (code, reason) => done({ code, reason: reason.toString() })));
    let tls: TLSSocket | undefined;
    ws.once('upgrade', (res) => {
      tls = res.socket as TLSSocket;
    });
    ws.once('error', reject);
    ws.once('open', () => {
      ws.off('error', reject);
      // Later errors (the server cut us off mid-frame) end up in `closed`.
      ws.on('error', () => {});
      const socket = tls as TLSSocket;
      resolve({
        ws,
        tls: socket,
        localPort: socket.localPort ?? 0,
        closed,
        next(timeoutMs = 5_000) {
          const ready = inbox.shift();
          if (ready) return Promise.resolve(ready);
          return new Promise((got, fail) => {
            const timer = setTimeout(() => fail(new Error(`no message within ${timeoutMs} ms`)), timeoutMs);
            takers.push((buf) => {
              clearTimeout(timer);
              got(buf);
            });
            void closed.then((c) => {
              clearTimeout(timer);
              fail(new Error(`connection closed (${c.code} ${c.reason}) while waiting for a message`));
            });
          });
        },
      });
    });
  });
}

/** The handshake messages of one armor handshake, kept for replay attacks. */
export interface ArmorTranscript {
  init: Buffer;
  resp: Buffer;
  finish: Buffer;
}

/** Runs the armor handshake as the initiator; resolves with the established session. */
export async function armor(conn: Conn, creds: Credentials): Promise<{ session: ArmorSession; messages: ArmorTranscript }> {
  const peer = conn.tls.getPeerX509Certificate();
  if (!peer) throw new Error('the terminator presented no certificate');
  const handshake = new ArmorHandshake({
    role: 'initiator',
    exporter: conn.tls.exportKeyingMaterial(32, ARMOR_EXPORTER_LABEL, Buffer.alloc(0)),
    localPrivateKey: privateKeyOf(creds),
    peerPublicKey: peer.publicKey,
    rekey: { intervalMs: 3_600_000, messages: 1_000_000 },
  });
  const init = handshake.start() as Buffer;
  conn.ws.send(init, { binary: true });
  const resp = await conn.next();
  const step = handshake.receive(resp);
  if (!step.reply || !step.session) throw new Error('armor handshake did not complete');
  conn.ws.send(step.reply, { binary: true });
  return { session: step.session, messages: { init, resp, finish: step.reply } };
}

/** A fresh 16-hex-digit stream id: each adversarial session is its own stream. */
export function newStreamId(): string {
  return randomBytes(8).toString('hex');
}

/** The HELLO frame an initiator in mode `mode` opens a session with. */
export function helloFrame(streamId = newStreamId(), mode: 'tunnel' | 'tls' = 'tunnel'): Buffer {
  return encodeControl(FrameType.HELLO, { v: PROTOCOL_VERSION, role: 'initiator', streamId, peerStreamId: '', resumeFrom: 0, holdsFrom: 1, armor: mode });
}

/**
 * An armored session with the HELLO/WELCOME exchange done: what a legitimate initiator has
 * before it sends its first message. `send` seals a batch of session frames.
 */
export interface OpenSession {
  conn: Conn;
  armor: ArmorSession;
  messages: ArmorTranscript;
  /** The WELCOME's session id (the terminator logs it as sessionId=...). */
  sessionId: string;
  send(frames: Buffer): void;
}

export async function openSession(port: number, creds: Credentials): Promise<OpenSession> {
  const conn = await openConn(port, creds);
  const { session, messages } = await armor(conn, creds);
  conn.ws.send(session.seal(helloFrame()), { binary: true });
  const welcome = session.open(await conn.next());
  let sessionId = '';
  decodeFrames(welcome, {
    control: (_type, body) => {
      sessionId = String((body as { sessionId?: unknown }).sessionId);
    },
    data: () => {},
    ack: () => {},
    nack: () => {},
  });
  if (!sessionId) throw new Error('no WELCOME after HELLO');
  return { conn, armor: session, messages, sessionId, send: (frames) => conn.ws.send(session.seal(frames), { binary: true }) };
}

/** One DATA frame: type, flags, 48-bit seq, u32 length, payload. */
export function dataFrame(seq: number, payload: Buffer, flags = 0): Buffer {
  const out = Buffer.alloc(12 + payload.length);
  out[0] = FrameType.DATA;
  out[1] = flags;
  out.writeUIntBE(seq, 2, 6);
  out.writeUInt32BE(payload.length, 8);
  payload.copy(out, 12);
  return out;
}

/**
 * A raw, masked client WebSocket frame (RFC 6455 §5.2), written straight to the TLS socket so
 * it can say what the ws library would refuse to: unknown opcodes, lengths over maxPayload.
 */
export function rawWsFrame(opcode: number, payload: Buffer, declaredLength = payload.length): Buffer {
  const mask = randomBytes(4);
  let header: Buffer;
  if (declaredLength < 126) {
    header = Buffer.from([0x80 | opcode, 0x80 | declaredLength]);
  } else if (declaredLength < 65536) {
    header = Buffer.alloc(4);
    header[0] = 0x80 | opcode;
    header[1] = 0x80 | 126;
    header.writeUInt16BE(declaredLength, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = 0x80 | opcode;
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(declaredLength), 2);
  }
  const masked = Buffer.from(payload);
  for (let i = 0; i < masked.length; i += 1) masked[i] = (masked[i] as number) ^ (mask[i % 4] as number);
  return Buffer.concat([header, mask, masked]);
}

export function privateKeyOf(creds: Credentials): KeyObject {
  return createPrivateKey(readFileSync(creds.key));
}

export function certificateOf(path: string): X509Certificate {
  return new X509Certificate(readFileSync(path));
}
