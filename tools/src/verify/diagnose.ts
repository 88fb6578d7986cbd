/**
 * The diagnosis: what a cluster says about both apps when verify fails (or on --diagnose), and
 * which pod states mean that waiting longer will not help.
 */
import { CONTAINER, INITIATOR, TERMINATOR } from '../names.js';
import type { ClusterView, ContainerState, PodState, Target } from './cluster.js';
import { hintsFor } from './hints.js';

/** Waiting reasons that will not resolve by waiting longer. */
const FATAL_REASONS = ['ErrImagePull', 'ImagePullBackOff', 'ErrImageNeverPull', 'InvalidImageName', 'CreateContainerConfigError', 'CreateContainerError'];
const CRASHLOOP_RESTARTS = 3;
const LOG_TAIL_LINES = 30;
const EVENTS = 15;

/** A reason to give up now: a container that cannot start or keeps crashing. */
export function fatalReason(pods: readonly PodState[]): string | undefined {
  for (const pod of pods) {
    if (pod.terminating) continue;
    for (const c of pod.containers) {
      if (c.state === 'waiting' && c.reason && FATAL_REASONS.includes(c.reason)) return `pod/${pod.name} ${c.name}: ${c.reason}${c.message ? `: ${c.message}` : ''}`;
      if (c.restartCount >= CRASHLOOP_RESTARTS) return `pod/${pod.name} ${c.name}: restarted ${c.restartCount} times${c.reason ? ` (${c.reason})` : ''}`;
    }
  }
  return undefined;
}

export interface DiagnoseOptions {
  readonly cluster: ClusterView;
  readonly initiator?: Target;
  readonly terminator?: Target;
  readonly container?: string;
  readonly err?: (line: string) => void;
}

/** Prints deployment status, pods, containers, events and log tails of both components, then the hints that match. */
export async function diagnose(o: DiagnoseOptions): Promise<void> {
  const err = o.err ?? ((line: string) => process.stderr.write(`${line}\n`));
  const container = o.container ?? CONTAINER;
  const seen: string[] = [];
  const say = (line: string) => {
    seen.push(line);
    err(line);
  };
  for (const target of [o.terminator ?? TERMINATOR, o.initiator ?? INITIATOR]) {
    say(`── ${target.deployment} (${target.namespace}) ──`);
    try {
      await describeTarget(o.cluster, target, container, say);
    } catch (e) {
      say(`  cannot read ${target.namespace}: ${(e as Error).message}`);
    }
  }
  const hints = hintsFor(seen.join('\n'));
  if (hints.length) {
    err('Hints:');
    for (const h of hints) err(`  • ${h}`);
  }
}

async function describeTarget(cluster: ClusterView, target: Target, container: string, say: (line: string) => void): Promise<void> {
  const d = await cluster.deployment(target.namespace, target.deployment);
  // Read first: a failing readiness probe's reason is only in the events.
  const events = await cluster.events(target.namespace, EVENTS);
  if (!d) {
    say(`  deployment/${target.deployment}: not found`);
    say(`  no ready ${target.deployment}: deployment/${target.deployment} does not exist`);
  } else {
    say(`  deployment/${target.deployment}: ${d.available}/${d.desired} available, ${d.updated} updated, ${d.current} current`);
    const pods = await cluster.pods(target.namespace, d.selector);
    if (pods.length === 0) say('  no pods');
    const live = pods.filter((p) => !p.terminating);
    if (d.desired > 0 && !live.some((p) => p.ready)) {
      const why = live.length ? live.map((p) => `pod/${p.name}: ${notReadyReason(p, events, container)}`).join('; ') : `no pods (${d.desired} wanted; see the events below)`;
      say(`  no ready ${target.deployment}: ${why}`);
    }
    for (const pod of pods) await describePod(cluster, pod, container, events, say);
  }
  say(`  recent events${events.length ? ':' : ': none'}`);
  for (const e of events) say(`    ${e}`);
}

/**
 * Why a pod is not Ready, in the words an operator acts on: not scheduled (and the scheduler's
 * reason), a container that cannot start, a crash loop, or a running container whose readiness
 * probe fails (with the kubelet's last probe event; the terminator's /readyz fails while it is
 * not listening yet or draining).
 */
export function notReadyReason(pod: PodState, events: readonly string[], container = CONTAINER): string {
  if (pod.terminating) return 'terminating (draining)';
  const scheduled = pod.conditions?.find((c) => c.type === 'PodScheduled');
  if (pod.phase === 'Pending' && scheduled?.status === 'False') {
    return `pending, not scheduled${scheduled.reason || scheduled.message ? ` (${[scheduled.reason, scheduled.message].filter(Boolean).join(': ')})` : ''}`;
  }
  const c = pod.containers.find((x) => x.name === container) ?? pod.containers[0];
  const detail = (x: ContainerState) => `${x.reason ?? x.state}${x.message ? `: ${x.message}` : ''}`;
  if (c && (c.reason === 'CrashLoopBackOff' || c.restartCount >= CRASHLOOP_RESTARTS)) {
    return `crash loop (${c.name} restarted ${c.restartCount} times${c.lastState ? `, last ${c.lastState}` : ''})`;
  }
  if (pod.phase === 'Pending') return c ? `pending, ${c.name} ${c.state} (${detail(c)})` : 'pending, no container started yet';
  if (!c) return `${pod.phase}, no container status`;
  if (c.state === 'waiting' || c.state === 'terminated') return `${c.name} ${c.state} (${detail(c)})`;
  if (pod.phase === 'Running' && !c.ready) {
    const probe = [...events].reverse().find((e) => e.includes(`Pod/${pod.name}: Readiness probe failed`));
    return `readiness probe failing${probe ? ` (${probe.slice(probe.indexOf(`Pod/${pod.name}: `) + `Pod/${pod.name}: `.length)})` : ''}; its log says why`;
  }
  return pod.ready ? 'ready' : `${pod.phase}, not ready`;
}

async function describePod(cluster: ClusterView, pod: PodState, container: string, events: readonly string[], say: (line: string) => void): Promise<void> {
  say(`  pod/${pod.name}: ${pod.phase}${pod.terminating ? ', terminating' : pod.ready ? ', ready' : `, not ready: ${notReadyReason(pod, events, container)}`}`);
  for (const c of pod.containers) {
    const state = `${c.state}${c.reason ? ` (${c.reason}${c.message ? `: ${c.message}` : ''})` : ''}`;
    say(`    ${c.name}: ${state}, restarts ${c.restartCount}${c.lastState ? `, last ${c.lastState}` : ''}`);
  }
  for (const c of pod.containers.filter((x) => x.name === container)) {
    // After a restart the previous container's log holds the reason it stopped.
    for (const previous of c.restartCount > 0 ? [true, false] : [false]) {
      const text = await cluster.tailLog(pod.namespace, pod.name, c.name, LOG_TAIL_LINES, previous).catch((e: unknown) => `(no log: ${(e as Error).message})`);
      say(`    last log lines${previous ? ' of the previous container' : ''}:`);
      for (const line of text.split('\n').filter((l) => l.trim() !== '')) say(`      ${line}`);
    }
  }
}
