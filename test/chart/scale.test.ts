/**
 * The chart at N > 1 pods per side, rendered with every helm found (helm 4 and helm 3 in CI)
 * and validated against the Kubernetes 1.33 schemas (PodDisruptionBudget as policy/v1):
 * one replica renders no PodDisruptionBudget; three render one per app that selects exactly the
 * app's pods; both Deployments roll out surge-before-unavailable; the topology spread appears
 * only when enabled; the terminator is Ready only when /readyz (listening, not draining) says so.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import yaml from 'js-yaml';
import { validateBlueprint } from '../../tools/src/blueprint-schema.js';
import { renderValuesYaml } from '../../tools/src/render-values.js';
import { CONTAINER, INITIATOR, TERMINATOR } from '../../tools/src/names.js';
import { findUnknownFields, validateSchemas, type K8sDoc } from './k8s-validate.js';
import { CHART_DIR, find, helmBinaries, helmTemplate, REPO_ROOT } from './render.js';

type Obj = Record<string, any>;
const APPS = [INITIATOR, TERMINATOR] as const;
const work = mkdtempSync(join(tmpdir(), 'ferry-scale-test-'));
after(() => rmSync(work, { recursive: true, force: true }));

const THREE = ['--set', 'initiator.replicaCount=3', '--set', 'terminator.replicaCount=3'];
const SPREAD = [...THREE, '--set', 'topologySpread.enabled=true'];

async function assertValid(docs: readonly K8sDoc[], label: string): Promise<void> {
  const bad = [...(await validateSchemas(docs)), ...findUnknownFields(docs)].filter((r) => r.errors.length > 0);
  assert.deepEqual(bad.map((r) => `${r.id}: ${r.errors.join('; ')}`), [], `${label}: invalid manifests`);
}

const podSpec = (d: Obj): Obj => d['spec'].template.spec;
const webApp = (d: Obj): Obj => podSpec(d).containers.find((c: Obj) => c['name'] === CONTAINER);

for (const helm of helmBinaries()) {
  describe(`chart at N > 1 pods with ${helm.version}`, () => {
    it('renders no PodDisruptionBudget and no topology spread with one replica per app (the defaults)', async () => {
      const r = helmTemplate(helm);
      assert.ok(r.ok, r.stderr);
      assert.equal(r.docs.filter((d) => d.kind === 'PodDisruptionBudget').length, 0);
      for (const app of APPS) {
        const d = find(r.docs, 'Deployment', app.deployment, app.namespace) as Obj;
        assert.equal(d['spec'].replicas, 1);
        assert.equal(podSpec(d).topologySpreadConstraints, undefined);
      }
    });

    it('renders a policy/v1 PodDisruptionBudget per app with 3 replicas: maxUnavailable 1, selecting exactly its pods', async () => {
      const r = helmTemplate(helm, THREE);
      assert.ok(r.ok, r.stderr);
      await assertValid(r.docs, '3 replicas');
      assert.equal(r.docs.filter((d) => d.kind === 'PodDisruptionBudget').length, 2);
      for (const app of APPS) {
        const d = find(r.docs, 'Deployment', app.deployment, app.namespace) as Obj;
        const pdb = find(r.docs, 'PodDisruptionBudget', app.deployment, app.namespace) as Obj;
        assert.equal(d['spec'].replicas, 3);
        assert.equal(pdb['apiVersion'], 'policy/v1');
        assert.deepEqual(pdb['spec'], { maxUnavailable: 1, selector: { matchLabels: d['spec'].selector.matchLabels } });
        const podLabels = d['spec'].template.metadata.labels as Obj;
        for (const [k, v] of Object.entries(pdb['spec'].selector.matchLabels)) assert.equal(podLabels[k], v, `${app.deployment} pods carry ${k}`);
      }
    });

    it('renders a PodDisruptionBudget only for the side that has more than one pod', () => {
      const r = helmTemplate(helm, ['--set', 'terminator.replicaCount=2']);
      assert.ok(r.ok, r.stderr);
      assert.deepEqual(r.docs.filter((d) => d.kind === 'PodDisruptionBudget').map((d) => d.metadata?.namespace), [TERMINATOR.namespace]);
    });

    it('rolls both Deployments out surge before unavailable (maxSurge 1, maxUnavailable 0), at 1 and at 3 replicas', () => {
      for (const args of [[], THREE]) {
        const r = helmTemplate(helm, args);
        assert.ok(r.ok, r.stderr);
        for (const app of APPS) {
          const d = find(r.docs, 'Deployment', app.deployment, app.namespace) as Obj;
          assert.deepEqual(d['spec'].strategy, { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } }, app.deployment);
        }
      }
    });

    it('spreads each app over nodes when topologySpread.enabled (ScheduleAnyway, maxSkew 1, its own pods only)', async () => {
      const r = helmTemplate(helm, SPREAD);
      assert.ok(r.ok, r.stderr);
      await assertValid(r.docs, '3 replicas, spread');
      for (const app of APPS) {
        const d = find(r.docs, 'Deployment', app.deployment, app.namespace) as Obj;
        assert.deepEqual(podSpec(d).topologySpreadConstraints, [{
          maxSkew: 1,
          topologyKey: 'kubernetes.io/hostname',
          whenUnsatisfiable: 'ScheduleAnyway',
          labelSelector: { matchLabels: d['spec'].selector.matchLabels },
        }]);
      }
      const zones = helmTemplate(helm, [...SPREAD, '--set', 'topologySpread.topologyKey=topology.kubernetes.io/zone', '--set', 'topologySpread.whenUnsatisfiable=DoNotSchedule']);
      assert.ok(zones.ok, zones.stderr);
      const c = podSpec(find(zones.docs, 'Deployment', TERMINATOR.deployment) as Obj).topologySpreadConstraints[0] as Obj;
      assert.deepEqual([c['topologyKey'], c['whenUnsatisfiable']], ['topology.kubernetes.io/zone', 'DoNotSchedule']);
    });

    it('makes a terminator pod Ready only through /readyz on its http port (listening and not draining)', () => {
      const r = helmTemplate(helm, THREE);
      assert.ok(r.ok, r.stderr);
      const c = webApp(find(r.docs, 'Deployment', TERMINATOR.deployment, TERMINATOR.namespace) as Obj);
      assert.deepEqual(c['readinessProbe'].httpGet, { path: '/readyz', port: 'http' });
      assert.ok(c['ports'].some((p: Obj) => p['name'] === 'http'), 'the probe names a port the container declares');
    });

    it('keeps the grace period longer than the drain timeout at 3 replicas', () => {
      const r = helmTemplate(helm, [...THREE, '--set', 'config.session.drainTimeoutMs=25000', '--set', 'terminationGracePeriodSeconds=45']);
      assert.ok(r.ok, r.stderr);
      for (const d of r.docs.filter((x) => x.kind === 'Deployment') as Obj[]) assert.ok(podSpec(d).terminationGracePeriodSeconds * 1000 > 25000);
      const short = helmTemplate(helm, [...THREE, '--set', 'config.session.drainTimeoutMs=25000', '--set', 'terminationGracePeriodSeconds=25']);
      assert.equal(short.ok, false);
      assert.match(short.stderr, /ERROR: terminationGracePeriodSeconds \(25 s\) must be longer/);
    });

    it('rejects a negative replica count, a zero maxSkew and an unknown whenUnsatisfiable through values.schema.json', () => {
      for (const [set, key] of [['terminator.replicaCount=-1', 'replicaCount'], ['topologySpread.maxSkew=0', 'maxSkew'], ['topologySpread.whenUnsatisfiable=Sometimes', 'whenUnsatisfiable'], ['topologySpread.enable=true', 'enable']] as const) {
        const r = helmTemplate(helm, ['--set', set]);
        assert.equal(r.ok, false, set);
        assert.match(r.stderr, new RegExp(key), set);
      }
    });
  });
}

describe('blueprint replicas through the chart', () => {
  it('renders replicas 2 and 3 with topologySpread from blueprint.yaml into valid Deployments, PodDisruptionBudgets and spread', async () => {
    const doc = yaml.load(readFileSync(join(REPO_ROOT, 'blueprint.yaml'), 'utf8'), { schema: yaml.CORE_SCHEMA }) as Obj;
    doc['replicas'] = { initiator: 2, terminator: 3, topologySpread: true };
    const file = join(work, 'blueprint-scaled.yaml');
    writeFileSync(file, renderValuesYaml(validateBlueprint(doc)));
    const helm = helmBinaries()[0];
    assert.ok(helm);
    const r = helmTemplate(helm, ['-f', file]);
    assert.ok(r.ok, r.stderr);
    await assertValid(r.docs, 'blueprint replicas');
    assert.equal((find(r.docs, 'Deployment', INITIATOR.deployment, INITIATOR.namespace) as Obj)['spec'].replicas, 2);
    assert.equal((find(r.docs, 'Deployment', TERMINATOR.deployment, TERMINATOR.namespace) as Obj)['spec'].replicas, 3);
    for (const app of APPS) {
      find(r.docs, 'PodDisruptionBudget', app.deployment, app.namespace);
      assert.equal(podSpec(find(r.docs, 'Deployment', app.deployment, app.namespace) as Obj).topologySpreadConstraints.length, 1);
    }
  });
});

describe('NOTES.txt at N > 1', () => {
  it('keeps the verify command verbatim and adds how to see every initiator pod (helm 4 client dry-run)', (t) => {
    const helm4 = helmBinaries().find((h) => /^v4\./.test(h.version));
    if (!helm4) return t.skip('no helm 4 here (helm 3 dry-runs need a cluster)');
    const notesOf = (args: string[]) => {
      const out = execFileSync(helm4.path, ['install', 'fast-ferry', CHART_DIR, '--dry-run=client', ...args], { encoding: 'utf8' });
      return out.slice(out.indexOf('NOTES:'));
    };
    const all = `kubectl logs -n ${INITIATOR.namespace} -l app.kubernetes.io/component=initiator,app.kubernetes.io/instance=fast-ferry -c ${CONTAINER} --prefix`;
    const three = notesOf(THREE);
    assert.ok(three.includes(`kubectl logs -n ${INITIATOR.namespace} deployment/initiator -c ${CONTAINER} -f`), three);
    assert.ok(three.includes(all), three);
    assert.match(three, /one of the 3 initiator pods/);
    assert.ok(!notesOf([]).includes('--prefix'), 'one pod: nothing to add');
  });
});
