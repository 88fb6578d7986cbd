/**
 * Adversarial (issue 15 §3, §6), what strangers may cost the terminator: floods of idle
 * connections to the session port, beyond session.maxPendingHandshakes (its default). Those
 * beyond the cap are closed at accept and counted; the log says a bounded number of lines
 * about them, each with the peer's real address, plus a count; the open session is not
 * pending, so it keeps delivering; and the terminator's memory returns near its idle level once
 * a flood is over. A real initiator + terminator pair runs alongside the whole time, with a
 * steady trickle of triggers.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { CONFIG_SCHEMA } from '../../core/src/config/schema.js';
import { LOG_LINES_PER_WINDOW } from '../../core/src/log-limit.js';
import { openSession, type Credentials } from '../helpers/adversary.js';
import { delta, scrape } from '../helpers/metrics.js';
import { startLegitPair, type LegitPair } from '../helpers/legit-pair.js';
import { type TestPki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { eventually, get, post, startInitiator, type Proc } from '../helpers/procs.js';

const CAP = CONFIG_SCHEMA['session.maxPendingHandshakes'].default;
const HANDSHAKE_TIMEOUT_MS = 4000;
const REFUSED = { reason: 'FERRY_ERR_TOO_MANY_PENDING' } as const;
const FAILURES = 'ferry_handshake_failures_total';
/**
 * How far above its idle RSS the terminator may stay once the floods are over. Measured on
 * these machines, see the commit message: without the cap four floods left it far higher.
 */
const RSS_MARGIN_MIB = 12;

let pair: LegitPair;
let pki: TestPki;
let terminator: Proc;
let sessionPort: number;
let terminatorHttp: number;
let initiatorTrigger: number;
let creds: Credentials;
let idleRssMiB = 0;

before(async () => {
  pair = await startLegitPair({ terminatorEnv: { FERRY_SESSION_HANDSHAKE_TIMEOUT_MS: String(HANDSHAKE_TIMEOUT_MS) } });
  ({ pki, terminator, sessionPort, terminatorHttp, initiatorTrigger } = pair);
  creds = { ca: pki.ca.cert, ...pki.initiator };
  // Warm up what a delivery touches once, so that "idle" is a terminator that has worked.
  for (let i = 0; i < 20; i += 1) assert.equal((await post(initiatorTrigger, '/trigger', { warm: i })).status, 200);
  idleRssMiB = rssMiB();
  pair.startTrickle({ everyMs: 200, max: 5_000 });
});

after(async () => {
  await pair?.stop();
});

