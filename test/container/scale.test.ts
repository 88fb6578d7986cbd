/**
 * Container test at scale (issue 12): two initiator and two terminator containers from the
 * shipped images on one Docker network, configured from the rendered chart like the single
 * pair in container.test.ts. Both terminators carry the network aliases of the terminator
 * Service's DNS names, the names their certificate covers, so Docker's DNS answers with both,
 * as a Service would. Each initiator's auto-trigger completes; then one terminator container
 * that carries sessions is killed with SIGKILL while the host streams POST /trigger to both
 * initiators, and started again (issue 12: every initiator's messages delivered, 0 lost). An
 * initiator whose session opened once keeps accepting messages while it reconnects (they wait
 * in its outbox; docs/protocol.md "While reconnecting"), so every request is answered 200, every
 * 200's id is in the '📨 Received <id>' lines of a terminator's default hook, and of the copies
 * of one message at most one arrives without the redelivered flag.
 * Needs what container.test.ts needs (.ci/container-test.sh).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { docker, httpStatus, ipOn, logsOf, running, triggerPort, type RunPlan } from '../../bench/src/chart-pods.js';
import { buildAndRender, waitFor } from './rendered-chart.js';

/** The same chart values as container.test.ts: ports the apps do not default to. */
const CONTAINER_TEST_VALUES = { ports: { http: 8090, session: 9443 } };
const REPLICAS = 2;
/** Concurrent POST /trigger callers per initiator. */
const CALLERS = 8;
const LOAD_BEFORE_KILL_MS = 1500;
const DOWN_MS = 1000;
const LOAD_AFTER_START_MS = 3000;

const run = randomBytes(4).toString('hex');
const work = mkdtempSync(join(tmpdir(), 'ferry-scale-test-'));
const network = `ferry-sc-${run}`;
const terminators: RunPlan[] = [];
const initiators: RunPlan[] = [];
let autoTriggerCount = 0;

interface Answer {
  initiator: number;
  status: number;
  id?: string;
  /** The error code of an answer other than 200 (FERRY_ERR_...), or why there was no answer. */
  error?: string;
}

/** One caller: POSTs to `plan`'s /trigger until `until()` says stop, recording every answer. */
async function caller(plan: RunPlan, initiator: number, until: () => boolean, answers: Answer[]): Promise<void> {
  for (let n = 0; !until(); n += 1) {
    let status = 0;
    try {
      const res = await fetch(`http://${plan.ip}:${triggerPort(plan)}/trigger`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ caller: initiator, n }),
        signal: AbortSignal.timeout(40_000),
      });
      status = res.status;
      const body = (await res.json()) as { id?: string; error?: string };
      answers.push(status === 200 ? { initiator, status, id: String(body.id) } : { initiator, status, error: String(body.error) });
    } catch (e) {
      answers.push({ initiator, status, error: (e as Error).name });
    }
    // A refused caller waits a little before its next message, as a client with a retry would.
    if (status !== 200) await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every '📨 Received <id>' line of a terminator's default hook, run after run: [id, redelivered]. */
async function received(plan: RunPlan): Promise<Array<[string, boolean]>> {
  const out: Array<[string, boolean]> = [];
  for (const m of (await logsOf(plan.container)).matchAll(/📨 Received (\S+?)( \(redelivered\))?: /g)) out.push([m[1] as string, m[2] !== undefined]);
  return out;
}

async function openSessions(plan: RunPlan): Promise<number> {
  const logs = await logsOf(plan.container);
  return (logs.match(/session open/g) ?? []).length - (logs.match(/session closed/g) ?? []).length;
}

