/**
 * Chart suite: helm lint --strict and helm template (default and non-default values) with every
 * helm found (helm 4 and helm 3 in CI), each render validated against the Kubernetes schemas
 * (types, enums, required fields) and checked for unknown fields; then the contract between
 * the rendered manifests and the apps, read from the manifests and the apps' config schema.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import yaml from 'js-yaml';
import { CONFIG_SCHEMA, loadConfig } from '@fast-ferry/core';
import { loadBlueprint, renderValuesYaml } from '../../tools/src/render-values.js';
import { validateBlueprint } from '../../tools/src/blueprint-schema.js';
import { findUnknownFields, validateSchemas, type K8sDoc } from './k8s-validate.js';
import { CHART_DIR, find, helmBinaries, helmTemplate, type Helm } from './render.js';
import { CHART_OWNED_KEYS, runtimeConfigSchema } from '../../tools/src/chart-schema.js';
import { CONTAINER, INITIATOR, TERMINATOR, logsCommand } from '../../tools/src/names.js';

type Obj = Record<string, any>;
const work = mkdtempSync(join(tmpdir(), 'ferry-chart-test-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** Values that switch on or change everything optional. */
const NON_DEFAULT_VALUES = {
  nameOverride: 'ferry',
  namespaces: { create: false, initiator: 'ferry-a', terminator: 'ferry-b' },
  config: {
    log: { format: 'json', level: 'debug' },
    session: { pingIntervalMs: 5000, drainTimeoutMs: 40000, serverName: 'terminator.ferry-b.svc' },
    reconnect: { growth: 1.5, maxRetries: 7 },
    autoTrigger: { count: 9 },
    armor: { mode: 'tls', rekeyMessages: 1000000 },
  },
  ports: { http: 9000, session: 9443 },
  tls: { initiatorSecretName: 'a-tls', terminatorSecretName: 'b-tls', checksum: 'abc123' },
  terminationGracePeriodSeconds: 60,
  initiator: {
    replicaCount: 2,
    image: { repository: 'registry.example.com/ferry/initiator', tag: '1.2.3', pullPolicy: 'Always' },
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } },
    podAnnotations: { team: 'payments' },
    extraEnv: [{ name: 'FERRY_LOG_LEVEL', value: 'warn' }],
    nodeSelector: { 'kubernetes.io/os': 'linux' },
    tolerations: [{ key: 'dedicated', operator: 'Exists', effect: 'NoSchedule' }],
  },
  networkPolicy: { enabled: true, httpFrom: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }] },
  serviceMonitor: { enabled: true, interval: '15s', labels: { release: 'prom' } },
};
const nonDefaultFile = join(work, 'non-default.yaml');
writeFileSync(nonDefaultFile, yaml.dump(NON_DEFAULT_VALUES));

const helms = helmBinaries();
const deployments = (docs: readonly K8sDoc[]) => docs.filter((d) => d.kind === 'Deployment') as Obj[];
const webApp = (d: Obj): Obj => d['spec'].template.spec.containers.find((c: Obj) => c['name'] === CONTAINER);
const configOf = (docs: readonly K8sDoc[], d: Obj): Obj => {
  const vol = d['spec'].template.spec.volumes.find((v: Obj) => v['configMap']);
  const cm = find(docs, 'ConfigMap', vol.configMap.name, d['metadata'].namespace) as Obj;
  return yaml.load(String(cm['data']['config.yaml'])) as Obj;
};

async function assertValidManifests(docs: readonly K8sDoc[], label: string, t: { diagnostic(msg: string): void }) {
  assert.ok(docs.length > 0, `${label}: rendered nothing`);
  const schema = await validateSchemas(docs);
  const unknown = findUnknownFields(docs);
  const bad = [...schema, ...unknown].filter((r) => r.errors.length > 0);
  assert.deepEqual(bad.map((r) => `${r.id}: ${r.errors.join('; ')}`), [], `${label}: invalid manifests`);
  const kinds = [...new Set(docs.map((d) => String(d.kind)))].sort().join(', ');
  t.diagnostic(`${label}: ${docs.length} documents (${kinds}) valid against the Kubernetes 1.33 schemas, no unknown fields`);
}

