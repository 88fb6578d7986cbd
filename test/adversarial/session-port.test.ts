/**
 * Adversarial (issue 4 §5), the terminator's session port: bad input at every layer — TLS,
 * the HTTP upgrade, WebSocket framing, the armor handshake, sealed frames, session frames — and
 * a flood. A real initiator + terminator pair runs alongside the whole time. Each case must be
 * refused with a coded reason in the terminator's log and a metric increment on its /metrics,
 * the legitimate session must keep delivering (a POST /trigger after each case, and a steady
 * trickle in the background), and no process may crash.
 *
 * Frame-level attacks come from an authenticated client (the initiator's certificate) that
 * drives the armor itself with core's ArmorHandshake (test/helpers/adversary.ts), so forged
 * frames are judged by the armor and well-sealed garbage reaches the session decoder.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { LOG_LINES_PER_WINDOW, LOG_WINDOW_MS } from '../../core/src/log-limit.js';
import { issueLeaf } from '../../tools/src/pki.js';
import { armor, dataFrame, helloFrame, openConn, openSession, rawWsFrame, type Closed, type Credentials } from '../helpers/adversary.js';
import { delta, scrape, type Samples } from '../helpers/metrics.js';
import { startLegitPair, type LegitPair } from '../helpers/legit-pair.js';
import { type TestPki } from '../helpers/pki.js';
import { eventually, type Proc } from '../helpers/procs.js';

const HANDSHAKE_TIMEOUT_MS = 1000;

let pair: LegitPair;
let pki: TestPki;
let terminator: Proc;
let sessionPort: number;
let terminatorHttp: number;
let creds: Credentials;

before(async () => {
  pair = await startLegitPair({ terminatorEnv: { FERRY_SESSION_HANDSHAKE_TIMEOUT_MS: String(HANDSHAKE_TIMEOUT_MS) } });
  ({ pki, terminator, sessionPort, terminatorHttp } = pair);
  creds = { ca: pki.ca.cert, ...pki.initiator };
  // The background trickle: a trigger every 200 ms for as long as the suite runs.
  pair.startTrickle({ everyMs: 200, max: 2_000 });
});

after(async () => {
  await pair?.stop();
});

/** The legitimate pair still delivers: a trigger answers 200 and the terminator's hook ran. */
const legitDelivers = (): Promise<void> => pair.delivers();

interface Expectation {
  /** The terminator's log line that refuses the attack; it must carry `code=<FERRY_ERR_...>`. */
  log: RegExp;
  /** Counters that must grow: [name, labels]. */
  metrics: Array<[string, Record<string, string>]>;
}

/** Runs an attack and checks the refusal: log line, metric increments, legit session unharmed. */
async function refused<T>(expect: Expectation, attack: () => Promise<T>): Promise<{ line: string; result: T }> {
  const before: Samples = await scrape(terminatorHttp);
  const line = terminator.waitForNext(expect.log, 10_000);
  const result = await attack();
  const seen = await line;
  assert.match(seen, /code=FERRY_ERR_[A-Z_]+/, 'the refusal is coded');
  const after = await scrape(terminatorHttp);
  for (const [name, labels] of expect.metrics) {
    assert.ok(delta(before, after, name, labels) >= 1, `${name}${JSON.stringify(labels)} grew`);
  }
  await legitDelivers();
  return { line: seen, result };
}

/** A raw TLS client: connects, optionally writes, and resolves once the server ends it. */
function tlsAttempt(options: ConnectionOptions, write?: Buffer | string): Promise<string> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: '127.0.0.1', port: sessionPort, servername: 'localhost', ...options });
    let outcome = 'closed';
    socket.on('secureConnect', () => {
      if (write !== undefined) socket.write(write);
    });
    socket.on('data', (d: Buffer) => {
      outcome = `data ${d.toString('latin1').slice(0, 60)}`;
    });
    socket.on('error', (err) => {
      outcome = `error ${err.message}`;
    });
    socket.on('close', () => resolve(outcome));
  });
}

