/**
 * The ClusterView over the Kubernetes API (@kubernetes/client-node), from the user's kubeconfig:
 * the only file of verify that knows the client's types.
 */
import { Writable } from 'node:stream';
import * as k8s from '@kubernetes/client-node';
import type { ClusterView } from './cluster.js';

const REVISION = 'deployment.kubernetes.io/revision';

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
      const selector = Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',');
      // The current ReplicaSet carries the Deployment's revision annotation (what kubectl rollout status compares).
      const revision = d.metadata?.annotations?.[REVISION];
      // Without it (no revision yet, or no right to list ReplicaSets) verify counts every pod that is not terminating.
      const sets = revision ? await apps.listNamespacedReplicaSet({ namespace, labelSelector: selector }).then((l) => l.items, (): k8s.V1ReplicaSet[] => []) : [];
      const current = sets.find((rs) => rs.metadata?.annotations?.[REVISION] === revision && rs.metadata?.ownerReferences?.some((o) => o.kind === 'Deployment' && o.name === name));
      return {
        name, namespace,
        selector,
        desired: d.spec?.replicas ?? 1,
        updated: d.status?.updatedReplicas ?? 0,
        available: d.status?.availableReplicas ?? 0,
        current: d.status?.replicas ?? 0,
        generation: d.metadata?.generation ?? 0,
        observedGeneration: d.status?.observedGeneration ?? 0,
        ...(current?.metadata?.name ? { replicaSet: current.metadata.name } : {}),
      };
    },
    async pods(namespace, selector) {
      const list = await core.listNamespacedPod({ namespace, labelSelector: selector });
      const ownerOf = (p: k8s.V1Pod) => p.metadata?.ownerReferences?.find((o) => o.kind === 'ReplicaSet')?.name;
      return list.items.map((p) => ({
        name: p.metadata?.name ?? '?',
        namespace,
        ...(ownerOf(p) ? { replicaSet: ownerOf(p) as string } : {}),
        conditions: (p.status?.conditions ?? []).map((c) => ({ type: c.type, status: c.status, ...(c.reason ? { reason: c.reason } : {}), ...(c.message ? { message: c.message } : {}) })),
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
    async tailLog(namespace, pod, container, lines, previous, timestamps = false) {
      return core.readNamespacedPodLog({ name: pod, namespace, container, tailLines: lines, previous, timestamps });
    },
    async events(namespace, limit) {
      const list = await core.listNamespacedEvent({ namespace });
      const time = (e: k8s.CoreV1Event) => new Date(e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp ?? 0).getTime();
      return list.items.sort((a, b) => time(a) - time(b)).slice(-limit).map((e) =>
        `${new Date(time(e)).toISOString().slice(11, 19)} ${e.type ?? ''} ${e.reason ?? ''} ${e.involvedObject.kind ?? ''}/${e.involvedObject.name ?? ''}: ${(e.message ?? '').trim()}${(e.count ?? 1) > 1 ? ` (x${e.count})` : ''}`);
    },
  };
}
