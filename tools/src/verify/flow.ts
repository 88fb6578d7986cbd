/**
 * Verify's control flow: wait until both Deployments are available (giving up early on a pod
 * that cannot start), make sure an initiator older than a rolled terminator holds a session to
 * the new one (its log says so), then follow the log of every initiator pod (each is its own
 * stream) until its auto-trigger complete line. On failure it prints the diagnosis and rejects with VerifyError.
 */
import { autoTriggerCompleteLine, parseAutoTriggerComplete } from '@fast-ferry/core';
import { CONTAINER, INITIATOR, TERMINATOR } from '../names.js';
import type { ClusterView, DeploymentState, PodState, Target } from './cluster.js';
import { diagnose, fatalReason } from './diagnose.js';

export interface VerifyOptions {
  readonly cluster: ClusterView;
  readonly initiator?: Target;
  readonly terminator?: Target;
  readonly container?: string;
  /** Messages the auto-trigger sends (blueprint autoTrigger.count); 0 skips the log check. */
  readonly messages: number;
  readonly timeoutMs: number;
  readonly pollMs?: number;
  readonly out?: (line: string) => void;
  readonly err?: (line: string) => void;
}

type Resolved = Required<VerifyOptions>;

export class VerifyError extends Error {
  override readonly name = 'VerifyError';
  readonly code = 'FERRY_ERR_VERIFY';
}

const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });

function isAvailable(d: DeploymentState): boolean {
  return d.observedGeneration >= d.generation && d.updated >= d.desired && d.available >= d.desired && d.current <= d.desired;
}

async function waitAvailable(o: Resolved, target: Target, deadline: number): Promise<DeploymentState> {
  let lastReport = '';
  for (;;) {
    const d = await o.cluster.deployment(target.namespace, target.deployment);
    if (d && isAvailable(d)) return d;
    const report = d ? `${d.available}/${d.desired} available, ${d.updated} updated` : 'not found yet';
    if (report !== lastReport) o.out(`  deployment/${target.deployment} (${target.namespace}): ${report}`);
    lastReport = report;
    if (d) {
      const fatal = fatalReason(await o.cluster.pods(target.namespace, d.selector));
      if (fatal) throw new VerifyError(`deployment/${target.deployment} cannot become available: ${fatal}`);
    }
    if (Date.now() >= deadline) throw new VerifyError(`deployment/${target.deployment} in ${target.namespace} not available after ${seconds(o.timeoutMs)} (${report})`);
    await sleep(o.pollMs);
  }
}

/** The pods that count: running, not terminating, and of the Deployment's current ReplicaSet when that is known. */
function currentPods(pods: readonly PodState[], d: DeploymentState): PodState[] {
  return pods
    .filter((p) => !p.terminating && p.phase === 'Running' && (d.replicaSet === undefined || p.replicaSet === undefined || p.replicaSet === d.replicaSet))
    .sort((a, b) => a.createdAt - b.createdAt || a.name.localeCompare(b.name));
}

/** `kubectl logs` of every pod of a Deployment, each line prefixed with its pod. */
function allLogsCommand(d: DeploymentState, container: string): string {
  return `kubectl logs -n ${d.namespace} -l ${d.selector} -c ${container} --prefix`;
}

type LineOutcome =
  | { readonly pod: string; readonly kind: 'complete'; readonly line: string }
  | { readonly pod: string; readonly kind: 'mismatch'; readonly line: string }
  | { readonly pod: string; readonly kind: 'ended' | 'timeout' | 'stopped' };

/** Follows one pod's log until its auto-trigger complete line, the end of the log, the deadline or `stop`. */
async function followOne(o: Resolved, pod: PodState, deadline: number, stop: AbortSignal): Promise<LineOutcome> {
  const ac = new AbortController();
  let outcome: LineOutcome | undefined;
  // Which cause ended the follow is recorded when it fires, not re-derived from Date.now():
  // timers run on a monotonic clock and may fire a millisecond before the wall clock reaches
  // the deadline, which would report a timeout as an ended log.
  let timedOut = false;
  const timer = setTimeout(() => { timedOut = true; ac.abort(); }, Math.max(0, deadline - Date.now()));
  const onStop = () => ac.abort();
  stop.addEventListener('abort', onStop, { once: true });
  try {
    const stream = o.cluster.followLog(pod.namespace, pod.name, o.container, (line) => {
      if (outcome) return;
      const report = parseAutoTriggerComplete(line);
      if (!report) return;
      const done = report.sent === o.messages && report.count === o.messages;
      outcome = { pod: pod.name, kind: done ? 'complete' : 'mismatch', line: line.trim() };
      ac.abort();
    }, ac.signal);
    await Promise.race([stream, new Promise<void>((resolve) => ac.signal.addEventListener('abort', () => resolve(), { once: true }))]);
  } finally {
    clearTimeout(timer);
    stop.removeEventListener('abort', onStop);
    ac.abort();
  }
  if (outcome) return outcome;
  if (timedOut) return { pod: pod.name, kind: 'timeout' };
  return { pod: pod.name, kind: stop.aborted ? 'stopped' : 'ended' };
}

