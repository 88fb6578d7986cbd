/**
 * The chart's side of locking /trigger (issue 15 §5), rendered with helm 3 and 4: the initiator
 * serves it on ports.trigger (container port and Service port `trigger`, config http.triggerPort);
 * its NetworkPolicy admits that port only from the initiator namespace and
 * networkPolicy.triggerFrom, while the http port keeps networkPolicy.httpFrom; an optional
 * trigger.auth.existingSecret is mounted read-only and named by http.triggerTokenFile; the
 * namespaces the chart creates enforce the Pod Security Standard `restricted`, which every pod
 * it renders (the helm test Pod included) meets.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import yaml from 'js-yaml';
import { findUnknownFields, validateSchemas } from './k8s-validate.js';
import { find, helmBinaries, helmTemplate } from './render.js';

type Obj = Record<string, any>;
const INI_NS = 'fast-ferry-initiator-ns';

function configOf(docs: readonly Obj[], component: string): Obj {
  const cm = find(docs, 'ConfigMap', `${component}-config`) as Obj;
  return yaml.load(cm['data']['config.yaml']) as Obj;
}

function ingress(docs: readonly Obj[], component: string): Obj[] {
  return (find(docs, 'NetworkPolicy', component) as Obj)['spec'].ingress as Obj[];
}

/** The ingress rules that open `port` (by name). */
const rulesFor = (rules: Obj[], port: string): Obj[] => rules.filter((r) => (r['ports'] as Obj[]).some((p) => p['port'] === port));

/** Pods of every workload and the helm test Pod, with where each runs. */
function podSpecs(docs: readonly Obj[]): Array<{ name: string; spec: Obj }> {
  const out: Array<{ name: string; spec: Obj }> = [];
  for (const d of docs) {
    if (d['kind'] === 'Deployment') out.push({ name: `Deployment/${d['metadata'].name}`, spec: d['spec'].template.spec });
    if (d['kind'] === 'Pod') out.push({ name: `Pod/${d['metadata'].name}`, spec: d['spec'] });
  }
  return out;
}

/** What the Pod Security Standard `restricted` (latest) checks, for the fields these pods use. */
function restrictedViolations(spec: Obj): string[] {
  const bad: string[] = [];
  const pod = spec['securityContext'] ?? {};
  for (const c of [...(spec['initContainers'] ?? []), ...spec['containers']] as Obj[]) {
    const sc = c['securityContext'] ?? {};
    const name = c['name'];
    if (sc.allowPrivilegeEscalation !== false) bad.push(`${name}: allowPrivilegeEscalation must be false`);
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) bad.push(`${name}: capabilities must drop ALL`);
    if ((sc.capabilities?.add ?? []).some((cap: string) => cap !== 'NET_BIND_SERVICE')) bad.push(`${name}: adds capabilities`);
    if (sc.runAsNonRoot !== true && pod.runAsNonRoot !== true) bad.push(`${name}: runAsNonRoot`);
    if (sc.runAsUser === 0 || (sc.runAsUser === undefined && pod.runAsUser === 0)) bad.push(`${name}: runAsUser 0`);
    const seccomp = sc.seccompProfile?.type ?? pod.seccompProfile?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') bad.push(`${name}: seccompProfile must be RuntimeDefault`);
    if (sc.privileged) bad.push(`${name}: privileged`);
    for (const p of c['ports'] ?? []) if (p.hostPort) bad.push(`${name}: hostPort`);
  }
  const allowed = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']);
  for (const v of spec['volumes'] ?? []) {
    const kinds = Object.keys(v).filter((k) => k !== 'name');
    if (!kinds.every((k) => allowed.has(k))) bad.push(`volume ${v.name}: ${kinds.join(',')} is not allowed`);
  }
  if (spec['hostNetwork'] || spec['hostPID'] || spec['hostIPC']) bad.push('host namespaces');
  return bad;
}

