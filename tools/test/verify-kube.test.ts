/**
 * kube.ts, the ClusterView over @kubernetes/client-node, against a mock of the Kubernetes API:
 * no API server can run here, so a local HTTP server answers the few paths the adapter reads
 * with canned objects, and the real client library talks to it through a kubeconfig file.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ClusterView } from '../src/verify/cluster.js';
import { kubeClusterView } from '../src/verify/kube.js';

const NS = 'ns-a';
const requests: string[] = [];
let followed: ServerResponse | undefined;

const deployment = {
  metadata: { name: 'initiator', namespace: NS, generation: 3, annotations: { 'deployment.kubernetes.io/revision': '2' } },
  spec: { replicas: 2, selector: { matchLabels: { 'app.kubernetes.io/component': 'initiator', 'app.kubernetes.io/instance': 'fast-ferry' } } },
  status: { replicas: 3, updatedReplicas: 2, availableReplicas: 1, observedGeneration: 3 },
};
const owner = (name: string) => [{ apiVersion: 'apps/v1', kind: 'Deployment', name, uid: name }];
const replicaSets = {
  items: [
    { metadata: { name: 'initiator-old', annotations: { 'deployment.kubernetes.io/revision': '1' }, ownerReferences: owner('initiator') } },
    { metadata: { name: 'other-new', annotations: { 'deployment.kubernetes.io/revision': '2' }, ownerReferences: owner('other') } },
    { metadata: { name: 'initiator-new', annotations: { 'deployment.kubernetes.io/revision': '2' }, ownerReferences: owner('initiator') } },
  ],
};
const pods = {
  items: [{
    metadata: {
      name: 'initiator-1', namespace: NS, creationTimestamp: '2026-01-02T03:04:05Z', deletionTimestamp: '2026-01-02T03:05:00Z',
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'initiator-7d9f', uid: 'u1' }],
    },
    status: {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'True' }, { type: 'PodScheduled', status: 'True', reason: 'Scheduled' }],
      containerStatuses: [{
        name: 'web-app', ready: false, restartCount: 2, image: 'x', imageID: 'x',
        state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 20s' } },
        lastState: { terminated: { reason: 'Error', exitCode: 1 } },
      }],
    },
  }],
};
const events = {
  items: [
    { metadata: { name: 'e2' }, involvedObject: { kind: 'Pod', name: 'initiator-1' }, type: 'Warning', reason: 'BackOff', message: 'Back-off restarting ', count: 4, lastTimestamp: '2026-01-02T03:06:00Z' },
    { metadata: { name: 'e1' }, involvedObject: { kind: 'Pod', name: 'initiator-1' }, type: 'Normal', reason: 'Pulled', message: 'pulled', lastTimestamp: '2026-01-02T03:05:00Z' },
  ],
};

function answer(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://mock');
  requests.push(`${req.method} ${url.pathname}${url.search}`);
  const json = (status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const path = url.pathname;
  if (path === `/apis/apps/v1/namespaces/${NS}/deployments/initiator`) return json(200, deployment);
  if (path === `/apis/apps/v1/namespaces/${NS}/deployments/forbidden-sets`) {
    return json(200, { ...deployment, metadata: { ...deployment.metadata, name: 'forbidden-sets' }, spec: { ...deployment.spec, selector: { matchLabels: { 'app.kubernetes.io/component': 'forbidden-sets' } } } });
  }
  if (path.startsWith(`/apis/apps/v1/namespaces/${NS}/deployments/`)) return json(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 });
  if (path === `/apis/apps/v1/namespaces/${NS}/replicasets`) {
    if (url.searchParams.get('labelSelector')?.includes('forbidden-sets')) return json(403, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Forbidden', code: 403 });
    return json(200, replicaSets);
  }
  if (path === `/api/v1/namespaces/${NS}/pods`) return json(200, pods);
  if (path === `/api/v1/namespaces/${NS}/events`) return json(200, events);
  if (path === `/api/v1/namespaces/${NS}/pods/initiator-1/log`) {
    res.writeHead(200, { 'content-type': 'text/plain' });
    if (url.searchParams.get('follow') === 'true') {
      // Lines split across chunks, then the stream stays open until the client aborts.
      res.write('first li');
      res.write('ne\nsecond line\nthi');
      setTimeout(() => res.write('rd line\n'), 20);
      followed = res;
      return;
    }
    const stamp = url.searchParams.get('timestamps') === 'true' ? '2026-01-02T03:04:06.123456789Z ' : '';
    return void res.end(`${stamp}tail ${url.searchParams.get('tailLines')} previous=${url.searchParams.get('previous')}\n`);
  }
  json(404, { kind: 'Status', code: 404 });
}

const server = createServer(answer);
const dir = mkdtempSync(join(tmpdir(), 'ferry-kube-test-'));
let cluster: ClusterView;
const savedKubeconfig = process.env['KUBECONFIG'];

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const file = join(dir, 'kubeconfig');
  writeFileSync(file, [
    'apiVersion: v1', 'kind: Config', 'current-context: other',
    'clusters:', `- name: mock`, `  cluster: {server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true}`, '- name: nowhere', '  cluster: {server: "http://127.0.0.1:9", insecure-skip-tls-verify: true}',
    'users:', '- name: u', '  user: {token: t}',
    'contexts:', '- name: mock', '  context: {cluster: mock, user: u}', '- name: other', '  context: {cluster: nowhere, user: u}', '',
  ].join('\n'));
  process.env['KUBECONFIG'] = file;
  cluster = kubeClusterView('mock');
});
after(() => {
  if (savedKubeconfig === undefined) delete process.env['KUBECONFIG'];
  else process.env['KUBECONFIG'] = savedKubeconfig;
  followed?.destroy();
  server.closeAllConnections();
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('kubeClusterView against a mock Kubernetes API server (no API server runs here)', () => {
  it('reads a Deployment into DeploymentState, with its selector as a label selector string and its current ReplicaSet (same revision, owned by it)', async () => {
    assert.deepEqual(await cluster.deployment(NS, 'initiator'), {
      name: 'initiator', namespace: NS, selector: 'app.kubernetes.io/component=initiator,app.kubernetes.io/instance=fast-ferry',
      desired: 2, updated: 2, available: 1, current: 3, generation: 3, observedGeneration: 3, replicaSet: 'initiator-new',
    });
    assert.ok(requests.some((r) => r.startsWith(`GET /apis/apps/v1/namespaces/${NS}/replicasets?`) && r.includes('labelSelector=app.kubernetes.io%2Fcomponent%3Dinitiator')), requests.join('\n'));
  });

  it('reads a Deployment without its current ReplicaSet when ReplicaSets may not be listed (403): verify then counts every live pod', async () => {
    const d = await cluster.deployment(NS, 'forbidden-sets');
    assert.equal(d?.name, 'forbidden-sets');
    assert.equal(d && 'replicaSet' in d, false);
  });

  it('answers undefined for a Deployment that does not exist (404), using the context it was given', async () => {
    assert.equal(await cluster.deployment(NS, 'missing'), undefined);
  });

  it('reads pods with readiness, termination, creation time, owning ReplicaSet, conditions and container states', async () => {
    assert.deepEqual(await cluster.pods(NS, 'app.kubernetes.io/component=initiator'), [{
      name: 'initiator-1', namespace: NS, phase: 'Running', ready: true, terminating: true, createdAt: Date.parse('2026-01-02T03:04:05Z'),
      replicaSet: 'initiator-7d9f',
      conditions: [{ type: 'Ready', status: 'True' }, { type: 'PodScheduled', status: 'True', reason: 'Scheduled' }],
      containers: [{ name: 'web-app', ready: false, restartCount: 2, state: 'waiting', reason: 'CrashLoopBackOff', message: 'back-off 20s', lastState: 'terminated (Error, exit 1)' }],
    }]);
    assert.ok(requests.some((r) => r.startsWith(`GET /api/v1/namespaces/${NS}/pods?`) && r.includes('labelSelector=app.kubernetes.io%2Fcomponent%3Dinitiator')), requests.join('\n'));
  });

  it('tails a log with the line count and the previous flag', async () => {
    assert.equal((await cluster.tailLog(NS, 'initiator-1', 'web-app', 30, true)).trim(), 'tail 30 previous=true');
    assert.ok(!requests.some((r) => r.includes('/pods/initiator-1/log?') && r.includes('timestamps=true')), 'no timestamps unless asked');
  });

  it('tails a log with timestamps when asked (kubectl logs --timestamps), as the reconnect check reads it', async () => {
    assert.equal((await cluster.tailLog(NS, 'initiator-1', 'web-app', 1000, false, true)).trim(), '2026-01-02T03:04:06.123456789Z tail 1000 previous=false');
  });

  it('follows a log line by line across chunk boundaries until aborted', async () => {
    const lines: string[] = [];
    const ac = new AbortController();
    const done = cluster.followLog(NS, 'initiator-1', 'web-app', (line) => {
      lines.push(line);
      if (lines.length === 3) ac.abort();
    }, ac.signal);
    await done;
    assert.deepEqual(lines, ['first line', 'second line', 'third line']);
    assert.ok(requests.some((r) => r.includes('/pods/initiator-1/log?') && r.includes('follow=true') && r.includes('container=web-app')));
  });

  it('formats events oldest first, with a count when repeated, keeping the last N', async () => {
    assert.deepEqual(await cluster.events(NS, 1), ['03:06:00 Warning BackOff Pod/initiator-1: Back-off restarting (x4)']);
    assert.deepEqual(await cluster.events(NS, 5), [
      '03:05:00 Normal Pulled Pod/initiator-1: pulled',
      '03:06:00 Warning BackOff Pod/initiator-1: Back-off restarting (x4)',
    ]);
  });
});