for (const helm of helms) {
  describe(`chart with ${helm.version}`, () => {
    it('passes helm lint --strict with default values', () => {
      execFileSync(helm.path, ['lint', '--strict', CHART_DIR], { stdio: 'pipe' });
    });

    it('passes helm lint --strict with non-default values', () => {
      execFileSync(helm.path, ['lint', '--strict', CHART_DIR, '-f', nonDefaultFile], { stdio: 'pipe' });
    });

    it('renders default values into manifests valid against the Kubernetes schemas, without unknown fields', async (t) => {
      const r = helmTemplate(helm);
      assert.ok(r.ok, r.stderr);
      await assertValidManifests(r.docs, 'default values', t);
    });

    it('renders non-default values (ServiceMonitor, extra env, other ports and namespaces) into valid manifests', async (t) => {
      const r = helmTemplate(helm, ['-f', nonDefaultFile]);
      assert.ok(r.ok, r.stderr);
      await assertValidManifests(r.docs, 'non-default values', t);
      assert.ok(r.docs.some((d) => d.kind === 'ServiceMonitor'), 'ServiceMonitor rendered when enabled');
      assert.ok(!r.docs.some((d) => d.kind === 'Namespace'), 'no Namespace when namespaces.create is false');
    });

    it('rejects a misspelled value key through values.schema.json', () => {
      const r = helmTemplate(helm, ['--set', 'initiator.replicaCout=2']);
      assert.equal(r.ok, false);
      assert.match(r.stderr, /replicaCout/);
    });

    it('rejects an unknown runtime config key and a key the chart owns', () => {
      const typo = helmTemplate(helm, ['--set', 'config.session.pingIntervalMillis=5']);
      assert.equal(typo.ok, false);
      assert.match(typo.stderr, /pingIntervalMillis/);
      const owned = helmTemplate(helm, ['--set', 'config.session.url=wss://elsewhere:1']);
      assert.equal(owned.ok, false);
      assert.match(owned.stderr, /url/);
    });

    it('rejects a host the pods would refuse at start-up, naming the key (values.schema.json pattern)', () => {
      for (const [key, value] of [['config.http.host', '999.1.1.1'], ['config.session.listenHost', '[::1]'], ['config.session.serverName', '1.2.3.999']] as const) {
        const r = helmTemplate(helm, ['--set-string', `${key}=${value}`]);
        assert.equal(r.ok, false, `${key}=${value}`);
        assert.match(r.stderr, new RegExp(key.split('.').pop() as string));
      }
      assert.ok(helmTemplate(helm, ['--set-string', 'config.http.host=::', '--set-string', 'config.session.serverName=terminator.example']).ok);
    });

    it('rejects root (runAsUser 0) and out-of-range runtime values', () => {
      assert.equal(helmTemplate(helm, ['--set', 'securityContext.runAsUser=0']).ok, false);
      const ping = helmTemplate(helm, ['--set', `config.session.pingIntervalMs=${CONFIG_SCHEMA['session.pingIntervalMs'].min - 1}`]);
      assert.equal(ping.ok, false);
      assert.match(ping.stderr, /pingIntervalMs/);
    });

    it('fails with an ERROR line when the grace period is not longer than the drain timeout', () => {
      const r = helmTemplate(helm, ['--set', 'terminationGracePeriodSeconds=10', '--set', 'config.session.drainTimeoutMs=10000']);
      assert.equal(r.ok, false);
      assert.match(r.stderr, /ERROR: terminationGracePeriodSeconds \(10 s\) must be longer than config\.session\.drainTimeoutMs \(10000 ms\)/);
    });
  });
}