/** A raw TCP client: writes `bytes` (or nothing) and resolves once the server closes it. */
function tcpAttempt(bytes?: Buffer | string): Promise<Socket> {
  return new Promise((resolve) => {
    const socket = tcpConnect(sessionPort, '127.0.0.1', () => {
      if (bytes !== undefined) socket.write(bytes);
    });
    socket.on('error', () => {});
    // Read (and drop) what comes back, or a polite FIN would never be seen.
    socket.resume();
    socket.on('close', () => resolve(socket));
  });
}

const tlsFailure = (reason: RegExp | string): Expectation => ({
  log: new RegExp(`TLS handshake refused: .*code=FERRY_ERR_TLS reason=${typeof reason === 'string' ? reason : reason.source}`),
  metrics: [['ferry_handshake_failures_total', typeof reason === 'string' ? { reason } : {}]],
});

const armorFailure = (text: RegExp): Expectation => ({
  log: new RegExp(`session refused: .*${text.source}.*code=FERRY_ERR_ARMOR_HANDSHAKE`),
  metrics: [['ferry_handshake_failures_total', { reason: 'FERRY_ERR_ARMOR_HANDSHAKE' }]],
});

const sessionEnded = (code: string, text: RegExp): Expectation => ({
  log: new RegExp(`session ended: .*${text.source}.*code=${code}`),
  metrics: [
    ['ferry_frames_rejected_total', { reason: code }],
    ['ferry_sessions_closed_total', { reason: code }],
  ],
});

