/**
 * A stream that moves between terminator replicas (issue 12): two terminator processes behind
 * a TCP proxy that switches between them as a ClusterIP Service does when a pod goes away or
 * comes up. The initiator is bounced A → B → A → B → A while it streams 20,000 messages with
 * write(). Each terminator's hook appends what it got to its own file. Nothing may be lost
 * (every id reached at least one hook), each terminator sees its messages in order and never
 * one twice, at most one copy of a message arrives unflagged (its first transmission: every
 * resend is flagged redelivered), and there is no hot loop: one session per backend switch,
 * not a stream of refused ones (before streams could move, A refused the stream with
 * FERRY_ERR_SEQUENCE on every reconnect once B had acknowledged messages A never saw).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { readDeliveries, readReport } from '../helpers/delivery.js';
import { makeTestPki, type TestPki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { atLeast, startInitiator, startTerminator, type Proc } from '../helpers/procs.js';
import { SwitchingProxy } from '../helpers/switching-proxy.js';

const MESSAGES = 20_000;
/** A → B → A → B → A: the return to A after B acknowledged messages A never saw is the case that looped. */
const SWITCHES = 4;
const SWITCH_EVERY = 4_000;
/** Sessions beyond one per backend: a switch that lands mid-handshake may cost one more. */
const SESSION_MARGIN = 2;

let pki: TestPki;
let dir: string;
before(() => {
  pki = makeTestPki();
  dir = mkdtempSync(join(tmpdir(), 'ferry-moving-'));
});
after(() => {
  pki.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const seqOf = (id: string): number => Number(id.slice(id.lastIndexOf('-') + 1));

test(`a ${MESSAGES}-message stream bounced between two terminators ${SWITCHES} times: 0 lost, every repeat flagged, no hot loop`, async (t) => {
  const names = ['A', 'B'] as const;
  const files = names.map((n) => join(dir, `deliveries-${n}.log`));
  const sessionPorts = [await freePort(), await freePort()];
  const terminators: Proc[] = [];
  for (let i = 0; i < 2; i += 1) {
    terminators.push(startTerminator({ pki, httpPort: await freePort(), sessionPort: sessionPorts[i] as number, fixture: 'recording-terminator.ts', env: { FERRY_TEST_DELIVERY_FILE: files[i] as string } }));
  }
  const proxyPort = await freePort();
  const proxy = await SwitchingProxy.start(proxyPort, sessionPorts);
  const reportPath = join(dir, 'report.json');
  let initiator: Proc | undefined;
  try {
    for (const terminator of terminators) await terminator.waitFor(/terminator up/);
    // A small outbox keeps the messages in flight few, so each leg between switches carries
    // its share of the stream: with the default limit the stream outruns the switches.
    initiator = startInitiator({
      pki,
      httpPort: await freePort(),
      triggerPort: await freePort(),
      sessionPort: proxyPort,
      fixture: 'stream-initiator.ts',
      env: { FERRY_AUTO_TRIGGER_COUNT: '0', FERRY_TEST_STREAM_COUNT: String(MESSAGES), FERRY_TEST_STREAM_REPORT: reportPath, FERRY_TEST_STREAM_API: 'write', FERRY_SESSION_OUTBOX_LIMIT: '200' },
    });
    await initiator.waitFor(/STREAM START/);
    for (let s = 1; s <= SWITCHES; s += 1) {
      await initiator.waitFor(atLeast('STREAM ACKED', s * SWITCH_EVERY), 30_000);
      assert.equal(initiator.matching(/^STREAM DONE/).length, 0, `the stream was still running at switch ${s}`);
      const reopened = initiator.waitForNext(/^session open/, 15_000);
      proxy.switchTo(s % 2);
      const at = initiator.matching(/^STREAM ACKED/).at(-1);
      await reopened;
      t.diagnostic(`switch ${s} to ${names[s % 2]} at "${at}", reopened at "${initiator.matching(/^STREAM ACKED/).at(-1)}"`);
    }
    const done = await initiator.waitFor(/^STREAM DONE/, 60_000);

    const report = readReport(reportPath);
    const logs = files.map((f) => readDeliveries(f).incarnations);
    // Each replica: one incarnation, its messages in order, none twice, each with its own payload.
    const copies = new Map<string, boolean[]>();
    logs.forEach((incarnations, r) => {
      assert.equal(incarnations.length, 1, `terminator ${names[r]} ran once`);
      let last = 0;
      for (const { id, redelivered, payload } of incarnations[0] ?? []) {
        const seq = seqOf(id);
        assert.ok(seq > last, `terminator ${names[r]}: ${id} after seq ${last} (in order, never twice)`);
        assert.equal(payload, JSON.stringify({ i: seq - 1 }), `terminator ${names[r]}: ${id} carried its own payload`);
        last = seq;
        copies.set(id, [...(copies.get(id) ?? []), redelivered]);
      }
    });
    const lost = report.accepted.filter((id) => !copies.has(id));
    assert.equal(report.accepted.length, MESSAGES);
    assert.deepEqual(lost.slice(0, 5), [], `${lost.length} accepted ids reached no terminator's hook`);
    assert.deepEqual([...copies.keys()].filter((id) => !report.accepted.includes(id)).slice(0, 5), [], 'the hooks saw only ids that were sent');
    const repeated = [...copies].filter(([, flags]) => flags.length > 1);
    const unflaggedRepeats = repeated.filter(([, flags]) => flags.filter((f) => !f).length > 1);
    assert.deepEqual(unflaggedRepeats.slice(0, 5), [], 'of the copies of one message, at most its first transmission arrives unflagged');

    for (const terminator of terminators) assert.deepEqual(terminator.matching(/FERRY_ERR_SEQUENCE/), [], `${terminator.name}: no stream refused`);
    const sessions = initiator.matching(/^session open/).length;
    const moves = terminators.map((p) => p.matching(/stream resumed past messages acknowledged elsewhere/).length);
    t.diagnostic(`${done}`);
    t.diagnostic(
      `switches=${SWITCHES} sessions=${sessions} proxied connections A=${proxy.accepted[0]} B=${proxy.accepted[1]} ` +
        `hook calls A=${logs[0]?.[0]?.length} B=${logs[1]?.[0]?.length} ids delivered twice=${repeated.length} (all flagged) moved past acknowledged-elsewhere A=${moves[0]} B=${moves[1]}`,
    );
    t.diagnostic(`seq runs per terminator: ${logs.map((inc, r) => `${names[r]} ${runs((inc[0] ?? []).map((d) => seqOf(d.id)))}`).join(' | ')}`);
    assert.ok(sessions <= SWITCHES + 1 + SESSION_MARGIN, `${sessions} sessions for ${SWITCHES} switches: a refused stream would reconnect in a loop`);
    assert.ok((moves[0] ?? 0) >= 1, 'A met the stream again after B acknowledged messages it never saw, and moved past them');
  } finally {
    await initiator?.kill('SIGKILL');
    for (const terminator of terminators) await terminator.kill('SIGKILL');
    await proxy.close();
  }
});

/** Contiguous runs of sequence numbers, e.g. `1..4100 8233..12000`. */
function runs(seqs: number[]): string {
  const out: string[] = [];
  let start = seqs[0];
  for (let i = 1; i <= seqs.length; i += 1) {
    const seq = seqs[i];
    const prev = seqs[i - 1] as number;
    if (seq === prev + 1) continue;
    out.push(`${start}..${prev}`);
    start = seq;
  }
  return out.join(' ');
}
