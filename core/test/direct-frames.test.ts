/**
 * The armored channel writes its sealed batches as WebSocket frames of its own
 * (transport/direct-frames.ts) to the same socket ws writes to: the frames must be exactly what
 * ws would have written, a real ws peer must read them as binary messages in order, only one
 * may be in the socket at a time (that is the point of them), and frames still queued when the
 * channel closes must reach the peer before its close frame. Real mutual TLS between the
 * session listener and dialer.
 */
import assert from 'node:assert/strict';
import type { TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import type WebSocket from 'ws';
import * as wsModule from 'ws';
import { dial } from '../src/transport/dial.js';
import { DirectFrameSender, frameHeaderLength, writeFrameHeader } from '../src/transport/direct-frames.js';
import { listen, type Listener } from '../src/transport/listen.js';
import { loadTlsMaterial } from '../src/transport/tls-material.js';
import { makeTestPki, type TestPki } from '../../test/helpers/pki.js';

/** ws's own frame builder (its Sender export, not in its typings): what ws.send() writes. */
const wsFrame = (wsModule as unknown as { Sender: { frame(data: Buffer, options: object): Buffer[] } }).Sender.frame;

function wsHeader(payloadLength: number, masked: boolean): Buffer {
  const zeroMask = (mask: Buffer): void => void mask.fill(0);
  const [header] = wsFrame(Buffer.alloc(payloadLength), { fin: true, rsv1: false, opcode: 2, mask: masked, readOnly: false, maskBuffer: Buffer.alloc(4), generateMask: zeroMask });
  return (header as Buffer).subarray(0, frameHeaderLength(payloadLength, masked));
}

function framed(payload: Buffer, masked: boolean): Buffer {
  const headerLength = frameHeaderLength(payload.length, masked);
  const frame = Buffer.alloc(headerLength + payload.length);
  writeFrameHeader(frame, payload.length, masked);
  payload.copy(frame, headerLength);
  return frame;
}

let pki: TestPki;
before(() => {
  pki = makeTestPki();
});
after(() => pki.cleanup());

interface Pair {
  client: { ws: WebSocket; tlsSocket: TLSSocket };
  server: { ws: WebSocket; tlsSocket: TLSSocket };
  listener: Listener;
}

async function connectedPair(): Promise<Pair> {
  let accepted!: (s: Pair['server']) => void;
  const server = new Promise<Pair['server']>((resolve) => (accepted = resolve));
  const listener = await listen({
    host: '127.0.0.1',
    port: 0,
    tls: loadTlsMaterial({ caFile: pki.ca.cert, certFile: pki.terminator.cert, keyFile: pki.terminator.key }, 'terminator'),
    handshakeTimeoutMs: 5_000,
    maxPayloadBytes: 16 * 1024 * 1024,
    maxPending: 4,
    onConnection: (ws, tlsSocket) => accepted({ ws, tlsSocket }),
    onTlsError: () => {},
    onRefused: () => {},
  });
  const client = await dial({
    url: `wss://localhost:${listener.port}`,
    serverName: '',
    tls: loadTlsMaterial({ caFile: pki.ca.cert, certFile: pki.initiator.cert, keyFile: pki.initiator.key }, 'initiator'),
    timeoutMs: 5_000,
    maxPayloadBytes: 16 * 1024 * 1024,
  });
  return { client, server: await server, listener };
}

function messages(ws: WebSocket, count: number): Promise<Buffer[]> {
  const got: Buffer[] = [];
  return new Promise((resolve, reject) => {
    ws.on('message', (data, isBinary) => {
      if (!isBinary) reject(new Error('a text frame arrived'));
      got.push(data as Buffer);
      if (got.length === count) resolve(got);
    });
    ws.once('close', () => reject(new Error(`closed after ${got.length} of ${count} messages`)));
  });
}

describe('direct WebSocket frames (the armored channel)', () => {
  it('writes the header ws writes, for every length form, masked (zero key) and not', () => {
    for (const length of [0, 1, 125, 126, 127, 65_535, 65_536, 300_000]) {
      for (const masked of [true, false]) {
        const ours = Buffer.alloc(frameHeaderLength(length, masked));
        writeFrameHeader(ours, length, masked);
        assert.deepEqual(ours, wsHeader(length, masked), `header for ${length} bytes, ${masked ? 'masked' : 'unmasked'}`);
      }
    }
  });

  it('a real ws peer reads them in order both ways, and only one is in the socket at a time', async () => {
    const { client, server, listener } = await connectedPair();
    try {
      const payloads = Array.from({ length: 6 }, (_, i) => Buffer.alloc(256 * 1024 + i, i + 1));
      for (const [from, to, masked] of [
        [client, server, true],
        [server, client, false],
      ] as const) {
        const arrived = messages(to.ws, payloads.length);
        const sender = new DirectFrameSender(from.tlsSocket, () => from.ws.readyState === from.ws.OPEN);
        let written = 0;
        for (const payload of payloads) sender.send(framed(payload, masked), () => (written += 1));
        assert.ok(from.tlsSocket.writableLength <= framed(payloads[0] as Buffer, masked).length + 16, `the socket holds ${from.tlsSocket.writableLength} bytes: more than one frame was handed to it`);
        const got = await arrived;
        assert.deepEqual(got, payloads, `${masked ? 'client → server' : 'server → client'}: messages changed or out of order`);
        await new Promise((resolve) => setImmediate(resolve));
        assert.equal(written, payloads.length, 'not every frame was reported written');
      }
    } finally {
      client.ws.terminate();
      listener.server.close();
    }
  });

  it('frames still queued when the channel closes reach the peer before the close frame', async () => {
    const { client, server, listener } = await connectedPair();
    try {
      const payloads = Array.from({ length: 4 }, (_, i) => Buffer.alloc(200 * 1024, i + 7));
      const got: Buffer[] = [];
      server.ws.on('message', (data) => got.push(data as Buffer));
      const closed = new Promise<number>((resolve) => server.ws.once('close', (code) => resolve(code)));
      const sender = new DirectFrameSender(client.tlsSocket, () => client.ws.readyState === client.ws.OPEN);
      for (const payload of payloads) sender.send(framed(payload, true), () => {});
      sender.flushQueued();
      client.ws.close(4000, 'done');
      assert.equal(await closed, 4000);
      assert.equal(got.length, payloads.length, `${got.length} of ${payloads.length} messages arrived before the close frame`);
    } finally {
      listener.server.close();
    }
  });
});