describe('TLS: only the bundle\'s clients, TLS 1.3, with certificates', () => {
  test('a client certificate from another CA is refused', async () => {
    const { line, result } = await refused(tlsFailure(/[A-Z_]+/), () =>
      tlsAttempt({ ca: readFileSync(pki.ca.cert), cert: readFileSync(pki.rogue.initiator.cert), key: readFileSync(pki.rogue.initiator.key) }, 'GET / HTTP/1.1\r\n\r\n'),
    );
    assert.match(line, /not issued by the bundle's CA|chain ends in a CA other/);
    assert.doesNotMatch(result, /^data/, 'the outsider got no answer');
  });

  test('an expired client certificate from the bundle CA is refused', async () => {
    const expired = issueLeaf({ ca: pki.ca, dir: join(pki.dir, 'expired-initiator'), commonName: 'initiator', sans: ['DNS:initiator'], usage: 'client', expired: true });
    const { line, result } = await refused(tlsFailure('CERT_HAS_EXPIRED'), () =>
      tlsAttempt({ ca: readFileSync(pki.ca.cert), cert: readFileSync(expired.cert), key: readFileSync(expired.key) }, 'GET / HTTP/1.1\r\n\r\n'),
    );
    assert.match(line, /it has expired/);
    assert.doesNotMatch(result, /^data/);
  });

  test('a client without a certificate is refused', async () => {
    await refused(tlsFailure('NO_CLIENT_CERTIFICATE'), () => tlsAttempt({ ca: readFileSync(pki.ca.cert) }, 'GET / HTTP/1.1\r\n\r\n'));
  });

  test('a TLS 1.2-only client is refused', async () => {
    const { result } = await refused(tlsFailure(/\S+/), () =>
      tlsAttempt({ ca: readFileSync(pki.ca.cert), cert: readFileSync(pki.initiator.cert), key: readFileSync(pki.initiator.key), maxVersion: 'TLSv1.2' }),
    );
    assert.match(result, /^error .*(protocol|version)/i);
  });

  test('plain ws:// (no TLS) to the TLS port is refused', async () => {
    const { result } = await refused(tlsFailure(/\S+/), () =>
      new Promise<string>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${sessionPort}`);
        ws.on('error', (err) => resolve(`error ${err.message}`));
        ws.on('open', () => resolve('open'));
      }),
    );
    assert.match(result, /^error/);
  });

  test('plain TCP garbage to the TLS port is refused', async () => {
    await refused(tlsFailure(/\S+/), () => tcpAttempt(randomBytes(512)));
  });

  test('plain TCP that says nothing is cut after session.handshakeTimeoutMs', async () => {
    await refused(tlsFailure('ERR_TLS_HANDSHAKE_TIMEOUT'), () => tcpAttempt());
  });
});

describe('HTTP upgrade: a complete upgrade request, in time', () => {
  test('a slowloris upgrade (TLS ok, headers dribbled) is cut after session.handshakeTimeoutMs', async () => {
    const { result } = await refused(
      { log: /WebSocket upgrade refused: .*code=FERRY_ERR_HANDSHAKE_TIMEOUT reason=ERR_HTTP_REQUEST_TIMEOUT/, metrics: [['ferry_handshake_failures_total', { reason: 'ERR_HTTP_REQUEST_TIMEOUT' }]] },
      () =>
        new Promise<{ ms: number; answer: string }>((resolve) => {
          const request = `GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n${'X-Pad: x\r\n'.repeat(50)}`;
          const socket = tlsConnect({ host: '127.0.0.1', port: sessionPort, servername: 'localhost', ca: readFileSync(pki.ca.cert), cert: readFileSync(pki.initiator.cert), key: readFileSync(pki.initiator.key) });
          let answer = '';
          let timer: NodeJS.Timeout | undefined;
          let started = 0;
          socket.on('secureConnect', () => {
            started = performance.now();
            let i = 0;
            // One byte every 20 ms: the request would take ~13 s to complete.
            timer = setInterval(() => {
              if (i < request.length && socket.writable) socket.write(request.charAt(i++));
            }, 20);
          });
          socket.on('data', (d: Buffer) => {
            answer += d.toString();
          });
          socket.on('error', () => {});
          socket.on('close', () => {
            clearInterval(timer);
            resolve({ ms: performance.now() - started, answer });
          });
        }),
    );
    assert.match(result.answer, /^HTTP\/1\.1 408/);
    // Node checks request timeouts every handshakeTimeoutMs/4 (listen.ts), so the cut comes
    // between 1 and 1.25 timeouts after the connection; a second timeout is slack for load.
    assert.ok(result.ms < 2 * HANDSHAKE_TIMEOUT_MS, `cut after ${Math.round(result.ms)} ms`);
  });

  test('garbage instead of an HTTP request (after TLS) is refused with 400', async () => {
    const { result } = await refused(
      { log: /WebSocket upgrade refused: .*code=FERRY_ERR_PROTOCOL reason=HPE_/, metrics: [['ferry_handshake_failures_total', {}]] },
      () => tlsAttempt({ ca: readFileSync(pki.ca.cert), cert: readFileSync(pki.initiator.cert), key: readFileSync(pki.initiator.key) }, Buffer.from([0x00, 0xff, 0x13, 0x37, 0x0d, 0x0a, 0x0d, 0x0a])),
    );
    assert.match(result, /^data HTTP\/1\.1 400/);
  });
});

describe('WebSocket framing', () => {
  test('a frame over maxPayload ends the session with 1009 (and does not crash the terminator)', async () => {
    const { result } = await refused(sessionEnded('FERRY_ERR_PAYLOAD_TOO_BIG', /Max payload size exceeded/), async () => {
      const s = await openSession(sessionPort, creds);
      // The header declares 5 MiB (maxPayloadBytes is 4 MiB); the bytes never need to follow.
      s.conn.tls.write(rawWsFrame(0x2, Buffer.alloc(16), 5 * 1024 * 1024));
      return s.conn.closed;
    });
    assert.equal(result.code, 1009);
  });

  test('an unknown WebSocket opcode ends the session with 1002', async () => {
    const { result } = await refused(sessionEnded('FERRY_ERR_BAD_FRAME', /WS_ERR_INVALID_OPCODE/), async () => {
      const s = await openSession(sessionPort, creds);
      s.conn.tls.write(rawWsFrame(0x3, Buffer.from('?')));
      return s.conn.closed;
    });
    assert.equal(result.code, 1002);
  });

  test('a text frame ends the session with 1003', async () => {
    const { result } = await refused(sessionEnded('FERRY_ERR_TEXT_FRAME', /text frame refused/), async () => {
      const s = await openSession(sessionPort, creds);
      s.conn.ws.send('{"hello":"as text"}');
      return s.conn.closed;
    });
    assert.equal(result.code, 1003);
  });
});

describe('armor handshake', () => {
  test('garbage bytes instead of INIT are refused', async () => {
    await refused(armorFailure(/expected an armor handshake message, got unknown type/), async () => {
      const conn = await openConn(sessionPort, creds);
      conn.ws.send(Buffer.concat([Buffer.from([0x99]), randomBytes(100)]));
      return conn.closed;
    });
  });

  test('a truncated INIT is refused', async () => {
    await refused(armorFailure(/INIT \(0x20\) truncated/), async () => {
      const conn = await openConn(sessionPort, creds);
      conn.ws.send(Buffer.from([0x20, 0x01, 0xaa, 0xbb]));
      return conn.closed;
    });
  });

  test('a text frame during the armor handshake is refused', async () => {
    await refused(armorFailure(/text frame during the armor handshake/), async () => {
      const conn = await openConn(sessionPort, creds);
      conn.ws.send('INIT');
      return conn.closed;
    });
  });

  test('a replayed handshake (INIT and FINISH recorded on another connection) is refused', async () => {
    const first = await openConn(sessionPort, creds);
    const recorded = (await armor(first, creds)).messages;
    first.ws.close();
    await first.closed;
    await refused(armorFailure(/FINISH signature does not verify/), async () => {
      const conn = await openConn(sessionPort, creds);
      conn.ws.send(recorded.init);
      await conn.next();
      conn.ws.send(recorded.finish);
      return conn.closed;
    });
  });

  test('a client that never starts the armor handshake is cut after session.handshakeTimeoutMs', async () => {
    await refused(
      { log: /session refused: armor handshake did not finish within \d+ ms.*code=FERRY_ERR_HANDSHAKE_TIMEOUT/, metrics: [['ferry_handshake_failures_total', { reason: 'FERRY_ERR_HANDSHAKE_TIMEOUT' }]] },
      async () => (await openConn(sessionPort, creds)).closed,
    );
  });
});

describe('sealed frames (an established armor session)', () => {
  const payload = Buffer.from('{"adversary":true}');

  test('a forged frame (one bit flipped) ends the session', async () => {
    const { result } = await refused(sessionEnded('FERRY_ERR_ARMOR_DECRYPT', /failed authentication/), async () => {
      const s = await openSession(sessionPort, creds);
      const sealed = s.armor.seal(dataFrame(1, payload));
      sealed[sealed.length - 20] = (sealed[sealed.length - 20] as number) ^ 0x01;
      s.conn.ws.send(sealed);
      return s.conn.closed;
    });
    assert.equal((result as Closed).code, 4001);
  });

  test('reordered frames end the session', async () => {
    await refused(sessionEnded('FERRY_ERR_ARMOR_REPLAY', /dropped or reordered/), async () => {
      const s = await openSession(sessionPort, creds);
      const first = s.armor.seal(dataFrame(1, payload));
      const second = s.armor.seal(dataFrame(2, payload));
      s.conn.ws.send(second);
      s.conn.ws.send(first);
      return s.conn.closed;
    });
  });

  test('a replayed frame ends the session', async () => {
    await refused(sessionEnded('FERRY_ERR_ARMOR_REPLAY', /replayed or reordered/), async () => {
      const s = await openSession(sessionPort, creds);
      const sealed = s.armor.seal(dataFrame(1, payload));
      s.conn.ws.send(sealed);
      s.conn.ws.send(sealed);
      return s.conn.closed;
    });
  });

  test('a truncated sealed frame ends the session', async () => {
    await refused(sessionEnded('FERRY_ERR_ARMOR_DECRYPT', /sealed frame truncated/), async () => {
      const s = await openSession(sessionPort, creds);
      s.conn.ws.send(s.armor.seal(dataFrame(1, payload)).subarray(0, 20));
      return s.conn.closed;
    });
  });

  test('a frame under a key epoch that does not exist yet ends the session', async () => {
    await refused(sessionEnded('FERRY_ERR_ARMOR_DECRYPT', /key epoch 7/), async () => {
      const s = await openSession(sessionPort, creds);
      const sealed = s.armor.seal(dataFrame(1, payload));
      sealed.writeUInt32BE(7, 1);
      s.conn.ws.send(sealed);
      return s.conn.closed;
    });
  });
});

describe('session frames (sealed correctly, so they reach the session decoder)', () => {
  const ends = (code: string, text: RegExp, frames: () => Buffer) => async () => {
    await refused(sessionEnded(code, text), async () => {
      const s = await openSession(sessionPort, creds);
      s.send(frames());
      return s.conn.closed;
    });
  };

  test('garbage bytes end the session', ends('FERRY_ERR_BAD_FRAME', /unknown frame type 0xee/, () => Buffer.concat([Buffer.from([0xee]), randomBytes(200)])));
  test('a truncated DATA frame ends the session', ends('FERRY_ERR_BAD_FRAME', /DATA header truncated/, () => Buffer.from([0x10, 0x00, 0x00, 0x00, 0x01])));
  test('a DATA frame whose payload runs past the message ends the session', ends('FERRY_ERR_BAD_FRAME', /DATA payload truncated/, () => dataFrame(1, Buffer.from('{"a":1}')).subarray(0, 15)));
  test('an unknown frame type ends the session', ends('FERRY_ERR_BAD_FRAME', /unknown frame type 0x7f/, () => Buffer.from([0x7f, 0x01, 0x02, 0x03])));
  test('a sequence number that skips ahead ends the session', ends('FERRY_ERR_SEQUENCE', /expected seq 2, got 5/, () => Buffer.concat([dataFrame(1, Buffer.from('{"n":1}')), dataFrame(5, Buffer.from('{"n":5}'))])));
  test('a second HELLO ends the session', ends('FERRY_ERR_PROTOCOL', /HELLO after the handshake/, () => helloFrame()));
  test('an ACK for a message never sent ends the session', ends('FERRY_ERR_PROTOCOL', /ACK for seq 99/, () => Buffer.from([0x11, 0, 0, 0, 0, 0, 99])));
});

describe('flood', () => {
  test('1,000 concurrent bogus connections are all refused in bounded time, in a bounded number of log lines, while the session keeps delivering', async (t) => {
    const COUNT = 1_000;
    const before = await scrape(terminatorHttp);
    const from = terminator.lines.length;
    const started = performance.now();
    const flood = Promise.all(Array.from({ length: COUNT }, () => tcpAttempt(randomBytes(64))));
    await legitDelivers();
    const sockets = await Promise.race([
      flood,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the flood was not refused within 30 s')), 30_000).unref()),
    ]);
    const ms = performance.now() - started;
    assert.equal(sockets.length, COUNT);
    await legitDelivers();
    const after = await scrape(terminatorHttp);
    // Refused by TLS, or at accept once session.maxPendingHandshakes were mid-handshake.
    const failures = delta(before, after, 'ferry_handshake_failures_total');
    assert.ok(failures >= COUNT, `each bogus connection was counted (${failures})`);
    // Logged as the per-message lines are: a capped number of lines per kind, then a count.
    const summary = /\d+ more (refused TLS handshakes|connections refused at accept .*) were not logged/;
    await eventually(() => terminator.lines.slice(from).some((l) => summary.test(l)), 15_000, 'a line counting the refusals not logged');
    const lines = terminator.lines.slice(from);
    const naming = (kind: string) => {
      const pattern = new RegExp(`${kind}: .*code=FERRY_ERR_[A-Z_]+ .*remote=127\\.0\\.0\\.1:\\d+`);
      return lines.filter((l) => pattern.test(l)).length;
    };
    const tls = naming('TLS handshake refused');
    const accept = naming('connection refused at accept');
    // Each kind is capped per window, and its window was opened by its first line, which may
    // be an earlier test's: a flood shorter than a window can take the rest of one window and
    // all of the next, so at most two windows' lines of each kind.
    assert.ok(ms < LOG_WINDOW_MS, `the flood lasted under one log window (${Math.round(ms)} ms)`);
    assert.ok(tls + accept >= 1, 'the refusals are logged with their address');
    assert.ok(tls <= 2 * LOG_LINES_PER_WINDOW && accept <= 2 * LOG_LINES_PER_WINDOW, `${tls} + ${accept} lines name a refused connection: capped per window`);
    t.diagnostic(`${COUNT} bogus connections refused in ${Math.round(ms)} ms, ${failures} refusals counted, ${tls} + ${accept} lines about them`);
  });
});

describe('the legitimate session', () => {
  test('kept delivering throughout, on its first and only session, and nothing crashed', async () => {
    await pair.assertUnharmed(10);
  });
});
