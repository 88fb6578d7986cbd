/**
 * The `helm test` Pod (templates/tests/): rendered by default and not with helmTest.enabled=false,
 * valid against the Kubernetes schemas with helm 3 and 4, the apps' pod security, the initiator
 * image and no other, aimed at the initiator Service's /trigger port and admitted by its
 * NetworkPolicy (as a pod of the initiator namespace), with the trigger token when one is set. Its script runs for real, exactly as the Pod runs it (node -e, the Pod's env),
 * against a real initiator and terminator on loopback: it passes only on {"status":"delivered"}.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { initiatorFor, terminatorWith } from '../helpers/in-process.js';
import { makeTestPki, type TestPki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { findUnknownFields, validateSchemas, type K8sDoc } from './k8s-validate.js';
import { find, helmBinaries, helmTemplate } from './render.js';

type Obj = Record<string, any>;
const helms = helmBinaries();
const isTestPod = (d: K8sDoc) => d.kind === 'Pod' && (d as Obj)['metadata']?.annotations?.['helm.sh/hook'] === 'test';
const testPods = (docs: readonly K8sDoc[]) => docs.filter(isTestPod) as Obj[];

/**
 * Does this NetworkPolicy admit a pod with these labels, in the policy's own namespace, to the
 * named port? A peer is a podSelector (the policy's namespace) or a namespaceSelector on the
 * namespace's kubernetes.io/metadata.name label (the labels the test reads; others never match).
 */
export function admits(policy: Obj, podLabels: Record<string, string>, podNamespace: string, portName = 'trigger'): boolean {
  if (policy['metadata'].namespace !== podNamespace) return false;
  const matches = (selector: Obj | undefined, labels: Record<string, string>): boolean =>
    Object.entries((selector?.['matchLabels'] ?? {}) as Record<string, string>).every(([k, v]) => labels[k] === v) && !selector?.['matchExpressions'];
  return (policy['spec'].ingress as Obj[]).some((rule) => {
    if (!(rule['ports'] as Obj[]).some((p) => p['port'] === portName)) return false;
    if (!rule['from']) return true;
    return (rule['from'] as Obj[]).some((peer) => {
      if (peer['ipBlock']) return false;
      const nsOk = peer['namespaceSelector'] ? matches(peer['namespaceSelector'], { 'kubernetes.io/metadata.name': podNamespace }) : true;
      const podOk = peer['podSelector'] ? matches(peer['podSelector'], podLabels) : true;
      return nsOk && podOk;
    });
  });
}