function rssMiB(): number {
  const status = readFileSync(`/proc/${terminator.child.pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]) / 1024;
}

/** The legitimate pair still delivers and the terminator says it is ready. */
async function legitUnharmed(): Promise<void> {
  await pair.delivers();
  assert.equal((await get(terminatorHttp, '/readyz')).status, 200, 'the terminator stays ready');
}

/** One flood connection: connected, and whether (and when) the terminator closed it. */
interface Stranger {
  localPort: number;
  open: boolean;
  closed: Promise<void>;
}

/**
 * Opens `count` connections at once that then say nothing: plain TCP (the TLS handshake never
 * starts), or TLS with the initiator's certificate (the HTTP upgrade never comes).
 */
async function flood(count: number, kind: 'tcp' | 'tls'): Promise<Stranger[]> {
  const ca = readFileSync(pki.ca.cert);
  const cert = readFileSync(pki.initiator.cert);
  const key = readFileSync(pki.initiator.key);
  return Promise.all(
    Array.from({ length: count }, () =>
      new Promise<Stranger>((resolve) => {
        const socket: Socket =
          kind === 'tcp' ? tcpConnect(sessionPort, '127.0.0.1') : tlsConnect({ host: '127.0.0.1', port: sessionPort, servername: 'localhost', ca, cert, key });
        const stranger: Stranger = { localPort: 0, open: true, closed: new Promise((done) => socket.once('close', () => done())) };
        void stranger.closed.then(() => {
          stranger.open = false;
        });
        socket.on('error', () => {});
        // Read (and drop) anything, or a FIN from the terminator would never be seen.
        socket.resume();
        // TCP connected is enough: a stranger refused at accept gets no TLS handshake at all.
        socket.once('connect', () => {
          stranger.localPort = socket.localPort ?? 0;
          resolve(stranger);
        });
        void stranger.closed.then(() => resolve(stranger));
      }),
    ),
  );
}

const refusedSince = async (before: Map<string, number>): Promise<number> => delta(before, await scrape(terminatorHttp), FAILURES, REFUSED);

/** The remote=<host>:<port> of each line, as the terminator logged it. */
function remotesOf(lines: string[]): string[] {
  return lines.map((line) => /remote=(\S+)/.exec(line)?.[1] ?? '(none)');
}

describe('a flood of idle connections beyond session.maxPendingHandshakes', () => {
  test('the connections beyond the cap are closed at accept, counted, and logged in a bounded number of lines with real addresses plus a count', async () => {
    const COUNT = CAP + 300;
    const before = await scrape(terminatorHttp);
    const from = terminator.lines.length;
    const strangers = await flood(COUNT, 'tcp');
    await eventually(async () => (await refusedSince(before)) >= COUNT - CAP, 10_000, `${COUNT - CAP} connections refused at accept`);
    await eventually(() => strangers.filter((s) => s.open).length === CAP, 5_000, `${CAP} strangers held open`);
    assert.equal(await refusedSince(before), COUNT - CAP, 'exactly the connections beyond the cap were refused');
    await legitUnharmed();

    // The held ones are cut by the TLS handshake timeout, which is logged with their address too.
    await Promise.all(strangers.map((s) => s.closed));
    const refusedSummary = await terminator.waitFor(/\d+ more connections refused at accept .* were not logged/, 15_000);
    const timeoutSummary = await terminator.waitFor(/\d+ more refused TLS handshakes were not logged/, 15_000);
    const lines = terminator.lines.slice(from);
    const ports = new Set(strangers.map((s) => `127.0.0.1:${s.localPort}`));

    const refusedLines = lines.filter((l) => /connection refused at accept: .*code=FERRY_ERR_TOO_MANY_PENDING/.test(l));
    assert.ok(refusedLines.length >= 1 && refusedLines.length <= LOG_LINES_PER_WINDOW, `${refusedLines.length} refusal lines`);
    for (const remote of remotesOf(refusedLines)) assert.ok(ports.has(remote), `a refusal line names a flood connection (${remote})`);
    assert.equal(refusedLines.length + Number(/(\d+) more/.exec(refusedSummary)?.[1]), COUNT - CAP, 'logged + summed up = refused');

    const timeoutLines = lines.filter((l) => /TLS handshake refused: .*reason=ERR_TLS_HANDSHAKE_TIMEOUT/.test(l));
    assert.ok(timeoutLines.length >= 1 && timeoutLines.length <= LOG_LINES_PER_WINDOW, `${timeoutLines.length} timeout lines`);
    for (const remote of remotesOf(timeoutLines)) assert.ok(ports.has(remote), `a timeout line names a flood connection (${remote})`);
    assert.equal(timeoutLines.length + Number(/(\d+) more/.exec(timeoutSummary)?.[1]), CAP, 'logged + summed up = timed out');
    await legitUnharmed();
  });

  test('while a flood holds every pending slot a new session is refused at accept, and connects once session.handshakeTimeoutMs has cut the flood', async (t) => {
    const before = await scrape(terminatorHttp);
    const strangers = await flood(CAP + 20, 'tcp');
    await eventually(() => strangers.filter((s) => s.open).length === CAP, 10_000, `${CAP} strangers held open`);
    await legitUnharmed();
    // A second initiator (its own stream, the bundle's certificate) dialling now: refused.
    const refusedBefore = await refusedSince(before);
    await assert.rejects(openSession(sessionPort, creds), 'a new session is refused while the flood holds every slot');
    assert.equal(await refusedSince(before), refusedBefore + 1, 'and counted as FERRY_ERR_TOO_MANY_PENDING');
    await legitUnharmed();
    // A real initiator started now redials with its backoff until a slot is free.
    const secondHttp = await freePort();
    const secondTrigger = await freePort();
    const second = startInitiator({ pki, httpPort: secondHttp, triggerPort: secondTrigger, sessionPort, fixture: 'initiator.ts', env: { FERRY_AUTO_TRIGGER_COUNT: '0' } });
    try {
      // The flood's connections are cut after session.handshakeTimeoutMs: the slots are free again.
      await Promise.all(strangers.map((s) => s.closed));
      const session = await openSession(sessionPort, creds);
      assert.match(session.sessionId, /\S/, 'the new session got its WELCOME');
      session.conn.ws.close();
      await session.conn.closed;
      await second.waitFor(/session open/, 15_000);
      assert.equal((await post(secondTrigger, '/trigger', { second: true })).status, 200, 'the second initiator delivers');
      t.diagnostic(`the second initiator's dials refused before its session: ${second.matching(/reconnecting in/).length}`);
    } finally {
      await second.kill();
    }
    await legitUnharmed();
  });

  test('the terminator\'s memory returns near its idle level after four floods of 800 idle TLS connections', async (t) => {
    const figures: string[] = [];
    for (let round = 1; round <= 4; round += 1) {
      const strangers = await flood(800, 'tls');
      await legitUnharmed();
      await Promise.all(strangers.map((s) => s.closed));
      figures.push(`flood ${round} over: ${rssMiB().toFixed(1)} MiB`);
    }
    t.diagnostic(`idle ${idleRssMiB.toFixed(1)} MiB; ${figures.join('; ')}`);
    // A memory bound, polled: what a flood allocated is given back within seconds of its end.
    await eventually(() => rssMiB() <= idleRssMiB + RSS_MARGIN_MIB, 20_000, `RSS within ${RSS_MARGIN_MIB} MiB of idle (${idleRssMiB.toFixed(1)} MiB)`);
    t.diagnostic(`settled at ${rssMiB().toFixed(1)} MiB`);
    await legitUnharmed();
  });
});

describe('the legitimate session', () => {
  test('kept delivering throughout, on its first and only session', async () => {
    await pair.assertUnharmed(10);
  });
});
