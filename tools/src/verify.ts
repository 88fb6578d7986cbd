/**
 * Verifies a deployment (deploy.sh's last step): waits until both Deployments are available,
 * then follows the initiator's web-app log until "Auto-trigger complete — N/N messages sent"
 * (and prints that line). On failure or timeout it prints what the cluster knows: deployment
 * status, pod phases, container states, recent events, the last log lines of both pods and a
 * hint per known failure; then exits 1.
 *
 *   node tools/dist/verify.js [--context NAME] [--messages 5] [--timeout 180] [--diagnose]
 *
 * The cluster is read through the ClusterView interface, so the control flow is unit-tested
 * against a fake; kubeClusterView() is the @kubernetes/client-node implementation.
 */
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import * as k8s from '@kubernetes/client-node';

export interface DeploymentState {
  readonly name: string;
  readonly namespace: string;
  /** spec.selector.matchLabels as a label selector string. */
  readonly selector: string;
  readonly desired: number;
  readonly updated: number;
  readonly available: number;
  /** status.replicas: includes pods of old ReplicaSets still running. */
  readonly current: number;
  readonly generation: number;
  readonly observedGeneration: number;
}

export interface ContainerState {
  readonly name: string;
  readonly ready: boolean;
  readonly restartCount: number;
  /** running | waiting | terminated | unknown */
  readonly state: string;
  readonly reason?: string;
  readonly message?: string;
  /** e.g. "terminated (Error, exit 1)" */
  readonly lastState?: string;
}

export interface PodState {
  readonly name: string;
  readonly namespace: string;
  readonly phase: string;
  readonly ready: boolean;
  readonly terminating: boolean;
  readonly createdAt: number;
  readonly containers: readonly ContainerState[];
}

/** What verify reads from a cluster. */
export interface ClusterView {
  deployment(namespace: string, name: string): Promise<DeploymentState | undefined>;
  pods(namespace: string, selector: string): Promise<PodState[]>;
  /** Streams the container's log from its start, line by line, until `signal` aborts or the stream ends. */
  followLog(namespace: string, pod: string, container: string, onLine: (line: string) => void, signal: AbortSignal): Promise<void>;
  tailLog(namespace: string, pod: string, container: string, lines: number, previous: boolean): Promise<string>;
  /** Recent events of a namespace, oldest first, one formatted line each. */
  events(namespace: string, limit: number): Promise<string[]>;
}

export interface Target {
  readonly namespace: string;
  readonly deployment: string;
}

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

export const DEFAULT_INITIATOR: Target = { namespace: 'fast-ferry-initiator-ns', deployment: 'initiator' };
export const DEFAULT_TERMINATOR: Target = { namespace: 'fast-ferry-terminator-ns', deployment: 'terminator' };
const CONTAINER = 'web-app';
/** The initiator's success line: "🔁 Auto-trigger complete — 5/5 messages sent." */
export const COMPLETE_LINE = /Auto-trigger complete\D*?(\d+)\/(\d+) messages sent/;

/** Waiting reasons that will not resolve by waiting longer. */
const FATAL_REASONS = ['ErrImagePull', 'ImagePullBackOff', 'ErrImageNeverPull', 'InvalidImageName', 'CreateContainerConfigError', 'CreateContainerError'];
const CRASHLOOP_RESTARTS = 3;

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

/** A reason to give up now: a container that cannot start or keeps crashing. */
function fatalReason(pods: readonly PodState[]): string | undefined {
  for (const pod of pods) {
    if (pod.terminating) continue;
    for (const c of pod.containers) {
      if (c.state === 'waiting' && c.reason && FATAL_REASONS.includes(c.reason)) return `pod/${pod.name} ${c.name}: ${c.reason}${c.message ? `: ${c.message}` : ''}`;
      if (c.restartCount >= CRASHLOOP_RESTARTS) return `pod/${pod.name} ${c.name}: restarted ${c.restartCount} times${c.reason ? ` (${c.reason})` : ''}`;
    }
  }
  return undefined;
}

