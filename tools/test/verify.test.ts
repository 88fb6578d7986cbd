import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { autoTriggerCompleteLine, autoTriggerStartLine } from '@fast-ferry/core';
import { CONTAINER, INITIATOR, TERMINATOR } from '../src/names.js';
import type { ClusterView, ContainerState, DeploymentState, PodState } from '../src/verify/cluster.js';
import { VerifyError, verify } from '../src/verify/flow.js';
import { HINTS, hintsFor } from '../src/verify/hints.js';

const NS = { initiator: INITIATOR.namespace, terminator: TERMINATOR.namespace } as const;

interface FakeState {
  available: { initiator: number; terminator: number };
  containers?: Partial<Record<'initiator' | 'terminator', ContainerState>>;
  logLines: string[];
  /** ms between streamed log lines */
  lineDelayMs?: number;
  createdAt?: { initiator: number; terminator: number };
  /** readiness of the initiator pod, asked on each pods() call */
  initiatorReady?: () => boolean;
}

/**
 * A fake ClusterView, i.e. a mock of the Kubernetes API (no API server can run here): Deployments,
 * one pod each, a log that streams given lines; records calls.
 */
function fakeCluster(state: FakeState): ClusterView & { calls: string[] } {
  const calls: string[] = [];
  const name = (ns: string) => (ns === NS.initiator ? 'initiator' : 'terminator') as 'initiator' | 'terminator';
  return {
    calls,
    async deployment(namespace, dep): Promise<DeploymentState> {
      calls.push(`deployment ${namespace}/${dep}`);
      const n = name(namespace);
      return { name: dep, namespace, selector: `app.kubernetes.io/component=${n}`, desired: 1, updated: 1, available: state.available[n], current: 1, generation: 2, observedGeneration: 2 };
    },
    async pods(namespace): Promise<PodState[]> {
      const n = name(namespace);
      const c = state.containers?.[n] ?? { name: CONTAINER, ready: true, restartCount: 0, state: 'running' };
      const ready = n === 'initiator' && state.initiatorReady ? state.initiatorReady() : c.ready;
      return [{ name: `${n}-abc`, namespace, phase: 'Running', ready, terminating: false, createdAt: state.createdAt?.[n] ?? 1, containers: [c] }];
    },
    async followLog(namespace, pod, container, onLine, signal) {
      calls.push(`follow ${namespace}/${pod}/${container}`);
      for (const line of state.logLines) {
        if (signal.aborted) return;
        await new Promise((r) => setTimeout(r, state.lineDelayMs ?? 1));
        onLine(line);
      }
      await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
    },
    async tailLog(namespace, pod, container, lines, previous) {
      calls.push(`tail ${namespace}/${pod}/${container} ${lines}${previous ? ' previous' : ''}`);
      const own = pod.startsWith('initiator') ? state.logLines.slice(-lines) : [];
      return [...own, `last line of ${pod}${previous ? ' (previous)' : ''}`].join('\n');
    },
    async events(namespace) {
      return [`12:00:00 Warning BackOff Pod/${name(namespace)}-abc: Back-off restarting failed container`];
    },
  };
}

const capture = () => {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, sinks: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
};
const complete = (n: number, m = n) => autoTriggerCompleteLine(n, m);
const starting = autoTriggerStartLine(5);

