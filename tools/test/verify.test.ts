import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { autoTriggerCompleteLine, autoTriggerStartLine, createLogger } from '@fast-ferry/core';
import { CONTAINER, INITIATOR, TERMINATOR } from '../src/names.js';
import type { ClusterView, ContainerState, DeploymentState, PodState } from '../src/verify/cluster.js';
import { VerifyError, noSessionSince, sessionEvent, verify } from '../src/verify/flow.js';
import { HINTS, hintsFor } from '../src/verify/hints.js';

const NS = { initiator: INITIATOR.namespace, terminator: TERMINATOR.namespace } as const;

interface FakeState {
  available: { initiator: number; terminator: number };
  containers?: Partial<Record<'initiator' | 'terminator', ContainerState>>;
  logLines: string[];
  createdAt?: { initiator: number; terminator: number };
  /** readiness of the initiator pod, asked on each pods() call */
  initiatorReady?: () => boolean;
  /** the initiator pod's log as `kubectl logs --timestamps` has it, asked on each timestamped tail */
  initiatorStampedLog?: () => string[];
  /** called as a pod's log starts to be followed */
  onFollow?: () => void;
}

/**
 * core's real logger output (core/src/log.ts createLogger) for a session line, stamped as the
 * Kubernetes API stamps it with `timestamps=true` (RFC 3339 with nanoseconds, then a space).
 */
function sessionLine(event: 'open' | 'closed', atMs: number, format: 'text' | 'json' = 'text'): string {
  const lines: string[] = [];
  const log = createLogger({ format, level: 'info', write: (l) => lines.push(l) }).child({ sessionId: 'b7c1e0' });
  if (event === 'open') log.info('session open', { role: 'initiator', armor: 'on', stream: 1, resumeFrom: 4, unacked: 0 });
  else log.info('session closed', { code: 1001, reason: 'terminator draining', by: 'peer' });
  assert.equal(lines.length, 1);
  return `${new Date(atMs).toISOString().replace('Z', '000000Z')} ${lines[0] as string}`;
}
const stamped = (line: string, atMs: number) => `${new Date(atMs).toISOString().replace('Z', '000000Z')} ${line}`;

/**
 * A streamed log line comes in a later turn, as from a real stream, but not on a timer: after a
 * stall a 1 ms timer can fire after verify's deadline timer, and a line that was there in time
 * would count as missing.
 */
