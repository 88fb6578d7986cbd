/**
 * The tunnel's floor (bench/src/transports/raw-tls-sealed.ts) stands for the least work a
 * sender that seals inside TLS does, so it must batch as Fast Ferry's session does (the first
 * message of a turn at once, the rest of the turn in one seal, no batch past the limit) and
 * still deliver every message intact and in order. A real mutual-TLS socket in this process;
 * the receiving end opens and counts the sealed frames itself.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createServer, type TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { ensurePki } from '@fast-ferry/tools/dist/pki.js';
import type { PeerArgs } from '../src/protocol.js';
import * as raw from '../src/transports/raw-tls.js';
import * as sealed from '../src/transports/raw-tls-sealed.js';
import { serverTlsOptions } from '../src/transports/tls-files.js';

let pkiDir: string;

function args(payload: PeerArgs['payload'], port = 0): PeerArgs {
  return { row: 'raw-tls-sealed', payload, size: 1024, round: 1, mode: 'flood', rate: 0, pkiDir, role: port ? 'sender' : 'receiver', port, ferryConfig: {} };
}

/** A receiving end that opens each sealed frame itself: the batches' sizes and their messages. */
async function receiver(payload: PeerArgs['payload']) {
  const batches: number[] = [];
  const messages: unknown[] = [];
  const sockets: TLSSocket[] = [];
  const server = createServer(serverTlsOptions(pkiDir), (socket) => {
    sockets.push(socket);
    const armor = sealed.armorSession('receiver');
    raw.onFrames(socket, (frame) => {
      const plain = armor.open(frame);
      batches.push(plain.length);
      sealed.unbatch(plain, payload !== 'bytes', (m) => messages.push(m));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    batches,
    messages,
    async arrived(n: number): Promise<void> {
      for (let i = 0; i < 500 && messages.length < n; i++) await sleep(10);
      assert.equal(messages.length, n, `${n} messages sent, ${messages.length} arrived`);
    },
    close(): void {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

describe('bench: the sealed raw TLS floor batches as the session does', () => {
  before(() => {
    pkiDir = mkdtempSync(join(tmpdir(), 'ferry-bench-sealed-'));
    ensurePki(pkiDir);
  });
  after(() => rmSync(pkiDir, { recursive: true, force: true }));

  it("seals a turn's first message alone and the rest of the turn as one batch, JSON intact and in order", async () => {
    const end = await receiver('structured');
    const conn = await sealed.rawTlsSealed.connect(args('structured', end.port));
    const sent = Array.from({ length: 200 }, (_, i) => ({ seq: i, text: `message ${i} ${'x'.repeat(i % 40)}`, nested: { ok: i % 3 === 0, values: [i, i / 10] } }));
    try {
      for (const m of sent) conn.send(m);
      await end.arrived(200);
      assert.deepEqual(end.messages, sent);
      assert.equal(end.batches.length, 2, `one turn of 200 messages took ${end.batches.length} seals, not 2 (the first at once, the rest at the end of the turn)`);
    } finally {
      end.close();
    }
  });

  it('never seals a batch past the limit, and seals a message bigger than the limit on its own (bytes)', async () => {
    const end = await receiver('bytes');
    const conn = await sealed.rawTlsSealed.connect(args('bytes', end.port));
    try {
      const sent: Buffer[] = [];
      // 600 KiB in one turn: past the limit twice over.
      for (let i = 0; i < 600; i++) sent.push(Buffer.alloc(1024, i % 251));
      for (const b of sent) conn.send(b);
      await nextTurn();
      const big = Buffer.alloc(sealed.BATCH_BYTES + 1000, 7);
      sent.push(big);
      conn.send(big);
      await end.arrived(sent.length);
      assert.ok(end.messages.every((m, i) => Buffer.isBuffer(m) && m.equals(sent[i] as Buffer)), 'a message arrived changed or out of order');
      const batched = end.batches.slice(0, -1);
      assert.ok(batched.length >= 4, `600 KiB in one turn took ${batched.length} seals: the limit did not split it`);
      assert.ok(batched.every((n) => n <= sealed.BATCH_BYTES), `a batch passed the limit: ${Math.max(...batched)} bytes`);
      assert.equal(end.batches.at(-1), big.length + 4, 'the message bigger than the limit was not sealed on its own');
    } finally {
      end.close();
    }
  });
});