describe('verify against a fake cluster (a mock of the Kubernetes API: no API server runs here)', () => {
  it('prints the complete line once both deployments are available and the initiator logs N/N', async () => {
    const cluster = fakeCluster({ available: { initiator: 1, terminator: 1 }, logLines: [starting, complete(5)] });
    const c = capture();
    const line = await verify({ cluster, messages: 5, timeoutMs: 2000, pollMs: 5, ...c.sinks });
    assert.equal(line, complete(5));
    assert.ok(c.out.includes(`  ${complete(5)}`));
    assert.ok(cluster.calls.includes(`follow ${NS.initiator}/initiator-abc/${CONTAINER}`));
    assert.deepEqual(c.err, []);
  });

  it('times out with pod states, events, log tails and a hint when the line never comes', async () => {
    const cluster = fakeCluster({ available: { initiator: 1, terminator: 1 }, logLines: [starting, 'connect ECONNREFUSED 10.43.0.7:8443'] });
    const c = capture();
    await assert.rejects(verify({ cluster, messages: 5, timeoutMs: 300, pollMs: 5, ...c.sinks }), VerifyError);
    const text = c.err.join('\n');
    assert.match(text, /✖ verify: no "Auto-trigger complete — 5\/5 messages sent" line in pod\/initiator-abc/);
    assert.match(text, /pod\/terminator-abc: Running, ready/);
    assert.match(text, /Back-off restarting failed container/);
    assert.match(text, new RegExp(`last log lines:\\n {6}${starting}\\n {6}connect ECONNREFUSED`));
    assert.match(text, /cannot reach the terminator/, 'the ECONNREFUSED hint');
  });

  it('fails fast on an image that cannot be pulled, without waiting for the timeout', async () => {
    const cluster = fakeCluster({
      available: { initiator: 0, terminator: 1 },
      containers: { initiator: { name: CONTAINER, ready: false, restartCount: 0, state: 'waiting', reason: 'ErrImageNeverPull', message: 'image not present' } },
      logLines: [],
    });
    const c = capture();
    const t0 = Date.now();
    await assert.rejects(verify({ cluster, messages: 5, timeoutMs: 60_000, pollMs: 5, ...c.sinks }), /ErrImageNeverPull/);
    assert.ok(Date.now() - t0 < 5000);
    assert.match(c.err.join('\n'), /the image is not in the cluster/);
  });

  it('fails fast on a crash-looping container and shows the previous container\'s log', async () => {
    const cluster = fakeCluster({
      available: { initiator: 1, terminator: 0 },
      containers: { terminator: { name: CONTAINER, ready: false, restartCount: 4, state: 'waiting', reason: 'CrashLoopBackOff', lastState: 'terminated (Error, exit 1)' } },
      logLines: [],
    });
    const c = capture();
    await assert.rejects(verify({ cluster, messages: 5, timeoutMs: 60_000, pollMs: 5, ...c.sinks }), /restarted 4 times/);
    assert.ok(cluster.calls.includes(`tail ${NS.terminator}/terminator-abc/${CONTAINER} 30 previous`));
    assert.match(c.err.join('\n'), /last terminated \(Error, exit 1\)/);
  });

  it('fails when the initiator reports fewer messages than configured', async () => {
    const cluster = fakeCluster({ available: { initiator: 1, terminator: 1 }, logLines: [complete(3, 5)] });
    const c = capture();
    await assert.rejects(verify({ cluster, messages: 5, timeoutMs: 2000, pollMs: 5, ...c.sinks }), /reported ".*3\/5 messages sent\.", expected 5\/5/);
  });

  it('skips the log when the auto-trigger is off', async () => {
    const cluster = fakeCluster({ available: { initiator: 1, terminator: 1 }, logLines: [] });
    const c = capture();
    assert.match(await verify({ cluster, messages: 0, timeoutMs: 2000, pollMs: 5, ...c.sinks }), /auto-trigger is off/);
    assert.ok(!cluster.calls.some((x) => x.startsWith('follow')));
  });

  it('after a terminator-only rollout (fake pod ages): waits until the older initiator is Ready again', async () => {
    let asked = 0;
    const cluster = fakeCluster({
      available: { initiator: 1, terminator: 1 }, logLines: [complete(5)],
      createdAt: { initiator: 1, terminator: 2 },
      initiatorReady: () => ++asked > 4,
    });
    const c = capture();
    assert.equal(await verify({ cluster, messages: 5, timeoutMs: 2000, pollMs: 5, settleMs: 10, ...c.sinks }), complete(5));
    assert.match(c.out.join('\n'), /pod\/initiator-abc predates the terminator's rollout/);
    assert.ok(asked > 4, 'polled readiness until Ready');
  });

  it('fails when the older initiator never gets Ready after a terminator-only rollout (fakes)', async () => {
    const cluster = fakeCluster({
      available: { initiator: 1, terminator: 1 }, logLines: [complete(5)],
      createdAt: { initiator: 1, terminator: 2 },
      initiatorReady: () => false,
    });
    const c = capture();
    await assert.rejects(verify({ cluster, messages: 5, timeoutMs: 200, pollMs: 5, settleMs: 10, ...c.sinks }), /not Ready .* no session to the new terminator/);
  });

  it('recognises the complete line in JSON log format too', async () => {
    const json = JSON.stringify({ level: 'info', msg: complete(7) });
    const cluster = fakeCluster({ available: { initiator: 1, terminator: 1 }, logLines: [json] });
    const c = capture();
    assert.equal(await verify({ cluster, messages: 7, timeoutMs: 2000, pollMs: 5, ...c.sinks }), json);
  });
});

describe('verify hints', () => {
  it('prints "cause: fix" for each row whose pattern matches the report, in table order', () => {
    const report = 'web-app: waiting (ImagePullBackOff)\n    last terminated (OOMKilled, exit 137)';
    const rows = HINTS.filter((h) => /ImagePull|OOMKilled/.test(h.shows));
    assert.equal(rows.length, 2);
    assert.deepEqual(hintsFor(report), rows.map((h) => `${h.cause}: ${h.fix}`));
    assert.deepEqual(hintsFor('all fine'), []);
  });

  it('is data a docs generator can render: every row says what it shows, the cause and the fix', () => {
    for (const h of HINTS) for (const text of [h.shows, h.cause, h.fix]) assert.ok(text.trim().length > 0, String(h.pattern));
    assert.ok(Object.isFrozen(HINTS) && HINTS.every((h) => Object.isFrozen(h)));
  });
});
