/**
 * Verify's control flow: wait until both Deployments are available (giving up early on a pod
 * that cannot start), make sure an initiator older than a rolled terminator has reconnected,
 * then follow the initiator's log until its auto-trigger complete line. On failure it prints
 * the diagnosis and rejects with VerifyError.
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
  /**
   * When the initiator pod is older than the newest terminator pod (only the terminator was
   * rolled), its auto-trigger line predates the new terminator: wait this long (about the
   * readiness probe's period × failure threshold) and then for the initiator to be Ready,
   * which it is only while its session is open.
   */
  readonly settleMs?: number;
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

/** The pod whose log tells: the newest running, non-terminating pod. */
function currentPod(pods: readonly PodState[]): PodState | undefined {
  return [...pods].filter((p) => !p.terminating && p.phase === 'Running').sort((a, b) => b.createdAt - a.createdAt)[0];
}

async function waitForCompleteLine(o: Resolved, selector: string, deadline: number): Promise<string> {
  const pod = currentPod(await o.cluster.pods(o.initiator.namespace, selector));
  if (!pod) throw new VerifyError(`no running initiator pod in ${o.initiator.namespace}`);
  o.out(`  following pod/${pod.name} ${o.container} log for the auto-trigger line`);
  const ac = new AbortController();
  let found: string | undefined;
  let mismatch: string | undefined;
  const timer = setTimeout(() => ac.abort(), Math.max(0, deadline - Date.now()));
  try {
    const stream = o.cluster.followLog(o.initiator.namespace, pod.name, o.container, (line) => {
      const report = parseAutoTriggerComplete(line);
      if (!report) return;
      if (report.sent === o.messages && report.count === o.messages) found = line.trim();
      else mismatch = line.trim();
      ac.abort();
    }, ac.signal);
    await Promise.race([stream, new Promise<void>((resolve) => ac.signal.addEventListener('abort', () => resolve(), { once: true }))]);
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
  if (found) return found;
  if (mismatch) throw new VerifyError(`the initiator reported "${mismatch}", expected ${o.messages}/${o.messages}`);
  throw new VerifyError(Date.now() >= deadline
    ? `no "${expectedLine(o.messages)}" line in pod/${pod.name} after ${seconds(o.timeoutMs)}`
    : `the log of pod/${pod.name} ended before the auto-trigger completed (the container stopped?)`);
}

/** "Auto-trigger complete — 5/5 messages sent": the core's line without its emoji and full stop. */
function expectedLine(messages: number): string {
  return autoTriggerCompleteLine(messages, messages).replace(/^\P{L}+/u, '').replace(/\.$/, '');
}

/** After a terminator-only rollout: the (older) initiator pod must be Ready again, i.e. hold a session to the new terminator. */
async function waitReconnected(o: Resolved, ini: DeploymentState, ter: DeploymentState, deadline: number): Promise<void> {
  const newestTerminator = Math.max(0, ...(await o.cluster.pods(ter.namespace, ter.selector)).filter((p) => !p.terminating).map((p) => p.createdAt));
  const pod = currentPod(await o.cluster.pods(ini.namespace, ini.selector));
  if (!pod || pod.createdAt >= newestTerminator) return;
  o.out(`  pod/${pod.name} predates the terminator's rollout: checking its session to the new terminator (readiness, after ${seconds(o.settleMs)})`);
  await sleep(Math.min(o.settleMs, Math.max(0, deadline - Date.now())));
  for (;;) {
    const now = (await o.cluster.pods(ini.namespace, ini.selector)).find((p) => p.name === pod.name);
    if (now?.ready) return;
    if (!now) throw new VerifyError(`pod/${pod.name} went away while waiting for it to reconnect`);
    if (Date.now() >= deadline) throw new VerifyError(`pod/${pod.name} is not Ready ${seconds(o.timeoutMs)} after the terminator's rollout: no session to the new terminator`);
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
    settleMs: 20_000,
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
    const line = await waitForCompleteLine(o, ini.selector, deadline);
    o.out(`  ${line}`);
    return line;
  } catch (err) {
    if (!(err instanceof VerifyError)) throw err;
    o.err(`✖ verify: ${err.message}`);
    await diagnose(o);
    throw err;
  }
}
