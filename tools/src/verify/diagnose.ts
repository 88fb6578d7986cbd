/**
 * The diagnosis: what a cluster says about both apps when verify fails (or on --diagnose), and
 * which pod states mean that waiting longer will not help.
 */
import { CONTAINER, INITIATOR, TERMINATOR } from '../names.js';
import type { ClusterView, PodState, Target } from './cluster.js';
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
  if (!d) {
    say(`  deployment/${target.deployment}: not found`);
  } else {
    say(`  deployment/${target.deployment}: ${d.available}/${d.desired} available, ${d.updated} updated, ${d.current} current`);
    const pods = await cluster.pods(target.namespace, d.selector);
    if (pods.length === 0) say('  no pods');
    for (const pod of pods) await describePod(cluster, pod, container, say);
  }
  const events = await cluster.events(target.namespace, EVENTS);
  say(`  recent events${events.length ? ':' : ': none'}`);
  for (const e of events) say(`    ${e}`);
}

async function describePod(cluster: ClusterView, pod: PodState, container: string, say: (line: string) => void): Promise<void> {
  say(`  pod/${pod.name}: ${pod.phase}${pod.ready ? ', ready' : ', not ready'}${pod.terminating ? ', terminating' : ''}`);
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