const nextLine = () => new Promise<void>((r) => setImmediate(r));

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
      state.onFollow?.();
      for (const line of state.logLines) {
        if (signal.aborted) return;
        await nextLine();
        onLine(line);
      }
      await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
    },
    async tailLog(namespace, pod, container, lines, previous, timestamps) {
      calls.push(`tail ${namespace}/${pod}/${container} ${lines}${previous ? ' previous' : ''}${timestamps ? ' timestamps' : ''}`);
      if (timestamps) return pod.startsWith('initiator') ? (state.initiatorStampedLog?.() ?? []).slice(-lines).join('\n') : '';
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

  it('reports a timeout, not an ended log, when the wall clock is stepped back while it follows the log (NTP)', async () => {
    const realNow = Date.now;
    const cluster = fakeCluster({
      available: { initiator: 1, terminator: 1 },
      logLines: [starting],
      onFollow: () => { Date.now = () => realNow() - 1000; },
    });
    const c = capture();
    try {
      await assert.rejects(verify({ cluster, messages: 5, timeoutMs: 300, pollMs: 5, ...c.sinks }), VerifyError);
    } finally {
      Date.now = realNow;
    }
    const text = c.err.join('\n');
    assert.match(text, /✖ verify: no "Auto-trigger complete — 5\/5 messages sent" line in pod\/initiator-abc after 0\.3 s/);
    assert.doesNotMatch(text, /ended before/);
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

  it('after a terminator-only rollout (fake pod ages, log tail from the mock API): waits until the older initiator\'s log shows a session opened after the new terminator pod', async () => {
    let tails = 0;
    const before = [sessionLine('open', 1500), stamped(complete(5), 1600)];
    const cluster = fakeCluster({
      available: { initiator: 1, terminator: 1 }, logLines: [complete(5)],
      createdAt: { initiator: 1000, terminator: 5000 },
      // Ready throughout (it queues while reconnecting); the session to the new pod opens on the 4th look.
      initiatorStampedLog: () => (++tails < 4 ? [...before, sessionLine('closed', 4000)] : [...before, sessionLine('closed', 4000), sessionLine('open', 6000)]),
    });
    const c = capture();
    assert.equal(await verify({ cluster, messages: 5, timeoutMs: 2000, pollMs: 5, ...c.sinks }), complete(5));
    const out = c.out.join('\n');
    assert.match(out, /pod\/initiator-abc predates the terminator's rollout: checking its log for a session to the new terminator/);
    assert.match(out, /waiting: pod\/initiator-abc \(its session closed at 00:00:04\.000 and has not reopened\)/);
    assert.equal(tails, 4, 'tailed the log until the session reopened');
    assert.ok(cluster.calls.includes(`tail ${NS.initiator}/initiator-abc/${CONTAINER} 1000 timestamps`));
  });

  it('after a terminator-only rollout, a Ready initiator whose log shows its session closed and not reopened fails naming the pod (mock API)', async () => {
    const cluster = fakeCluster({
      available: { initiator: 1, terminator: 1 }, logLines: [complete(5)],
      createdAt: { initiator: 1000, terminator: 5000 },
      initiatorReady: () => true,
      initiatorStampedLog: () => [sessionLine('open', 1500), sessionLine('closed', 5200)],
    });
    const c = capture();
    await assert.rejects(verify({ cluster, messages: 5, timeoutMs: 200, pollMs: 5, ...c.sinks }),
      /^VerifyError: pod\/initiator-abc \(its session closed at 00:00:05\.200 and has not reopened\) has no session to the new terminator 0\.2 s after the terminator's rollout$/);
    assert.ok(!c.out.some((l) => l.includes(complete(5))), 'the auto-trigger line from before the rollout does not count');
  });

  it('after a terminator-only rollout, a session (JSON log) still open from before the new terminator pod does not count (mock API)', async () => {
    const cluster = fakeCluster({
      available: { initiator: 1, terminator: 1 }, logLines: [complete(5)],
      createdAt: { initiator: 1000, terminator: 5000 },
      initiatorStampedLog: () => [sessionLine('open', 1500, 'json')],
    });
    const c = capture();
    await assert.rejects(verify({ cluster, messages: 5, timeoutMs: 200, pollMs: 5, ...c.sinks }),
      /pod\/initiator-abc \(its session opened at 00:00:01\.500, before the new terminator pod was created \(00:00:05\.000\)\) has no session to the new terminator/);
  });

  it('fails when the older initiator never gets Ready after a terminator-only rollout, without reading its log (fakes)', async () => {
    const cluster = fakeCluster({
      available: { initiator: 1, terminator: 1 }, logLines: [complete(5)],
      createdAt: { initiator: 1, terminator: 2 },
      initiatorReady: () => false,
      initiatorStampedLog: () => [sessionLine('open', 3)],
    });
    const c = capture();
    await assert.rejects(verify({ cluster, messages: 5, timeoutMs: 200, pollMs: 5, ...c.sinks }), /^VerifyError: pod\/initiator-abc \(not Ready\) has no session to the new terminator/);
    assert.ok(!cluster.calls.some((x) => x.endsWith(' timestamps')), 'Ready is the precondition');
  });

  it('recognises the complete line in JSON log format too', async () => {
    const json = JSON.stringify({ level: 'info', msg: complete(7) });
    const cluster = fakeCluster({ available: { initiator: 1, terminator: 1 }, logLines: [json] });
    const c = capture();
    assert.equal(await verify({ cluster, messages: 7, timeoutMs: 2000, pollMs: 5, ...c.sinks }), json);
  });
});

interface FakePod {
  name: string;
  /** initiator pods: the web-app log, streamed line by line */
  lines?: string[];
  replicaSet?: string;
  phase?: string;
  ready?: boolean;
  createdAt?: number;
  container?: Partial<ContainerState>;
  conditions?: PodState['conditions'];
  /** initiator pods: the log as `kubectl logs --timestamps` has it */
  stampedLog?: string[];
}

/**
 * A fake ClusterView with several pods per side, i.e. a mock of the Kubernetes API (no API
 * server can run here): each initiator pod streams its own log; the terminator's pods and the
 * events are given as a cluster would report them.
 */
function fakeScaledCluster(o: { initiators: FakePod[]; terminators: FakePod[]; events?: string[]; initiatorReplicaSet?: string; initiatorReady?: (pod: string) => boolean }): ClusterView & { followed: string[] } {
  const followed: string[] = [];
  const side = (ns: string) => (ns === NS.initiator ? o.initiators : o.terminators);
  const toState = (namespace: string, p: FakePod): PodState => {
    const c: ContainerState = { name: CONTAINER, ready: p.ready ?? true, restartCount: 0, state: 'running', ...p.container };
    const ready = namespace === NS.initiator && o.initiatorReady ? o.initiatorReady(p.name) : p.ready ?? true;
    return {
      name: p.name, namespace, phase: p.phase ?? 'Running', ready, terminating: false, createdAt: p.createdAt ?? 1, containers: p.phase === 'Pending' && !p.container ? [] : [c],
      ...(p.replicaSet ? { replicaSet: p.replicaSet } : {}),
      ...(p.conditions ? { conditions: p.conditions } : {}),
    };
  };
  return {
    followed,
    async deployment(namespace, dep): Promise<DeploymentState> {
      const pods = side(namespace).filter((p) => namespace !== NS.initiator || !o.initiatorReplicaSet || p.replicaSet === o.initiatorReplicaSet);
      const available = pods.filter((p) => p.ready ?? true).length;
      return {
        name: dep, namespace, selector: `app.kubernetes.io/component=${dep}`, desired: pods.length, updated: pods.length, available, current: pods.length, generation: 1, observedGeneration: 1,
        ...(namespace === NS.initiator && o.initiatorReplicaSet ? { replicaSet: o.initiatorReplicaSet } : {}),
      };
    },
    async pods(namespace) {
      return side(namespace).map((p) => toState(namespace, p));
    },
    async followLog(namespace, pod, _container, onLine, signal) {
      followed.push(pod);
      for (const line of side(namespace).find((p) => p.name === pod)?.lines ?? []) {
        if (signal.aborted) return;
        await nextLine();
        onLine(line);
      }
      await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
    },
    async tailLog(namespace, pod, _container, lines, _previous, timestamps) {
      if (timestamps) return (side(namespace).find((p) => p.name === pod)?.stampedLog ?? []).slice(-lines).join('\n');
      return `last line of ${pod}`;
    },
    async events(namespace) {
      return namespace === NS.terminator ? (o.events ?? []) : [];
    },
  };
}

describe('verify at N > 1 pods per side (fake cluster: a mock of the Kubernetes API)', () => {
  const healthyTerminators: FakePod[] = [{ name: 'terminator-1' }, { name: 'terminator-2' }];

  it('passes when both initiator pods log N/N, following each pod', async () => {
    const cluster = fakeScaledCluster({
      initiators: [{ name: 'initiator-a', lines: [starting, complete(5)] }, { name: 'initiator-b', lines: [starting, 'reconnecting', complete(5)] }],
      terminators: healthyTerminators,
    });
    const c = capture();
    const result = await verify({ cluster, messages: 5, timeoutMs: 2000, pollMs: 5, ...c.sinks });
    assert.match(result, /^all 2 initiator pods: Auto-trigger complete — 5\/5 messages sent$/);
    assert.deepEqual([...cluster.followed].sort(), ['initiator-a', 'initiator-b']);
    assert.ok(c.out.includes(`  pod/initiator-a: ${complete(5)}`) && c.out.includes(`  pod/initiator-b: ${complete(5)}`), c.out.join('\n'));
    assert.deepEqual(c.err, []);
  });

  it('fails naming the one initiator pod without its line, with the tally and the command that shows every pod', async () => {
    const cluster = fakeScaledCluster({
      initiators: [{ name: 'initiator-a', lines: [starting, complete(5)] }, { name: 'initiator-b', lines: [starting] }],
      terminators: healthyTerminators,
    });
    const c = capture();
    const err = await verify({ cluster, messages: 5, timeoutMs: 300, pollMs: 5, ...c.sinks }).then(() => assert.fail('expected a VerifyError'), (e: unknown) => e as Error);
    assert.ok(err instanceof VerifyError);
    assert.match(err.message, /^no "Auto-trigger complete — 5\/5 messages sent" line in pod\/initiator-b after /);
    assert.doesNotMatch(err.message, /pod\/initiator-a/);
    assert.ok(err.message.includes(`1 of 2 initiator pods complete; every pod's log: kubectl logs -n ${NS.initiator} -l app.kubernetes.io/component=initiator -c ${CONTAINER} --prefix`), err.message);
  });

  it('fails fast naming the pod that reported fewer messages, without waiting out the others', async () => {
    const cluster = fakeScaledCluster({
      initiators: [{ name: 'initiator-a', lines: [starting] }, { name: 'initiator-b', lines: [complete(3, 5)] }],
      terminators: healthyTerminators,
    });
    const c = capture();
    const t0 = Date.now();
    await assert.rejects(verify({ cluster, messages: 5, timeoutMs: 60_000, pollMs: 5, ...c.sinks }), /^VerifyError: pod\/initiator-b reported ".*3\/5 messages sent\.", expected 5\/5 \(0 of 2 initiator pods complete/);
    assert.ok(Date.now() - t0 < 5000, 'did not wait for initiator-a until the deadline');
  });

  it("follows only the pods of the Deployment's current ReplicaSet", async () => {
    const cluster = fakeScaledCluster({
      initiators: [{ name: 'initiator-old', replicaSet: 'rs-1', lines: [] }, { name: 'initiator-a', replicaSet: 'rs-2', lines: [complete(5)] }, { name: 'initiator-b', replicaSet: 'rs-2', lines: [complete(5)] }],
      initiatorReplicaSet: 'rs-2',
      terminators: healthyTerminators,
    });
    const c = capture();
    await verify({ cluster, messages: 5, timeoutMs: 2000, pollMs: 5, ...c.sinks });
    assert.deepEqual([...cluster.followed].sort(), ['initiator-a', 'initiator-b']);
  });

  it('names why no terminator is ready: its readiness probe fails (the last probe event)', async () => {
    const cluster = fakeScaledCluster({
      initiators: [{ name: 'initiator-a', lines: [] }],
      terminators: [{ name: 'terminator-1', ready: false }, { name: 'terminator-2', ready: false }],
      events: [
        '12:00:01 Warning Unhealthy Pod/terminator-1: Readiness probe failed: HTTP probe failed with statuscode: 503 (x9)',
        '12:00:02 Warning Unhealthy Pod/terminator-2: Readiness probe failed: Get "http://10.42.0.9:8080/readyz": connect: connection refused',
      ],
    });
    const c = capture();
    await assert.rejects(verify({ cluster, messages: 5, timeoutMs: 200, pollMs: 5, ...c.sinks }), /deployment\/terminator .* not available/);
    const text = c.err.join('\n');
    assert.ok(text.includes('  no ready terminator: pod/terminator-1: readiness probe failing (Readiness probe failed: HTTP probe failed with statuscode: 503 (x9)); its log says why; '
      + 'pod/terminator-2: readiness probe failing (Readiness probe failed: Get "http://10.42.0.9:8080/readyz": connect: connection refused); its log says why'), text);
    assert.match(text, /the terminator runs but accepts no sessions/, 'the hint');
  });

  it('names why no terminator is ready: pending, not scheduled, with the scheduler\'s reason', async () => {
    const cluster = fakeScaledCluster({
      initiators: [{ name: 'initiator-a', lines: [] }],
      terminators: [{ name: 'terminator-1', phase: 'Pending', ready: false, conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available: 1 Insufficient cpu.' }] }],
    });
    const c = capture();
    await assert.rejects(verify({ cluster, messages: 5, timeoutMs: 200, pollMs: 5, ...c.sinks }), VerifyError);
    const text = c.err.join('\n');
    assert.ok(text.includes('  no ready terminator: pod/terminator-1: pending, not scheduled (Unschedulable: 0/1 nodes are available: 1 Insufficient cpu.)'), text);
    assert.match(text, /lower replicas\.<app> or resources\.<app>\.requests/, 'the hint');
  });

  it('names why no terminator is ready: every replica is in a crash loop (and gives up at once)', async () => {
    const looping = { ready: false, state: 'waiting', reason: 'CrashLoopBackOff', restartCount: 3, lastState: 'terminated (Error, exit 1)' };
    const cluster = fakeScaledCluster({
      initiators: [{ name: 'initiator-a', lines: [] }],
      terminators: [{ name: 'terminator-1', ready: false, container: looping }, { name: 'terminator-2', ready: false, container: looping }],
    });
    const c = capture();
    await assert.rejects(verify({ cluster, messages: 5, timeoutMs: 60_000, pollMs: 5, ...c.sinks }), /restarted 3 times/);
    assert.match(c.err.join('\n'), /no ready terminator: pod\/terminator-1: crash loop \(web-app restarted 3 times, last terminated \(Error, exit 1\)\); pod\/terminator-2: crash loop/);
  });

  it('after a terminator-only rollout, names each older initiator pod whose log shows no session to the new terminator (mock API)', async () => {
    const cluster = fakeScaledCluster({
      initiators: [
        { name: 'initiator-a', createdAt: 1000, lines: [complete(5)], stampedLog: [sessionLine('open', 1500), sessionLine('closed', 4000), sessionLine('open', 6000, 'json')] },
        { name: 'initiator-b', createdAt: 1000, lines: [complete(5)], stampedLog: [sessionLine('open', 1500), sessionLine('closed', 4000)] },
        { name: 'initiator-c', createdAt: 1000, lines: [complete(5)], stampedLog: [sessionLine('open', 6000)] },
      ],
      terminators: [{ name: 'terminator-1', createdAt: 5000 }],
      initiatorReady: (pod) => pod !== 'initiator-c',
    });
    const c = capture();
    await assert.rejects(verify({ cluster, messages: 5, timeoutMs: 200, pollMs: 5, ...c.sinks }),
      /^VerifyError: pod\/initiator-b \(its session closed at 00:00:04\.000 and has not reopened\), pod\/initiator-c \(not Ready\) have no session to the new terminator 0\.2 s after/);
    assert.match(c.out.join('\n'), /pod\/initiator-a, pod\/initiator-b, pod\/initiator-c predate the terminator's rollout/);
  });

  it('after a terminator-only rollout, passes once every older initiator pod logged a session to the new terminator (mock API)', async () => {
    const cluster = fakeScaledCluster({
      initiators: [
        { name: 'initiator-a', createdAt: 1000, lines: [complete(5)], stampedLog: [sessionLine('open', 1500), sessionLine('closed', 4000), sessionLine('open', 6000)] },
        { name: 'initiator-b', createdAt: 1000, lines: [complete(5)], stampedLog: [sessionLine('open', 1500), sessionLine('closed', 4000), stamped('reconnecting', 4100), sessionLine('open', 5000, 'json')] },
      ],
      terminators: [{ name: 'terminator-1', createdAt: 5000 }],
    });
    const c = capture();
    assert.match(await verify({ cluster, messages: 5, timeoutMs: 2000, pollMs: 5, ...c.sinks }), /^all 2 initiator pods: /);
  });
});

describe('the session lines verify reads (core\'s real logger output)', () => {
  it('recognises session open / closed in text and JSON format, and nothing else', () => {
    const line = (format: 'text' | 'json', msg: string) => {
      const out: string[] = [];
      createLogger({ format, level: 'info', write: (l) => out.push(l) }).child({ sessionId: 'x' }).info(msg, { by: 'peer' });
      return out[0] as string;
    };
    for (const format of ['text', 'json'] as const) {
      assert.equal(sessionEvent(line(format, 'session open')), 'open', format);
      assert.equal(sessionEvent(line(format, 'session closed')), 'closed', format);
      assert.equal(sessionEvent(line(format, 'session opened elsewhere')), undefined, format);
    }
    assert.equal(sessionEvent('session open'), 'open', 'text without context');
    assert.equal(sessionEvent('{"msg":'), undefined, 'a broken JSON line');
    assert.equal(sessionEvent('reconnecting  reason="session open"'), undefined);
  });

  it('proves a session only when the last open is after the pod\'s creation and after the last close', () => {
    assert.equal(noSessionSince([sessionLine('closed', 4000), sessionLine('open', 6000)].join('\n'), 5000), undefined);
    assert.equal(noSessionSince(sessionLine('open', 5000), 5000), undefined, 'creationTimestamp has whole seconds: the same instant counts');
    assert.match(noSessionSince([sessionLine('open', 6000), sessionLine('closed', 7000)].join('\n'), 5000) ?? '', /closed at 00:00:07\.000 and has not reopened/);
    assert.match(noSessionSince('initiator up  http=0.0.0.0:8080', 5000) ?? '', /no "session open" line in its last 1000 log lines/, 'unstamped lines are skipped');
    assert.match(noSessionSince(stamped('initiator up', 1000), 5000) ?? '', /FERRY_LOG_LEVEL above info/);
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