/**
 * Every initiator pod is its own stream with its own auto-trigger: follows the web-app log of
 * each pod of the current ReplicaSet at once, and fails naming each pod that reported fewer
 * messages, whose log ended, or that logged no complete line by the deadline. A pod that fails
 * for good stops the others (no point waiting out the deadline).
 */
async function waitForCompleteLines(o: Resolved, ini: DeploymentState, deadline: number): Promise<string[]> {
  const pods = currentPods(await o.cluster.pods(ini.namespace, ini.selector), ini);
  if (pods.length === 0) throw new VerifyError(`no running initiator pod in ${ini.namespace}`);
  o.out(`  following the ${o.container} log of ${pods.length === 1 ? '' : `all ${pods.length} initiator pods: `}${pods.map((p) => `pod/${p.name}`).join(', ')} for the auto-trigger line`);
  const stop = new AbortController();
  const outcomes = await Promise.all(pods.map(async (pod) => {
    const outcome = await followOne(o, pod, deadline, stop.signal);
    if (outcome.kind === 'mismatch' || outcome.kind === 'ended') stop.abort();
    return outcome;
  }));
  const complete = outcomes.filter((x): x is Extract<LineOutcome, { kind: 'complete' }> => x.kind === 'complete');
  if (complete.length === pods.length) return complete.map((x) => (pods.length === 1 ? x.line : `pod/${x.pod}: ${x.line}`));
  const failures = outcomes.flatMap((x) => {
    switch (x.kind) {
      case 'mismatch': return [`pod/${x.pod} reported "${x.line}", expected ${o.messages}/${o.messages}`];
      case 'timeout': return [`no "${expectedLine(o.messages)}" line in pod/${x.pod} after ${seconds(o.timeoutMs)}`];
      case 'ended': return [`the log of pod/${x.pod} ended before the auto-trigger completed (the container stopped?)`];
      default: return [];
    }
  });
  const tally = pods.length > 1 ? ` (${complete.length} of ${pods.length} initiator pods complete; every pod's log: ${allLogsCommand(ini, o.container)})` : '';
  throw new VerifyError(`${failures.join('; ')}${tally}`);
}

/** "Auto-trigger complete — 5/5 messages sent": the core's line without its emoji and full stop. */
function expectedLine(messages: number): string {
  return autoTriggerCompleteLine(messages, messages).replace(/^\P{L}+/u, '').replace(/\.$/, '');
}

/** Lines of an initiator's log the reconnect check reads: its session lines are few, the rest is the app's. */
const SESSION_TAIL_LINES = 1000;

/** `open` / `closed` for core's `session open` / `session closed` info lines, in text or JSON format (core/src/log.ts). */
export function sessionEvent(line: string): 'open' | 'closed' | undefined {
  let msg: unknown;
  if (line.startsWith('{')) {
    try {
      msg = (JSON.parse(line) as { msg?: unknown }).msg;
    } catch {
      return undefined;
    }
  } else {
    // Text: the message first, then two spaces and the key=value context.
    msg = line.split('  ', 1)[0];
  }
  return msg === 'session open' ? 'open' : msg === 'session closed' ? 'closed' : undefined;
}

const clock = (ms: number) => new Date(ms).toISOString().slice(11, 23);

/**
 * Why a log tail with timestamps (`kubectl logs --timestamps`) does not prove a session opened
 * at or after `since` that is still open; undefined when it does.
 */