describe('container test at scale: 2 initiators → 2 terminators behind one Service name', { timeout: 10 * 60_000 }, () => {
  before(async () => {
    const rendered = await buildAndRender({ work, network, namePrefix: `ferry-sc-${run}` }, CONTAINER_TEST_VALUES);
    autoTriggerCount = rendered.autoTriggerCount;
    await docker('network', 'create', network);
    // Terminators first (the Service has endpoints), then the initiators.
    for (let i = 0; i < REPLICAS; i += 1) terminators.push(rendered.plan('terminator', `ferry-sc-${run}-terminator-${i}`));
    for (let i = 0; i < REPLICAS; i += 1) initiators.push(rendered.plan('initiator', `ferry-sc-${run}-initiator-${i}`));
    for (const plan of [...terminators, ...initiators]) {
      await docker('run', '--detach', ...plan.runArgs);
      plan.ip = await ipOn(plan.container, network);
    }
  });

  after(async () => {
    for (const plan of [...terminators, ...initiators]) {
      if (process.exitCode || process.env['CONTAINER_TEST_SHOW_LOGS']) {
        const logs = (await logsOf(plan.container)).split('\n').filter((l) => !l.includes('📨 Received'));
        console.log(`# --- docker logs ${plan.container} (without the per-message lines) ---\n${logs.join('\n').replace(/^/gm, '# ')}`);
      }
      await docker('rm', '--force', plan.container).catch(() => undefined);
    }
    await docker('network', 'rm', network).catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  });

  it("each initiator's auto-trigger completes through the shared Service name", async () => {
    const complete = `🔁 Auto-trigger complete — ${autoTriggerCount}/${autoTriggerCount} messages sent.`;
    for (const plan of initiators) {
      await waitFor(`${plan.container}: the auto-trigger complete line`, async () => {
        if (!(await running(plan.container))) assert.fail(`${plan.container} exited:\n${await logsOf(plan.container)}`);
        return (await logsOf(plan.container)).includes('Auto-trigger complete') ? true : undefined;
      }).catch(async (e: Error) => assert.fail(`${e.message}\n${await logsOf(plan.container)}`));
      const logs = await logsOf(plan.container);
      assert.ok(logs.includes(complete), `${plan.container}: expected "${complete}" in:\n${logs}`);
    }
    const sessions = await Promise.all(terminators.map(openSessions));
    console.log(`# open sessions per terminator: ${sessions.join(', ')}`);
    assert.equal(sessions.reduce((a, b) => a + b, 0), REPLICAS, 'one session per initiator');
  });

  it('kill -9 of a terminator carrying sessions mid-stream, then started again: every request answered 200 and delivered, repeats flagged', async () => {
    const sessions = await Promise.all(terminators.map(openSessions));
    const victim = terminators[(sessions[0] ?? 0) >= (sessions[1] ?? 0) ? 0 : 1] as RunPlan;
    const answers: Answer[] = [];
    let stop = false;
    const load = initiators.flatMap((plan, i) => Array.from({ length: CALLERS }, () => caller(plan, i, () => stop, answers)));
    await new Promise((r) => setTimeout(r, LOAD_BEFORE_KILL_MS));
    await docker('kill', '--signal', 'KILL', victim.container);
    const killedAt = answers.length;
    await new Promise((r) => setTimeout(r, DOWN_MS));
    await docker('start', victim.container);
    victim.ip = await ipOn(victim.container, network);
    await waitFor(`${victim.container} ready again`, async () => ((await httpStatus(victim.ip as string, victim.readiness)) === 200 ? true : undefined));
    await new Promise((r) => setTimeout(r, LOAD_AFTER_START_MS));
    stop = true;
    await Promise.all(load);

    const copies = new Map<string, boolean[]>();
    for (const plan of terminators) for (const [id, redelivered] of await received(plan)) copies.set(id, [...(copies.get(id) ?? []), redelivered]);
    const ok = answers.filter((a) => a.status === 200);
    const lost = ok.filter((a) => !copies.has(a.id as string));
    const statuses = new Map<string, number>();
    for (const a of answers) {
      const key = a.status === 200 ? '200' : `${a.status} ${a.error}`;
      statuses.set(key, (statuses.get(key) ?? 0) + 1);
    }
    const twice = [...copies].filter(([, flags]) => flags.length > 1);
    console.log(
      `# killed ${victim.container} (${sessions.join('/')} sessions) after ${killedAt} answers; answers by status: ${[...statuses].map(([s, n]) => `${s}=${n}`).join(' ')}; ` +
        `delivered ids=${copies.size}, delivered twice=${twice.length}, lost=${lost.length}`,
    );
    assert.deepEqual(
      [...statuses].filter(([status]) => status !== '200'),
      [],
      'every POST /trigger answered 200: a message accepted while the initiator reconnects waits in its outbox (0 = no HTTP answer)',
    );
    for (let i = 0; i < initiators.length; i += 1) {
      const mine = ok.filter((a) => a.initiator === i);
      assert.ok(mine.length > 0, `initiator ${i} delivered messages`);
      assert.deepEqual(mine.filter((a) => !copies.has(a.id as string)).map((a) => a.id).slice(0, 5), [], `initiator ${i}: every 200 reached a terminator's hook`);
    }
    assert.ok(answers.slice(killedAt).some((a) => a.status === 200), 'messages were delivered after the kill');
    assert.deepEqual(twice.filter(([, flags]) => flags.filter((f) => !f).length > 1).slice(0, 5), [], 'of the copies of one message, at most one arrives unflagged');
    for (const plan of initiators) assert.ok(await running(plan.container), `${plan.container} kept running`);
    const moved = await Promise.all(initiators.map(async (plan) => ((await logsOf(plan.container)).match(/session open/g) ?? []).length));
    console.log(`# sessions opened per initiator: ${moved.join(', ')}`);
    assert.ok(moved.some((n) => n >= 2), 'an initiator lost its terminator and opened a session again');
  });
});