describe('rendered manifests honour the contract with the apps', () => {
  const helm = helms[0] as Helm;
  for (const [label, args] of [['default values', []], ['non-default values', ['-f', nonDefaultFile]]] as const) {
    describe(label, () => {
      const r = helmTemplate(helm, args);
      const docs = r.docs;
      const values: Obj = label === 'default values' ? (yaml.load(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8')) as Obj) : NON_DEFAULT_VALUES;

      it('renders', () => assert.ok(r.ok, r.stderr));

      it('has deployment/initiator and deployment/terminator in their namespaces, each with a web-app container (names.ts)', () => {
        for (const [role, names] of [['initiator', INITIATOR], ['terminator', TERMINATOR]] as const) {
          const d = find(docs, 'Deployment', names.deployment, values['namespaces'][role]) as Obj;
          assert.ok(webApp(d), `deployment/${names.deployment} has a container named ${CONTAINER}`);
          find(docs, 'Service', names.deployment, values['namespaces'][role]);
        }
      });

      it('gives every pod the locked-down security context, resources and the IfNotPresent policy (or the one set)', () => {
        for (const d of deployments(docs)) {
          const pod = d['spec'].template.spec;
          const c = webApp(d);
          assert.equal(pod.securityContext.runAsNonRoot, true);
          assert.ok(pod.securityContext.runAsUser > 0);
          assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
          assert.equal(c.securityContext.readOnlyRootFilesystem, true);
          assert.equal(c.securityContext.allowPrivilegeEscalation, false);
          assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
          assert.ok(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.cpu && c.resources.limits.memory);
          const component = d['metadata'].name as 'initiator' | 'terminator';
          assert.equal(c.imagePullPolicy, values[component]?.image?.pullPolicy ?? 'IfNotPresent');
          assert.equal(pod.automountServiceAccountToken, false);
          assert.ok(pod.volumes.some((v: Obj) => v.emptyDir) && c.volumeMounts.some((m: Obj) => m.mountPath === '/tmp'), 'an emptyDir at /tmp');
        }
      });

      it('mounts a config file the apps load, at the path FERRY_CONFIG_FILE names', () => {
        for (const d of deployments(docs)) {
          const c = webApp(d);
          const file = c.env.find((e: Obj) => e.name === 'FERRY_CONFIG_FILE')?.value as string;
          assert.ok(file, 'FERRY_CONFIG_FILE is set');
          const volumes = d['spec'].template.spec.volumes as Obj[];
          const mount = c.volumeMounts.find((m: Obj) => m.mountPath === dirname(file));
          assert.ok(mount, `a volume is mounted at ${dirname(file)}`);
          assert.equal(mount.readOnly, true);
          const vol = volumes.find((v) => v['name'] === mount.name) as Obj;
          const cm = find(docs, 'ConfigMap', vol['configMap'].name, d['metadata'].namespace) as Obj;
          const key = file.slice(dirname(file).length + 1);
          assert.ok(typeof cm['data'][key] === 'string', `ConfigMap has ${key}`);
          // the apps' own loader accepts it (unknown keys and bad values would throw)
          const path = join(work, `${d['metadata'].name}-${label.replace(/\W/g, '')}.yaml`);
          writeFileSync(path, cm['data'][key]);
          const env: Obj = { FERRY_CONFIG_FILE: path };
          for (const e of c.env) if (e.name !== 'FERRY_CONFIG_FILE') env[e.name] = e.value;
          const loaded = loadConfig({ env });
          assert.equal(loaded.http.port, c.ports.find((p: Obj) => p.name === 'http').containerPort, 'http.port is the http containerPort');
          if (d['metadata'].name === 'terminator') {
            assert.equal(loaded.session.listenPort, c.ports.find((p: Obj) => p.name === 'session').containerPort, 'session.listenPort is the session containerPort');
          }
        }
      });

      it('mounts the TLS Secret read-only where the loaded config looks for ca.crt, tls.crt and tls.key', () => {
        for (const d of deployments(docs)) {
          const c = webApp(d);
          const cfg = configOf(docs, d);
          const volumes = d['spec'].template.spec.volumes as Obj[];
          const secretVol = volumes.find((v) => v['secret']) as Obj;
          const mount = c.volumeMounts.find((m: Obj) => m.name === secretVol['name']);
          assert.equal(mount.readOnly, true);
          for (const [key, file] of [['caFile', 'ca.crt'], ['certFile', 'tls.crt'], ['keyFile', 'tls.key']] as const) {
            const path = cfg['tls']?.[key] ?? CONFIG_SCHEMA[`tls.${key}`].default;
            assert.equal(path, `${mount.mountPath}/${file}`, `tls.${key}`);
          }
          const component = d['metadata'].name as string;
          assert.equal(secretVol['secret'].secretName, values['tls']?.[`${component}SecretName`] ?? `${component}-tls`);
        }
      });

      it('probes /healthz (liveness) and /readyz (readiness) on the http port', () => {
        for (const d of deployments(docs)) {
          const c = webApp(d);
          assert.deepEqual([c.livenessProbe.httpGet.path, c.livenessProbe.httpGet.port], ['/healthz', 'http']);
          assert.deepEqual([c.readinessProbe.httpGet.path, c.readinessProbe.httpGet.port], ['/readyz', 'http']);
        }
      });

      it("points the initiator's session.url at the terminator Service's session port", () => {
        const ini = find(docs, 'Deployment', 'initiator') as Obj;
        const url = new URL(String(configOf(docs, ini)['session'].url));
        const [svcName, svcNs] = url.hostname.split('.');
        const svc = find(docs, 'Service', String(svcName), svcNs) as Obj;
        const port = svc['spec'].ports.find((p: Obj) => p.port === Number(url.port));
        assert.ok(port, `Service ${svcName} exposes port ${url.port}`);
        const ter = find(docs, 'Deployment', 'terminator') as Obj;
        const target = webApp(ter).ports.find((p: Obj) => p.name === port.targetPort);
        assert.equal(target?.containerPort, configOf(docs, ter)['session'].listenPort, 'Service → terminator listen port');
        assert.ok(Object.entries(svc['spec'].selector).every(([k, v]) => ter['spec'].template.metadata.labels[k] === v), 'Service selects the terminator pods');
      });

      it('sets terminationGracePeriodSeconds longer than the drain timeout', () => {
        for (const d of deployments(docs)) {
          const drainMs = configOf(docs, d)['session']?.drainTimeoutMs ?? CONFIG_SCHEMA['session.drainTimeoutMs'].default;
          assert.ok(d['spec'].template.spec.terminationGracePeriodSeconds * 1000 > drainMs);
        }
      });

      it("admits only the initiator namespace to the terminator's session port and leaves the http port open to scrapers", () => {
        const np = find(docs, 'NetworkPolicy', 'terminator') as Obj;
        const sessionRule = np['spec'].ingress.find((r: Obj) => r.ports.some((p: Obj) => p.port === 'session'));
        assert.deepEqual(sessionRule.from, [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': values['namespaces'].initiator } } }]);
        const httpRule = np['spec'].ingress.find((r: Obj) => r.ports.some((p: Obj) => p.port === 'http'));
        assert.deepEqual(httpRule.from ?? [], values['networkPolicy'].httpFrom ?? []);
        assert.deepEqual(np['spec'].policyTypes, ['Ingress']);
      });

      it('labels every object with app.kubernetes.io/name, instance and component', () => {
        for (const d of docs) {
          const labels = (d.metadata as Obj)['labels'] ?? {};
          for (const l of ['app.kubernetes.io/name', 'app.kubernetes.io/instance', 'app.kubernetes.io/component']) assert.ok(labels[l], `${String(d.kind)}/${d.metadata?.name} has ${l}`);
        }
      });
    });
  }

  it('renders no ServiceMonitor by default', () => {
    assert.ok(!helmTemplate(helm).docs.some((d) => d.kind === 'ServiceMonitor'));
  });
});

describe('blueprint.yaml through the chart', () => {
  it('renders into values the chart accepts, with the blueprint\'s settings in both ConfigMaps the apps load', async (t) => {
    const bp = loadBlueprint(join(CHART_DIR, '..', '..', 'blueprint.yaml'));
    const file = join(work, 'blueprint-values.yaml');
    writeFileSync(file, renderValuesYaml(bp, { tags: { initiator: 'i1', terminator: 't1' }, tlsChecksum: 'c1' }));
    const r = helmTemplate(helms[0] as Helm, ['-f', file], bp.bundle.name);
    assert.ok(r.ok, r.stderr);
    await assertValidManifests(r.docs, 'blueprint.yaml values', t);
    for (const d of deployments(r.docs)) {
      const cfg = configOf(r.docs, d);
      for (const [section, body] of Object.entries(bp.runtime)) assert.deepEqual({ ...cfg[section], ...body }, cfg[section], `${section} reaches ${d['metadata'].name}`);
      const path = join(work, `bp-${d['metadata'].name}.yaml`);
      writeFileSync(path, yaml.dump(cfg));
      assert.doesNotThrow(() => loadConfig({ env: { FERRY_CONFIG_FILE: path } }));
      const image = webApp(d).image as string;
      assert.equal(image, `${bp.images[d['metadata'].name as 'initiator' | 'terminator']}:${d['metadata'].name === 'initiator' ? 'i1' : 't1'}`);
      assert.equal(d['spec'].template.metadata.annotations['fast-ferry.io/tls-checksum'], 'c1');
    }
  });

  it("turns the blueprint's monitoring section into the chart's ServiceMonitors, dashboard, alert thresholds and test Pod", async (t) => {
    const doc = yaml.load(readFileSync(join(CHART_DIR, '..', '..', 'blueprint.yaml'), 'utf8'), { schema: yaml.CORE_SCHEMA }) as Obj;
    doc['monitoring'] = {
      serviceMonitor: { enabled: true, interval: '15s', labels: { release: 'prom' } },
      grafanaDashboard: { enabled: true, namespace: 'monitoring' },
      prometheusRule: { enabled: true, labels: { release: 'prom' }, lagSeconds: 30, certificateExpiryDays: 30 },
      helmTest: { enabled: false },
    };
    const file = join(work, 'blueprint-monitoring.yaml');
    writeFileSync(file, renderValuesYaml(validateBlueprint(doc)));
    for (const helm of helms) {
      const r = helmTemplate(helm, ['-f', file]);
      assert.ok(r.ok, r.stderr);
      await assertValidManifests(r.docs, `blueprint monitoring values (${helm.version})`, t);
      const monitors = r.docs.filter((d) => d.kind === 'ServiceMonitor') as Obj[];
      assert.equal(monitors.length, 2);
      for (const m of monitors) assert.equal(m['spec'].endpoints[0].interval, '15s');
      find(r.docs, 'ConfigMap', 'fast-ferry-dashboard', 'monitoring');
      const rules = (find(r.docs, 'PrometheusRule', 'fast-ferry-alerts') as Obj)['spec'].groups.flatMap((g: Obj) => g['rules']) as Obj[];
      assert.match(rules.find((x) => x['alert'] === 'FerryLagHigh')?.['expr'] ?? '', /> 30$/);
      assert.match(rules.find((x) => x['alert'] === 'FerryCertificateExpiring')?.['expr'] ?? '', /< 2592000$/);
      assert.equal(r.docs.some((d) => d.kind === 'Pod' && (d as Obj)['metadata'].annotations?.['helm.sh/hook'] === 'test'), false, 'helmTest.enabled: false');
    }
  });

  it("puts a blueprint's nodeOptions in that app's container env as NODE_OPTIONS, next to extraEnv", () => {
    const doc = yaml.load(readFileSync(join(CHART_DIR, '..', '..', 'blueprint.yaml'), 'utf8'), { schema: yaml.CORE_SCHEMA }) as Obj;
    doc['resources'].terminator.nodeOptions = '';
    const file = join(work, 'blueprint-node-options.yaml');
    writeFileSync(file, renderValuesYaml(validateBlueprint(doc)));
    const r = helmTemplate(helms[0] as Helm, ['-f', file, '--set-json', 'terminator.extraEnv=[{"name":"FERRY_LOG_LEVEL","value":"warn"}]']);
    assert.ok(r.ok, r.stderr);
    const envOf = (name: string) => webApp(deployments(r.docs).find((d) => d['metadata'].name === name) as Obj).env as Obj[];
    assert.deepEqual(envOf('terminator').filter((e) => e.name === 'NODE_OPTIONS'), [{ name: 'NODE_OPTIONS', value: '' }]);
    assert.ok(envOf('terminator').some((e) => e.name === 'FERRY_LOG_LEVEL'), 'extraEnv is kept beside it');
    assert.equal(envOf('initiator').some((e) => e.name === 'NODE_OPTIONS'), false, "unset: the image's stays");
  });
});

describe('chart files', () => {
  it("Chart.yaml's appVersion is the apps' package version (the default image tag)", () => {
    const chart = yaml.load(readFileSync(join(CHART_DIR, 'Chart.yaml'), 'utf8')) as Obj;
    assert.match(String(chart['version']), /^\d+\.\d+\.\d+$/);
    for (const app of ['initiator', 'terminator']) {
      const pkg = JSON.parse(readFileSync(join(CHART_DIR, '..', '..', app, 'app', 'package.json'), 'utf8')) as { version: string };
      assert.equal(chart['appVersion'], pkg.version, `${app}/app/package.json`);
    }
  });

  it('NOTES.txt prints the verify command (helm 4 client dry-run)', (t) => {
    const helm4 = helms.find((h) => /^v4\./.test(h.version));
    if (!helm4) return t.skip('no helm 4 here (helm 3 dry-runs need a cluster)');
    const out = execFileSync(helm4.path, ['install', 'fast-ferry', CHART_DIR, '--dry-run=client'], { encoding: 'utf8' });
    const notes = out.slice(out.indexOf('NOTES:'));
    assert.ok(notes.includes(logsCommand()), notes);
  });

  it("values.schema.json's runtime config matches the apps' CONFIG_SCHEMA minus the keys the chart owns", () => {
    const schema = JSON.parse(readFileSync(join(CHART_DIR, 'values.schema.json'), 'utf8')) as Obj;
    assert.deepEqual(schema['definitions'].runtimeConfig, runtimeConfigSchema(),
      'the apps\' config schema changed: run npm run chart:schema');
    for (const key of Object.keys(CHART_OWNED_KEYS)) assert.ok(key in CONFIG_SCHEMA, `${key} (chart-owned) is still an app config key`);
  });

  it('documents every key of values.yaml with a comment (on the key or its parent)', () => {
    const lines = readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8').split('\n');
    const undocumented: string[] = [];
    const stack: { indent: number; documented: boolean; key: string }[] = [];
    lines.forEach((line, i) => {
      const m = /^(\s*)([A-Za-z][\w.-]*):/.exec(line);
      if (!m) return;
      const indent = (m[1] as string).length;
      while (stack.length && (stack[stack.length - 1] as { indent: number }).indent >= indent) stack.pop();
      const above = lines[i - 1]?.trim() ?? '';
      const documented = above.startsWith('#') || stack.some((s) => s.documented);
      const isParent = /:\s*$/.test(line) && (lines[i + 1] ?? '').startsWith(`${m[1]}  `);
      if (!documented && !isParent) undocumented.push(`${[...stack.map((s) => s.key), m[2]].join('.')} (line ${i + 1})`);
      stack.push({ indent, documented: above.startsWith('#'), key: m[2] as string });
    });
    assert.deepEqual(undocumented, []);
  });
});