export function noSessionSince(tail: string, since: number): string | undefined {
  let open: number | undefined;
  let closed: number | undefined;
  for (const stamped of tail.split('\n')) {
    const space = stamped.indexOf(' ');
    const at = Date.parse(stamped.slice(0, space));
    if (space < 0 || Number.isNaN(at)) continue;
    const event = sessionEvent(stamped.slice(space + 1).trim());
    if (event === 'open') { open = at; closed = undefined; }
    if (event === 'closed') closed = at;
  }
  if (closed !== undefined) return `its session closed at ${clock(closed)} and has not reopened`;
  if (open === undefined) return `no "session open" line in its last ${SESSION_TAIL_LINES} log lines (FERRY_LOG_LEVEL above info hides it)`;
  if (open < since) return `its session opened at ${clock(open)}, before the new terminator pod was created (${clock(since)})`;
  return undefined;
}

/**
 * After a terminator-only rollout the older initiator pods' auto-trigger lines predate it, and
 * Ready no longer proves a session (an initiator stays Ready for up to session.ackTimeoutMs while
 * it reconnects): each must be Ready and its log must show a session that opened after the
 * newest terminator pod was created and has not closed since. Timestamps, not the order of lines
 * alone: a tail cannot tell an open-after-close from before the rollout from one after it.
 * creationTimestamp has whole seconds, and no session to a pod opens before the pod exists. Log
 * times are the node's clock and creationTimestamp the API server's: a skew between them shifts
 * the comparison by as much.
 */
async function waitReconnected(o: Resolved, ini: DeploymentState, ter: DeploymentState, deadline: number): Promise<void> {
  const newestTerminator = Math.max(0, ...(await o.cluster.pods(ter.namespace, ter.selector)).filter((p) => !p.terminating).map((p) => p.createdAt));
  const older = currentPods(await o.cluster.pods(ini.namespace, ini.selector), ini).filter((p) => p.createdAt < newestTerminator);
  if (older.length === 0) return;
  const names = older.map((p) => `pod/${p.name}`).join(', ');
  o.out(`  ${names} ${older.length === 1 ? 'predates' : 'predate'} the terminator's rollout: checking ${older.length === 1 ? 'its log' : 'their logs'} for a session to the new terminator`);
  let lastReport = '';
  for (;;) {
    const now = await o.cluster.pods(ini.namespace, ini.selector);
    const waiting: Array<{ pod: string; why: string }> = [];
    for (const pod of older) {
      const state = now.find((p) => p.name === pod.name);
      if (!state) throw new VerifyError(`pod/${pod.name} went away while waiting for it to reconnect`);
      const why = state.ready
        ? noSessionSince(await o.cluster.tailLog(pod.namespace, pod.name, o.container, SESSION_TAIL_LINES, false, true), newestTerminator)
        : 'not Ready';
      if (why) waiting.push({ pod: `pod/${pod.name}`, why });
    }
    if (waiting.length === 0) return;
    const report = waiting.map((w) => `${w.pod} (${w.why})`).join(', ');
    if (Date.now() >= deadline) {
      throw new VerifyError(`${report} ${waiting.length === 1 ? 'has' : 'have'} no session to the new terminator ${seconds(o.timeoutMs)} after the terminator's rollout`);
    }
    if (report !== lastReport) o.out(`  waiting: ${report}`);
    lastReport = report;
    await sleep(o.pollMs);
  }
}

/** Resolves with the success line (or a readiness note); rejects with VerifyError after printing diagnostics. */
export async function verify(options: VerifyOptions): Promise<string> {
  const o: Resolved = {
    initiator: INITIATOR,
    terminator: TERMINATOR,
    container: CONTAINER,
    pollMs: 2000,
    out: (line: string) => process.stdout.write(`${line}\n`),
    err: (line: string) => process.stderr.write(`${line}\n`),
    ...options,
  };
  const deadline = Date.now() + o.timeoutMs;
  try {
    const ter = await waitAvailable(o, o.terminator, deadline);
    const ini = await waitAvailable(o, o.initiator, deadline);
    o.out('  both deployments are available');
    await waitReconnected(o, ini, ter, deadline);
    if (o.messages === 0) return 'auto-trigger is off (autoTrigger.count 0); both deployments are available';
    const lines = await waitForCompleteLines(o, ini, deadline);
    for (const line of lines) o.out(`  ${line}`);
    return lines.length === 1 ? (lines[0] as string) : `all ${lines.length} initiator pods: ${expectedLine(o.messages)}`;
  } catch (err) {
    if (!(err instanceof VerifyError)) throw err;
    o.err(`✖ verify: ${err.message}`);
    await diagnose(o);
    throw err;
  }
}
