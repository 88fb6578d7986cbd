/**
 * Chaos (issue 12 §3): ride through terminator restarts. POST /trigger requests arrive at a
 * steady 100/s while the terminator is killed with SIGKILL ten times and restarted each time.
 * Messages that arrive while no session is open wait in the initiator's outbox and leave when
 * the next session opens, so every caller is answered 200: nothing is refused, nothing lost.
 * Every caller's answer and every hook call is counted: each 200's id was handed to a hook
 * (with the payload that request sent), every repeat is flagged redelivered, and no id
 * reached a hook that no caller was answered for. Also measured: how long each restart left
 * the initiator without a session, and how long it took to find the restarted terminator.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { readDeliveries } from '../helpers/delivery.js';
import { makeTestPki, type TestPki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { post, startInitiator, startTerminator, type Proc } from '../helpers/procs.js';

const REQUESTS = 3_000;
const PER_SECOND = 100;
const KILLS = 10;
/** First kill after this much of the run, then evenly spaced so the last lands well before the end. */
const FIRST_KILL_MS = 1_500;
const KILL_EVERY_MS = 2_600;

let pki: TestPki;
let dir: string;
before(() => {
  pki = makeTestPki();
  dir = mkdtempSync(join(tmpdir(), 'ferry-ride-'));
});
after(() => {
  pki.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

test(`kill -9 the terminator ${KILLS} times while ${REQUESTS} POST /trigger arrive at ${PER_SECOND}/s: every request answered 200, 0 lost, repeats flagged`, async (t) => {
  const sessionPort = await freePort();
  const http = await freePort();
  const trigger = await freePort();
  const deliveries = join(dir, 'deliveries.log');
  const terminatorOptions = { pki, httpPort: await freePort(), sessionPort, fixture: 'recording-terminator.ts', env: { FERRY_TEST_DELIVERY_FILE: deliveries } };
  let terminator: Proc = startTerminator(terminatorOptions);
  await terminator.waitFor(/terminator up/);
  const initiator = startInitiator({ pki, httpPort: http, triggerPort: trigger, sessionPort, fixture: 'initiator.ts', env: { FERRY_AUTO_TRIGGER_COUNT: '0' } });
  try {
    await initiator.waitFor(/^session open/);
    const started = performance.now();

    // The callers: request i leaves at started + i × 10 ms, whatever the earlier ones wait for.
    const answers: Array<Promise<Answer>> = [];
    const load = (async () => {
      for (let i = 0; i < REQUESTS; i += 1) {
        const wait = started + (i * 1000) / PER_SECOND - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        answers.push(post(trigger, '/trigger', { i }).catch((err: unknown) => ({ status: 0, body: { error: String(err) } })));
      }
    })();

    // The kills, at fixed instants of the run; each restart must be found before the next kill.
    const outagesMs: number[] = [];
    const findMs: number[] = [];
    for (let kill = 0; kill < KILLS; kill += 1) {
      const at = started + FIRST_KILL_MS + kill * KILL_EVERY_MS - performance.now();
      if (at > 0) await new Promise((r) => setTimeout(r, at));
      const reopened = initiator.waitForNext(/^session open/, 20_000);
      const killedAt = performance.now();
      terminator.child.kill('SIGKILL');
      assert.equal((await terminator.exited).signal, 'SIGKILL');
      terminator = startTerminator(terminatorOptions);
      await terminator.waitFor(/terminator up/, 20_000);
      const upAt = performance.now();
      await reopened;
      const openAt = performance.now();
      outagesMs.push(openAt - killedAt);
      findMs.push(openAt - upAt);
    }
    await load;
    const results = await Promise.all(answers);
    const runMs = performance.now() - started;

    const byStatus = new Map<string, number>();
    for (const a of results) {
      const key = a.status === 200 ? '200' : `${a.status} ${String(a.body['error'])}`;
      byStatus.set(key, (byStatus.get(key) ?? 0) + 1);
    }
    t.diagnostic(`answers: ${[...byStatus].map(([k, n]) => `${k}: ${n}`).join(', ')} in ${Math.round(runMs)} ms`);
    assert.equal(results.length, REQUESTS);
    assert.deepEqual([...byStatus], [['200', REQUESTS]], 'every request answered 200');

    // Every answer against every hook call.
    const sentPayload = new Map<string, string>();
    let answeredRedelivered = 0;
    results.forEach((a, i) => {
      const id = String(a.body['id']);
      assert.ok(!sentPayload.has(id), `id ${id} answered twice`);
      sentPayload.set(id, JSON.stringify({ i }));
      if (a.body['redelivered'] === true) answeredRedelivered += 1;
    });
    const log = readDeliveries(deliveries);
    const seen = new Map<string, number>();
    let handed = 0;
    let flagged = 0;
    let unflaggedDuplicates = 0;
    log.incarnations.forEach((calls, n) => {
      const inThisOne = new Set<string>();
      for (const { id, redelivered, payload } of calls) {
        handed += 1;
        if (redelivered) flagged += 1;
        const count = seen.get(id) ?? 0;
        if (count > 0 && !redelivered) unflaggedDuplicates += 1;
        seen.set(id, count + 1);
        assert.ok(!inThisOne.has(id), `incarnation ${n} handed ${id} to its hook twice`);
        inThisOne.add(id);
        assert.equal(payload, sentPayload.get(id), `${id}: the hook got the payload its caller sent`);
      }
    });
    const lost = [...sentPayload.keys()].filter((id) => !seen.has(id));
    const phantom = [...seen.keys()].filter((id) => !sentPayload.has(id));
    const duplicates = handed - seen.size;
    t.diagnostic(
      `kills=${KILLS} incarnations=${log.incarnations.length} sessions=${initiator.matching(/^session open/).length} answered=${results.length} ` +
        `hook calls=${handed} distinct=${seen.size} lost=${lost.length} duplicates=${duplicates} (unflagged ${unflaggedDuplicates}) flagged=${flagged} answered redelivered=${answeredRedelivered}`,
    );
    const fmt = (xs: number[]): string => xs.map((x) => Math.round(x)).join(' ');
    t.diagnostic(`no session after each kill (ms): ${fmt(outagesMs)}; max ${Math.round(Math.max(...outagesMs))}`);
    t.diagnostic(`terminator up → session open (ms): ${fmt(findMs)}; max ${Math.round(Math.max(...findMs))}`);
    assert.equal(log.incarnations.length, KILLS + 1);
    assert.deepEqual(lost.slice(0, 5), [], `${lost.length} answered ids never reached a hook`);
    assert.deepEqual(phantom.slice(0, 5), [], 'the hook saw only ids some caller was answered for');
    assert.equal(unflaggedDuplicates, 0, 'every repeat is flagged redelivered');
  } finally {
    await initiator.kill('SIGKILL');
    await terminator.kill('SIGKILL');
  }
});