async function waitAvailable(o: Required<Omit<VerifyOptions, 'cluster'>> & { cluster: ClusterView }, target: Target, deadline: number): Promise<DeploymentState> {
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

async function waitForCompleteLine(o: Required<Omit<VerifyOptions, 'cluster'>> & { cluster: ClusterView }, selector: string, deadline: number): Promise<string> {
  const pod = currentPod(await o.cluster.pods(o.initiator.namespace, selector));
  if (!pod) throw new VerifyError(`no running initiator pod in ${o.initiator.namespace}`);
  o.out(`  following pod/${pod.name} ${o.container} log for the auto-trigger line`);
  const ac = new AbortController();
  let found: string | undefined;
  let mismatch: string | undefined;
  const timer = setTimeout(() => ac.abort(), Math.max(0, deadline - Date.now()));
  try {
    const stream = o.cluster.followLog(o.initiator.namespace, pod.name, o.container, (line) => {
      const m = COMPLETE_LINE.exec(line);
      if (!m) return;
      if (Number(m[1]) === o.messages && Number(m[2]) === o.messages) found = line.trim();
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
    ? `no "Auto-trigger complete — ${o.messages}/${o.messages} messages sent" line in pod/${pod.name} after ${seconds(o.timeoutMs)}`
    : `the log of pod/${pod.name} ended before the auto-trigger completed (the container stopped?)`);
}

/** After a terminator-only rollout: the (older) initiator pod must be Ready again, i.e. hold a session to the new terminator. */
async function waitReconnected(o: Required<Omit<VerifyOptions, 'cluster'>> & { cluster: ClusterView }, ini: DeploymentState, ter: DeploymentState, deadline: number): Promise<void> {
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
  const o = {
    initiator: DEFAULT_INITIATOR,
    terminator: DEFAULT_TERMINATOR,
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
    await diagnose({ ...o, cluster: o.cluster });
    throw err;
  }
}

/** Hints for what the diagnostics show, keyed by a pattern in them (README troubleshooting). */
export const HINTS: readonly (readonly [RegExp, string])[] = [
  [/ErrImageNeverPull|ErrImagePull|ImagePullBackOff/, 'the image is not in the cluster: run bash deploy.sh again (it imports missing images); with your own registry set imagePullPolicy and push the tag'],
  [/secret "[^"]*-tls" not found|FailedMount/, 'the TLS Secret is missing: bash deploy.sh creates it (bash deploy.sh --rotate-certs re-issues it)'],
  [/FERRY_ERR_CONFIG|ConfigError|expected /, 'the pod rejected its configuration: the log line names the key; fix it in blueprint.yaml and deploy again'],
  [/FERRY_ERR_CERT|certificate|CERT_/, 'a certificate problem: bash deploy.sh --rotate-certs issues fresh certificates and rolls both pods'],
  [/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|circuit/i, 'the initiator cannot reach the terminator: check the terminator pod and kubectl get networkpolicy -A'],
  [/OOMKilled/, 'a container ran out of memory: raise resources.<app>.limits.memory in blueprint.yaml'],
  [/CrashLoopBackOff|restarted \d+ times/, 'a container keeps crashing: its last log lines above say why'],
];

/** Prints deployment status, pods, containers, events and log tails of both components. */
export async function diagnose(o: { cluster: ClusterView; initiator?: Target; terminator?: Target; container?: string; err?: (line: string) => void }): Promise<void> {
  const err = o.err ?? ((line: string) => process.stderr.write(`${line}\n`));
  const container = o.container ?? CONTAINER;
  const seen: string[] = [];
  const say = (line: string) => {
    seen.push(line);
    err(line);
  };
  for (const target of [o.terminator ?? DEFAULT_TERMINATOR, o.initiator ?? DEFAULT_INITIATOR]) {
    say(`── ${target.deployment} (${target.namespace}) ──`);
    try {
      const d = await o.cluster.deployment(target.namespace, target.deployment);
      if (!d) {
        say(`  deployment/${target.deployment}: not found`);
      } else {
        say(`  deployment/${target.deployment}: ${d.available}/${d.desired} available, ${d.updated} updated, ${d.current} current`);
        const pods = await o.cluster.pods(target.namespace, d.selector);
        if (pods.length === 0) say('  no pods');
        for (const pod of pods) {
          say(`  pod/${pod.name}: ${pod.phase}${pod.ready ? ', ready' : ', not ready'}${pod.terminating ? ', terminating' : ''}`);
          for (const c of pod.containers) {
            const state = `${c.state}${c.reason ? ` (${c.reason}${c.message ? `: ${c.message}` : ''})` : ''}`;
            say(`    ${c.name}: ${state}, restarts ${c.restartCount}${c.lastState ? `, last ${c.lastState}` : ''}`);
          }
          for (const c of pod.containers.filter((x) => x.name === container)) {
            for (const previous of c.restartCount > 0 ? [true, false] : [false]) {
              const text = await o.cluster.tailLog(target.namespace, pod.name, c.name, 30, previous).catch((e: unknown) => `(no log: ${(e as Error).message})`);
              say(`    last log lines${previous ? ' of the previous container' : ''}:`);
              for (const line of text.split('\n').filter((l) => l.trim() !== '')) say(`      ${line}`);
            }
          }
        }
      }
      const events = await o.cluster.events(target.namespace, 15);
      say(`  recent events${events.length ? ':' : ': none'}`);
      for (const e of events) say(`    ${e}`);
    } catch (e) {
      say(`  cannot read ${target.namespace}: ${(e as Error).message}`);
    }
  }
  const text = seen.join('\n');
  const hints = HINTS.filter(([re]) => re.test(text)).map(([, hint]) => hint);
  if (hints.length) {
    err('Hints:');
    for (const h of hints) err(`  • ${h}`);
  }
}

/** ClusterView over the Kubernetes API (@kubernetes/client-node), using the kubeconfig. */
export function kubeClusterView(context?: string): ClusterView {
  const kc = new k8s.KubeConfig();
  kc.loadFromDefault();
  if (context) kc.setCurrentContext(context);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const logs = new k8s.Log(kc);
  const notFound = (e: unknown) => (e as { code?: number }).code === 404;
  return {
    async deployment(namespace, name) {
      let d: k8s.V1Deployment;
      try {
        d = await apps.readNamespacedDeployment({ name, namespace });
      } catch (e) {
        if (notFound(e)) return undefined;
        throw e;
      }
      const labels = d.spec?.selector.matchLabels ?? {};
      return {
        name, namespace,
        selector: Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(','),
        desired: d.spec?.replicas ?? 1,
        updated: d.status?.updatedReplicas ?? 0,
        available: d.status?.availableReplicas ?? 0,
        current: d.status?.replicas ?? 0,
        generation: d.metadata?.generation ?? 0,
        observedGeneration: d.status?.observedGeneration ?? 0,
      };
    },
    async pods(namespace, selector) {
      const list = await core.listNamespacedPod({ namespace, labelSelector: selector });
      return list.items.map((p) => ({
        name: p.metadata?.name ?? '?',
        namespace,
        phase: p.status?.phase ?? 'Unknown',
        ready: p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
        terminating: Boolean(p.metadata?.deletionTimestamp),
        createdAt: p.metadata?.creationTimestamp ? new Date(p.metadata.creationTimestamp).getTime() : 0,
        containers: (p.status?.containerStatuses ?? []).map((c) => {
          const s = c.state ?? {};
          const state = s.running ? 'running' : s.waiting ? 'waiting' : s.terminated ? 'terminated' : 'unknown';
          const reason = s.waiting?.reason ?? s.terminated?.reason;
          const message = s.waiting?.message ?? s.terminated?.message;
          const last = c.lastState?.terminated;
          return {
            name: c.name, ready: c.ready, restartCount: c.restartCount, state,
            ...(reason ? { reason } : {}),
            ...(message ? { message } : {}),
            ...(last ? { lastState: `terminated (${last.reason ?? '?'}, exit ${last.exitCode})` } : {}),
          };
        }),
      }));
    },
    async followLog(namespace, pod, container, onLine, signal) {
      let buffer = '';
      await new Promise<void>((resolve, reject) => {
        const sink = new Writable({
          write(chunk: Buffer, _enc, cb) {
            buffer += chunk.toString('utf8');
            let i: number;
            while ((i = buffer.indexOf('\n')) >= 0) {
              onLine(buffer.slice(0, i));
              buffer = buffer.slice(i + 1);
            }
            cb();
          },
        });
        sink.on('finish', () => resolve());
        logs.log(namespace, pod, container, sink, (e: unknown) => (e ? reject(e as Error) : resolve()), { follow: true, pretty: false, timestamps: false })
          .then((req) => {
            if (signal.aborted) req.abort();
            signal.addEventListener('abort', () => { req.abort(); resolve(); }, { once: true });
          }, reject);
      });
      if (buffer) onLine(buffer);
    },
    async tailLog(namespace, pod, container, lines, previous) {
      return core.readNamespacedPodLog({ name: pod, namespace, container, tailLines: lines, previous });
    },
    async events(namespace, limit) {
      const list = await core.listNamespacedEvent({ namespace });
      const time = (e: k8s.CoreV1Event) => new Date(e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp ?? 0).getTime();
      return list.items.sort((a, b) => time(a) - time(b)).slice(-limit).map((e) =>
        `${new Date(time(e)).toISOString().slice(11, 19)} ${e.type ?? ''} ${e.reason ?? ''} ${e.involvedObject.kind ?? ''}/${e.involvedObject.name ?? ''}: ${(e.message ?? '').trim()}${(e.count ?? 1) > 1 ? ` (x${e.count})` : ''}`);
    },
  };
}

export async function main(argv: readonly string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        context: { type: 'string' },
        messages: { type: 'string', default: '5' },
        timeout: { type: 'string', default: '180' },
        diagnose: { type: 'boolean', default: false },
      },
    }));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\nusage: verify.js [--context NAME] [--messages N] [--timeout SECONDS] [--diagnose]\n`);
    return 2;
  }
  const messages = Number(values.messages);
  const timeoutS = Number(values.timeout);
  if (!Number.isInteger(messages) || messages < 0 || !(timeoutS > 0)) {
    process.stderr.write('--messages must be an integer >= 0 and --timeout a number of seconds > 0\n');
    return 2;
  }
  const cluster = kubeClusterView(values.context);
  if (values.diagnose) {
    await diagnose({ cluster });
    return 0;
  }
  try {
    await verify({ cluster, messages, timeoutMs: timeoutS * 1000 });
    return 0;
  } catch (e) {
    if (e instanceof VerifyError) return 1;
    process.stderr.write(`✖ verify: cannot read the cluster: ${(e as Error).message}\n`);
    await diagnose({ cluster }).catch(() => undefined);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = await main(process.argv.slice(2));
