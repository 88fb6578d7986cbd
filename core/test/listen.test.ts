/**
 * The session listener's pending cap, white-box: connections that are not a session yet are
 * capped at maxPending and the next one is closed at accept, with its address; a settled
 * connection frees its slot until it closes, and then the cap is what it was.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { loadTlsMaterial } from '../src/transport/tls-material.js';
import { listen, type Listener } from '../src/transport/listen.js';
import { makeTestPki, type TestPki } from '../../test/helpers/pki.js';

let pki: TestPki;
before(() => {
  pki = makeTestPki();
});
after(() => pki.cleanup());

interface Events {
  refused: string[];
  tlsErrors: string[];
  sockets: TLSSocket[];
}

async function listener(maxPending: number): Promise<{ listener: Listener; events: Events }> {
  const events: Events = { refused: [], tlsErrors: [], sockets: [] };
  const l = await listen({
    host: '127.0.0.1',
    port: 0,
    tls: loadTlsMaterial({ caFile: pki.ca.cert, certFile: pki.terminator.cert, keyFile: pki.terminator.key }, 'terminator'),
    handshakeTimeoutMs: 5_000,
    maxPayloadBytes: 1024 * 1024,
    maxPending,
    onConnection: (_ws, tlsSocket) => events.sockets.push(tlsSocket),
    onTlsError: (_err, remote) => events.tlsErrors.push(remote),
    onRefused: (remote) => events.refused.push(remote),
  });
  return { listener: l, events };
}

/** A TCP connection that says nothing; resolves once connected, with how it ends. */
function idle(port: number): Promise<{ socket: Socket; localPort: number; closed: Promise<void> }> {
  return new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1', () => resolve({ socket, localPort: socket.localPort ?? 0, closed }));
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    socket.on('error', () => {});
    socket.resume();
  });
}

function wsClient(port: number): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://localhost:${port}`, { ca: readFileSync(pki.ca.cert), cert: readFileSync(pki.initiator.cert), key: readFileSync(pki.initiator.key) });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** Polls state no event announces, for at most 5 s. */
const until = async (check: () => boolean): Promise<void> => {
  const deadline = performance.now() + 5_000;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${check.toString()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

test('the connection after maxPending pending ones is closed at accept, and its address reported', async () => {
  const { listener: l, events } = await listener(2);
  try {
    const held = [await idle(l.port), await idle(l.port)];
    const extra = await idle(l.port);
    await extra.closed;
    assert.deepEqual(events.refused, [`127.0.0.1:${extra.localPort}`]);
    assert.equal(events.tlsErrors.length, 0, 'the refused one never reached TLS');
    for (const h of held) h.socket.destroy();
  } finally {
    await l.close();
  }
});

test('a settled session does not count against maxPending until it closes', async () => {
  const { listener: l, events } = await listener(1);
  try {
    const ws = await wsClient(l.port);
    await until(() => events.sockets.length === 1);
    l.settled(events.sockets[0] as TLSSocket);
    l.settled(events.sockets[0] as TLSSocket);
    // The session is settled: one pending slot is free, and only one.
    const pending = await idle(l.port);
    const extra = await idle(l.port);
    await extra.closed;
    assert.equal(events.refused.length, 1);
    pending.socket.destroy();
    await pending.closed;
    // Once the session closes, the cap is back to maxPending alone.
    ws.close();
    await until(() => l.server.maxConnections === 1);
    const again = await idle(l.port);
    const extraAgain = await idle(l.port);
    await extraAgain.closed;
    assert.equal(events.refused.length, 2);
    again.socket.destroy();
  } finally {
    await l.close();
  }
});
