/**
 * The bench's slice runs (bench/src/slices.ts) measure several pairs of real peer processes in
 * turns, which is only sound if a paused pair stops sending and a resumed one sends again (a
 * paced one at its rate, its latency pooled over the windows), and if a row that cannot run is
 * reported as such without stopping the others. Real processes over
 * real mutual TLS (the raw TLS row, the cheapest); no figure is judged, only whether messages
 * flowed in a window at all. The test builds the bench first (`tsc -b bench`, incremental):
 * the pairs fork the compiled peer.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { ensurePki } from '@fast-ferry/tools/dist/pki.js';

const REPO = join(import.meta.dirname, '..', '..');

type PairModule = typeof import('../src/pair.js');
type SlicesModule = typeof import('../src/slices.js');
type CaseSpec = import('../src/protocol.js').CaseSpec;

let pairModule: PairModule;
let slicesModule: SlicesModule;
let pkiDir: string;

const pairOptions = {
  peerExecArgv: [],
  peerLogDir: undefined,
  ferryConfig: {},
  traceDir: undefined,
  ferryNodeArgs: { sender: [], receiver: [] },
};

function spec(row: CaseSpec['row'], dir = pkiDir): CaseSpec {
  return { row, payload: 'bytes', size: 1024, round: 1, mode: 'flood', rate: 0, pkiDir: dir };
}

function pacedSpec(row: CaseSpec['row'], rate: number): CaseSpec {
  return { row, payload: 'structured', size: 1024, round: 1, mode: 'paced', rate, pkiDir };
}

describe('bench slices: pairs of peer processes measured in turns', () => {
  before(async () => {
    execFileSync(join(REPO, 'node_modules', '.bin', 'tsc'), ['-b', 'bench'], { cwd: REPO, stdio: 'inherit' });
    pairModule = (await import(join(REPO, 'bench', 'dist', 'pair.js'))) as PairModule;
    slicesModule = (await import(join(REPO, 'bench', 'dist', 'slices.js'))) as SlicesModule;
    pkiDir = mkdtempSync(join(tmpdir(), 'ferry-bench-slices-'));
    ensurePki(pkiDir);
  });
  after(() => rmSync(pkiDir, { recursive: true, force: true }));

  it("a slice run's pair sends nothing until resumed, and stops again when paused", async () => {
    const pair = await pairModule.Pair.start(spec('raw-tls'), { ...pairOptions, sliced: true });
    try {
      const paused = await pair.measure(300);
      assert.equal(paused.sender?.messages, 0, "a slice pair's sender sent before its first resume");
      assert.equal(paused.receiver?.messages, 0, 'messages arrived before the first resume');

      pair.resume();
      const flooding = await pair.measure(300);
      assert.ok((flooding.sender?.messages ?? 0) > 0, 'a resumed sender sent nothing');
      assert.ok((flooding.receiver?.messages ?? 0) > 0, 'nothing arrived from a resumed sender');

      pair.pause();
      // What was in flight when the pause arrived drains first, as in a slice run's settle.
      await sleep(300);
      const pausedAgain = await pair.measure(300);
      assert.equal(pausedAgain.sender?.messages, 0, 'a paused sender went on sending');
      assert.equal(pausedAgain.receiver?.messages, 0, 'messages went on arriving after the pause had drained');
    } finally {
      await pair.stop();
    }
  });

  it('a paced pair in a slice run sends only while resumed, does not make up for a pause, and its receiver pools the latency of every window', async () => {
    const rate = 1000;
    const pair = await pairModule.Pair.start(pacedSpec('raw-tls', rate), { ...pairOptions, sliced: true });
    try {
      const paused = await pair.measure(300);
      assert.equal(paused.sender?.messages, 0, "a paced slice pair's sender sent before its first resume");

      pair.resume();
      await sleep(100);
      const first = await pair.measure(300);
      pair.pause();
      assert.ok((first.receiver?.messages ?? 0) > 0, 'nothing arrived from a resumed paced sender');
      await sleep(1000);

      // Resumed inside a 400 ms window after more than a second paused, it sends at its rate from
      // the resume on: about 350 messages, not the 1,000 and more its pause would have been due.
      // The bound is taken over the sender's own window (mark to mark), which a late timer in
      // this process stretches along with what it sends; the 250 of slack stays far under the
      // 1,000 a make-up would add.
      const second = pair.measure(400);
      await sleep(50);
      pair.resume();
      const resumed = await second;
      const sent = resumed.sender?.messages ?? 0;
      const senderMs = resumed.sender?.elapsedMs ?? 0;
      assert.ok(sent > 0, 'a paced sender resumed inside a window sent nothing');
      assert.ok(sent <= (rate * senderMs) / 1000 + 250, `a resumed paced sender sent ${sent} messages in its ${Math.round(senderMs)} ms window at ${rate}/s: it made up for its pause`);

      const a = first.receiver?.latency;
      const b = resumed.receiver?.latency;
      assert.ok(a && b, 'a paced receiver reported no latency');
      assert.equal(a.pooled.samples, a.samples, 'the first window pools only itself');
      assert.equal(b.pooled.samples, a.samples + b.samples, 'the pooled latency does not cover both windows');
      assert.equal(b.samples, resumed.receiver?.messages, "the window's latency does not cover the messages that arrived in it");
    } finally {
      await pair.stop();
    }
  });

  it("pins a pair's sender and receiver main threads to the CPUs it is given, and swaps them on request", { skip: availableParallelism() < 2 && 'pinning two peers apart needs two CPUs' }, async () => {
    const pair = await pairModule.Pair.start(spec('raw-tls'), { ...pairOptions, sliced: true });
    try {
      const allowed = (pid: number | undefined): string => /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '';
      pair.pin(0, 1);
      assert.deepEqual([allowed(pair.pids.sender), allowed(pair.pids.receiver)], ['0', '1']);
      pair.pin(1, 0);
      assert.deepEqual([allowed(pair.pids.sender), allowed(pair.pids.receiver)], ['1', '0']);
    } finally {
      await pair.stop();
    }
  });

  it('runs every row once per round, reversed every other round, and reports a row that cannot start in each round without stopping the others', async () => {
    const broken = spec('ws', join(pkiDir, 'no-such-pki'));
    const results = await slicesModule.runInSlices(
      [spec('raw-tls'), broken],
      { rounds: 2, warmupMs: 100, settleMs: 100, windowMs: 200, pin: availableParallelism() >= 2, pair: pairOptions },
      () => {},
    );
    assert.deepEqual(
      results.map((r) => `${r.spec.round} ${r.spec.row} ${r.status}`),
      ['1 raw-tls ok', '1 ws failed', '2 ws failed', '2 raw-tls ok'],
    );
    for (const r of results.filter((r) => r.status === 'ok')) assert.ok((r.receiver?.messages ?? 0) > 0, `round ${r.spec.round}: nothing arrived`);
    const failed = results.find((r) => r.status === 'failed');
    assert.match(failed?.reason ?? '', /no-such-pki|ENOENT/, 'the failure does not say what was missing');
  });
});