for (const helm of helms) {
  describe(`helm test Pod with ${helm.version}`, () => {
    it('is rendered with the defaults, as a test hook, and valid against the Kubernetes schemas without unknown fields', async () => {
      const r = helmTemplate(helm);
      assert.ok(r.ok, r.stderr);
      const pods = testPods(r.docs);
      assert.equal(pods.length, 1);
      const bad = [...(await validateSchemas(pods)), ...findUnknownFields(pods)].filter((x) => x.errors.length > 0);
      assert.deepEqual(bad.map((x) => `${x.id}: ${x.errors.join('; ')}`), []);
      assert.equal(pods[0]!['spec'].restartPolicy, 'Never');
    });

    it('is not rendered with helmTest.enabled=false', () => {
      const r = helmTemplate(helm, ['--set', 'helmTest.enabled=false']);
      assert.ok(r.ok, r.stderr);
      assert.equal(testPods(r.docs).length, 0);
    });

    it('runs the initiator image (and no other) with the apps\' pod security and resources', () => {
      const r = helmTemplate(helm, ['--set', 'initiator.image.repository=registry.example.com/ferry/initiator', '--set', 'initiator.image.tag=1.2.3']);
      assert.ok(r.ok, r.stderr);
      const pod = testPods(r.docs)[0]!;
      const initiator = find(r.docs, 'Deployment', 'initiator') as Obj;
      const appImage = initiator['spec'].template.spec.containers[0].image;
      const spec = pod['spec'];
      assert.deepEqual(spec.containers.map((c: Obj) => c['image']), [appImage]);
      assert.equal(spec.initContainers, undefined);
      assert.equal(spec.automountServiceAccountToken, false);
      assert.equal(spec.securityContext.runAsNonRoot, true);
      assert.notEqual(spec.securityContext.runAsUser, 0);
      assert.equal(spec.securityContext.seccompProfile.type, 'RuntimeDefault');
      const c = spec.containers[0];
      assert.deepEqual(c.securityContext, { runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
      for (const kind of ['requests', 'limits']) for (const res of ['cpu', 'memory']) assert.ok(c.resources?.[kind]?.[res], `resources.${kind}.${res}`);
    });

    it('POSTs to the initiator Service\'s trigger port, from the initiator namespace, and no Service selects it', () => {
      const r = helmTemplate(helm, ['--set', 'namespaces.initiator=ferry-a', '--set', 'ports.trigger=9001']);
      assert.ok(r.ok, r.stderr);
      const pod = testPods(r.docs)[0]!;
      const env = Object.fromEntries((pod['spec'].containers[0].env as Obj[]).map((e) => [e['name'], e['value']]));
      const url = new URL(env['TRIGGER_URL']);
      assert.equal(url.pathname, '/trigger');
      const [serviceName, namespace] = url.hostname.split('.');
      const service = find(r.docs, 'Service', serviceName!, namespace) as Obj;
      assert.equal(namespace, 'ferry-a');
      const port = (service['spec'].ports as Obj[]).find((p) => p['name'] === 'trigger');
      assert.equal(String(port?.['port']), url.port);
      assert.equal(url.port, '9001');
      assert.equal(pod['metadata'].namespace, 'ferry-a');
      for (const svc of r.docs.filter((d) => d.kind === 'Service') as Obj[]) {
        const selector = svc['spec'].selector as Record<string, string>;
        assert.ok(!Object.entries(selector).every(([k, v]) => pod['metadata'].labels[k] === v), `Service ${svc['metadata'].name} would send traffic to the test Pod`);
      }
    });

    it('is admitted to /trigger by the initiator NetworkPolicy, as a pod of the initiator namespace, whatever httpFrom and triggerFrom say', () => {
      for (const args of [[], ['--set', 'networkPolicy.httpFrom[0].namespaceSelector.matchLabels.team=monitoring'], ['--set', 'networkPolicy.triggerFrom[0].namespaceSelector.matchLabels.team=orders']]) {
        const r = helmTemplate(helm, args);
        assert.ok(r.ok, r.stderr);
        const pod = testPods(r.docs)[0]!;
        const policy = find(r.docs, 'NetworkPolicy', 'initiator') as Obj;
        assert.ok(admits(policy, pod['metadata'].labels, pod['metadata'].namespace), `not admitted with ${args.join(' ') || 'defaults'}`);
      }
    });

    it('reads the trigger token from trigger.auth.existingSecret, mounted read-only, when one is set', () => {
      const none = testPods(helmTemplate(helm).docs)[0]!;
      assert.equal((none['spec'].containers[0].env as Obj[]).find((e) => e['name'] === 'TRIGGER_TOKEN_FILE'), undefined);
      assert.equal(none['spec'].volumes, undefined);
      const r = helmTemplate(helm, ['--set', 'trigger.auth.existingSecret=trigger-token', '--set', 'trigger.auth.key=bearer']);
      assert.ok(r.ok, r.stderr);
      const pod = testPods(r.docs)[0]!;
      const c = pod['spec'].containers[0] as Obj;
      const file = (c['env'] as Obj[]).find((e) => e['name'] === 'TRIGGER_TOKEN_FILE')?.['value'] as string;
      const mount = (c['volumeMounts'] as Obj[]).find((m) => file.startsWith(`${m['mountPath']}/`));
      assert.ok(mount, `no mount holds ${file}`);
      assert.equal(mount['readOnly'], true);
      const volume = (pod['spec'].volumes as Obj[]).find((v) => v['name'] === mount['name']);
      assert.deepEqual(volume?.['secret'], { secretName: 'trigger-token', items: [{ key: 'bearer', path: file.slice(mount['mountPath'].length + 1) }], defaultMode: 0o440 });
      assert.equal(pod['spec'].securityContext.fsGroup, 10001, 'the 0440 file is readable through the fsGroup');
    });
  });
}

describe('the helm test script, run as the Pod runs it, against a real initiator and terminator on loopback', () => {
  const run = promisify(execFile);
  const r = helmTemplate(helms[0]!);
  const pod = testPods(r.docs)[0]!;
  const container = pod['spec'].containers[0] as Obj;
  const podEnv = Object.fromEntries((container['env'] as Obj[]).map((e) => [e['name'], String(e['value'])]));
  let pki: TestPki;
  before(() => {
    pki = makeTestPki();
  });
  after(() => pki.cleanup());

  /** The Pod's command and args, with node as `node`, and the Pod's env except the URL (and timeout if given). */
  async function runTest(url: string, timeoutMs = podEnv['TRIGGER_TIMEOUT_MS'], tokenFile?: string): Promise<{ code: number; stdout: string; stderr: string }> {
    const [bin, ...args] = [...(container['command'] as string[]), ...(container['args'] as string[])];
    assert.equal(bin, 'node');
    try {
      const out = await run(process.execPath, args, { env: { PATH: process.env['PATH'] ?? '', TRIGGER_URL: url, TRIGGER_BODY: podEnv['TRIGGER_BODY'], TRIGGER_TIMEOUT_MS: timeoutMs, ...(tokenFile ? { TRIGGER_TOKEN_FILE: tokenFile } : {}) } });
      return { code: 0, stdout: out.stdout, stderr: out.stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  }

  it('passes on 200 {"status":"delivered"}, and the terminator\'s hook received the payload', async () => {
    const received: unknown[] = [];
    const terminator = await terminatorWith(pki, { on_receive_terminator: (payload) => void received.push(payload) }, await freePort());
    const initiator = await initiatorFor(pki, terminator.sessionPort, 64);
    try {
      await initiator.whenSendable();
      const out = await runTest(`http://127.0.0.1:${initiator.triggerPort}/trigger`);
      assert.equal(out.code, 0, out.stderr);
      assert.match(out.stdout, /^PASS: POST .* -> 200 \{"status":"delivered"/);
      assert.deepEqual(received, [JSON.parse(podEnv['TRIGGER_BODY']!)]);
    } finally {
      await initiator.stop();
      await terminator.stop();
    }
  });

  it('fails on 502 when the terminator\'s hook throws', async () => {
    const terminator = await terminatorWith(pki, { on_receive_terminator: () => { throw new Error('downstream rejected it'); } }, await freePort());
    const initiator = await initiatorFor(pki, terminator.sessionPort, 64);
    try {
      await initiator.whenSendable();
      const out = await runTest(`http://127.0.0.1:${initiator.triggerPort}/trigger`);
      assert.equal(out.code, 1);
      assert.match(out.stderr, /^FAIL: POST .* -> 502 .*FERRY_ERR_REMOTE_HOOK/);
    } finally {
      await initiator.stop();
      await terminator.stop();
    }
  });

  it('fails on 503 when the initiator has no session', async () => {
    const initiator = await initiatorFor(pki, await freePort(), 64);
    try {
      const out = await runTest(`http://127.0.0.1:${initiator.triggerPort}/trigger`);
      assert.equal(out.code, 1);
      assert.match(out.stderr, /^FAIL: POST .* -> 503 .*FERRY_ERR_NO_SESSION/);
    } finally {
      await initiator.stop();
    }
  });

  it('fails, naming the wait, when no answer comes within TRIGGER_TIMEOUT_MS', async () => {
    const terminator = await terminatorWith(pki, { on_receive_terminator: () => new Promise<void>(() => {}) }, await freePort(), 10_000, { 'session.drainTimeoutMs': 0 });
    const initiator = await initiatorFor(pki, terminator.sessionPort, 64, 0, { 'session.drainTimeoutMs': 0 });
    try {
      await initiator.whenSendable();
      const out = await runTest(`http://127.0.0.1:${initiator.triggerPort}/trigger`, '300');
      assert.equal(out.code, 1);
      assert.match(out.stderr, /^FAIL: POST .*: no answer within 300 ms/);
    } finally {
      await initiator.stop();
      await terminator.stop();
    }
  });

  it('sends the token of TRIGGER_TOKEN_FILE: passes against an initiator that requires it, fails 401 without it', async () => {
    const received: unknown[] = [];
    const terminator = await terminatorWith(pki, { on_receive_terminator: (payload) => void received.push(payload) }, await freePort());
    const dir = mkdtempSync(join(tmpdir(), 'ferry-token-'));
    const tokenFile = join(dir, 'token');
    // As `kubectl create secret --from-file` stores it: with the file's final newline.
    writeFileSync(tokenFile, 's3cret-helm-test\n');
    const initiator = await initiatorFor(pki, terminator.sessionPort, 64, 0, { 'http.triggerTokenFile': tokenFile });
    try {
      await initiator.whenSendable();
      const url = `http://127.0.0.1:${initiator.triggerPort}/trigger`;
      const without = await runTest(url);
      assert.equal(without.code, 1);
      assert.match(without.stderr, /^FAIL: POST .* -> 401 .*FERRY_ERR_UNAUTHORIZED/);
      const out = await runTest(url, podEnv['TRIGGER_TIMEOUT_MS'], tokenFile);
      assert.equal(out.code, 0, out.stderr);
      assert.match(out.stdout, /^PASS: POST .* -> 200 \{"status":"delivered"/);
      assert.deepEqual(received, [JSON.parse(podEnv['TRIGGER_BODY']!)]);
    } finally {
      await initiator.stop();
      await terminator.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails, naming the cause, when nothing listens at the URL', async () => {
    const out = await runTest(`http://127.0.0.1:${await freePort()}/trigger`);
    assert.equal(out.code, 1);
    assert.match(out.stderr, /^FAIL: POST .*: .*ECONNREFUSED/);
  });
});