for (const helm of helmBinaries()) {
  describe(`/trigger locked down in the chart, with ${helm.version}`, () => {
    it('the initiator serves /trigger on ports.trigger: container port, Service port `trigger` and config http.triggerPort; the terminator has none', () => {
      const r = helmTemplate(helm, ['--set', 'ports.trigger=9443']);
      assert.ok(r.ok, r.stderr);
      const docs = r.docs as Obj[];
      const container = (find(docs, 'Deployment', 'initiator') as Obj)['spec'].template.spec.containers[0];
      assert.deepEqual(container.ports.map((p: Obj) => [p['name'], p['containerPort']]), [['http', 8080], ['trigger', 9443]]);
      const svc = (find(docs, 'Service', 'initiator') as Obj)['spec'].ports as Obj[];
      assert.deepEqual(svc.map((p) => [p['name'], p['port'], p['targetPort']]), [['http', 8080, 'http'], ['trigger', 9443, 'trigger']]);
      assert.equal(configOf(docs, 'initiator')['http'].triggerPort, 9443);
      assert.equal(configOf(docs, 'initiator')['http'].triggerTokenFile, '', 'no token unless trigger.auth.existingSecret is set');
      const tContainer = (find(docs, 'Deployment', 'terminator') as Obj)['spec'].template.spec.containers[0];
      assert.ok(!tContainer.ports.some((p: Obj) => p['name'] === 'trigger'));
      assert.ok(!((find(docs, 'Service', 'terminator') as Obj)['spec'].ports as Obj[]).some((p) => p['name'] === 'trigger'));
      assert.equal(configOf(docs, 'terminator')['http'].triggerPort, undefined);
    });

    it('refuses ports.trigger equal to ports.http, and http.triggerPort / http.triggerTokenFile under config (the chart owns them)', () => {
      const same = helmTemplate(helm, ['--set', 'ports.trigger=8080']);
      assert.equal(same.ok, false);
      assert.match(same.stderr, /ports\.http and ports\.trigger are both 8080; POST \/trigger needs a port of its own/);
      for (const key of ['triggerPort=9000', 'triggerTokenFile=/x']) {
        const r = helmTemplate(helm, ['--set', `config.http.${key}`]);
        assert.equal(r.ok, false, key);
        assert.match(r.stderr, /additional properties|not allowed|additionalProperties/i, r.stderr);
      }
    });

    it('the NetworkPolicy admits the trigger port only from the initiator namespace by default; http keeps httpFrom', () => {
      const r = helmTemplate(helm);
      assert.ok(r.ok, r.stderr);
      const rules = ingress(r.docs as Obj[], 'initiator');
      const trigger = rulesFor(rules, 'trigger');
      assert.equal(trigger.length, 1, 'one rule opens the trigger port');
      assert.deepEqual(trigger[0]!['from'], [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': INI_NS } } }]);
      assert.deepEqual(trigger[0]!['ports'], [{ port: 'trigger', protocol: 'TCP' }], 'the trigger rule opens nothing else');
      const http = rulesFor(rules, 'http');
      assert.equal(http.length, 1);
      assert.equal(http[0]!['from'], undefined, 'httpFrom empty: the probes and metrics port stays open to anyone, as before');
      assert.ok(!rulesFor(ingress(r.docs as Obj[], 'terminator'), 'trigger').length, 'the terminator opens no trigger port');
    });

    it('networkPolicy.triggerFrom adds peers to the trigger port (after the initiator namespace), httpFrom still governs http alone', () => {
      const peer = { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'orders' } }, podSelector: { matchLabels: { app: 'checkout' } } };
      const monitoring = { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } };
      const r = helmTemplate(helm, ['--set-json', `networkPolicy.triggerFrom=${JSON.stringify([peer])}`, '--set-json', `networkPolicy.httpFrom=${JSON.stringify([monitoring])}`, '--set', 'namespaces.initiator=ferry-a']);
      assert.ok(r.ok, r.stderr);
      const rules = ingress(r.docs as Obj[], 'initiator');
      assert.deepEqual(rulesFor(rules, 'trigger')[0]!['from'], [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ferry-a' } } }, peer]);
      assert.deepEqual(rulesFor(rules, 'http')[0]!['from'], [monitoring]);
      assert.ok(!JSON.stringify(rulesFor(rules, 'http')).includes('orders'), 'triggerFrom opens nothing on the http port');
      const bad = findUnknownFields(r.docs.filter((d) => d.kind === 'NetworkPolicy'));
      assert.deepEqual(bad.filter((x) => x.errors.length > 0), []);
    });

    it('trigger.auth.existingSecret: mounted read-only (0440 via fsGroup) and named by http.triggerTokenFile; absent by default', async () => {
      const none = helmTemplate(helm);
      const plain = (find(none.docs, 'Deployment', 'initiator') as Obj)['spec'].template.spec;
      assert.ok(!JSON.stringify(plain).includes('trigger-token'));
      const r = helmTemplate(helm, ['--set', 'trigger.auth.existingSecret=ferry-trigger', '--set', 'trigger.auth.key=bearer']);
      assert.ok(r.ok, r.stderr);
      const docs = r.docs as Obj[];
      const spec = (find(docs, 'Deployment', 'initiator') as Obj)['spec'].template.spec;
      const file = configOf(docs, 'initiator')['http'].triggerTokenFile as string;
      const mount = (spec.containers[0].volumeMounts as Obj[]).find((m) => file.startsWith(`${m['mountPath']}/`));
      assert.ok(mount, `no mount holds ${file}`);
      assert.equal(mount['readOnly'], true);
      const volume = (spec.volumes as Obj[]).find((v) => v['name'] === mount['name']);
      assert.deepEqual(volume?.['secret'], { secretName: 'ferry-trigger', items: [{ key: 'bearer', path: file.slice(mount['mountPath'].length + 1) }], defaultMode: 0o440 });
      assert.equal(spec.securityContext.fsGroup, 10001);
      const terminator = (find(docs, 'Deployment', 'terminator') as Obj)['spec'].template.spec;
      assert.ok(!JSON.stringify(terminator).includes('ferry-trigger'), 'the terminator does not mount the trigger token');
      assert.equal(configOf(docs, 'terminator')['http'].triggerTokenFile, undefined);
      const invalid = [...(await validateSchemas(r.docs)), ...findUnknownFields(r.docs)].filter((x) => x.errors.length > 0);
      assert.deepEqual(invalid.map((x) => `${x.id}: ${x.errors.join('; ')}`), []);
    });

    it('the namespaces it creates enforce, audit and warn Pod Security `restricted`', () => {
      const r = helmTemplate(helm);
      assert.ok(r.ok, r.stderr);
      const namespaces = r.docs.filter((d) => d.kind === 'Namespace') as Obj[];
      assert.equal(namespaces.length, 2);
      for (const ns of namespaces) {
        for (const mode of ['enforce', 'audit', 'warn']) assert.equal(ns['metadata'].labels[`pod-security.kubernetes.io/${mode}`], 'restricted', `${ns['metadata'].name} ${mode}`);
      }
      assert.equal(helmTemplate(helm, ['--set', 'namespaces.create=false']).docs.filter((d) => d.kind === 'Namespace').length, 0);
    });

    it('every pod it renders (the helm test Pod too, with and without a token) meets `restricted`', () => {
      for (const args of [[], ['--set', 'trigger.auth.existingSecret=ferry-trigger']]) {
        const r = helmTemplate(helm, args);
        assert.ok(r.ok, r.stderr);
        const pods = podSpecs(r.docs as Obj[]);
        assert.deepEqual(pods.map((p) => p.name).sort(), ['Deployment/initiator', 'Deployment/terminator', 'Pod/fast-ferry-trigger-test']);
        for (const { name, spec } of pods) assert.deepEqual(restrictedViolations(spec), [], `${name} with ${args.join(' ') || 'defaults'}`);
      }
    });
  });
}
