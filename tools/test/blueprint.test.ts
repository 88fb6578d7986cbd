import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import yaml from 'js-yaml';
import { CONFIG_SCHEMA, FORMAT_DOCS, loadConfig } from '@fast-ferry/core';
import { BlueprintError, REPLICAS_MAX, validateBlueprint } from '../src/blueprint-schema.js';
import { MONITORING_KEYS } from '../src/blueprint-monitoring.js';
import { CHART_OWNED_KEYS } from '../src/chart-schema.js';
import { envLines, main } from '../src/blueprint.js';
import { GRACE_MARGIN_SECONDS, loadBlueprint, renderValues } from '../src/render-values.js';

const SHIPPED = join(import.meta.dirname, '..', '..', 'blueprint.yaml');
const shipped = () => yaml.load(readFileSync(SHIPPED, 'utf8'), { schema: yaml.CORE_SCHEMA }) as Record<string, any>;
const errorOf = (doc: unknown): BlueprintError => {
  try {
    validateBlueprint(doc);
  } catch (err) {
    assert.ok(err instanceof BlueprintError, String(err));
    return err;
  }
  assert.fail('expected a BlueprintError');
};
const work = mkdtempSync(join(tmpdir(), 'ferry-blueprint-test-'));
after(() => rmSync(work, { recursive: true, force: true }));

describe('blueprint validation', () => {
  it('accepts the shipped blueprint.yaml', () => {
    const bp = loadBlueprint(SHIPPED);
    assert.equal(typeof bp.cluster.name, 'string');
  });

  it('names the key, the bad value and the bounds of the apps\' schema for an out-of-range setting', () => {
    const doc = shipped();
    const leaf = CONFIG_SCHEMA['session.pingIntervalMs'];
    doc['session'].pingIntervalMs = leaf.min - 1;
    const err = errorOf(doc);
    assert.equal(err.key, 'session.pingIntervalMs');
    assert.equal(err.code, 'FERRY_ERR_BLUEPRINT');
    assert.equal(err.message, `blueprint.yaml: session.pingIntervalMs: got ${leaf.min - 1}, expected an integer from ${leaf.min} to ${leaf.max}`);
  });

  it('rejects a string where a number belongs, an unknown enum value and a fractional integer', () => {
    const a = shipped();
    a['reconnect'].growth = 'fast';
    assert.match(errorOf(a).message, /reconnect\.growth: got "fast", expected a number/);
    const b = shipped();
    b['armor'].mode = 'plain';
    assert.match(errorOf(b).message, /armor\.mode: got "plain", expected one of tunnel, tls/);
    const c = shipped();
    c['autoTrigger'].count = 2.5;
    assert.match(errorOf(c).message, /autoTrigger\.count: got 2\.5, expected an integer/);
  });

  it('rejects an unknown section and lists the known ones', () => {
    const doc = { ...shipped(), sesion: { pingIntervalMs: 1000 } };
    const err = errorOf(doc);
    assert.equal(err.key, 'sesion');
    assert.match(err.expected, /one of the sections .*session/);
  });

  it('rejects a misspelled key inside a runtime section and lists the keys of that section', () => {
    const doc = shipped();
    doc['session'].pingInterval = 1000;
    const err = errorOf(doc);
    assert.equal(err.key, 'session.pingInterval');
    assert.match(err.expected, /pingIntervalMs/);
  });

  it('rejects every key the chart derives itself, saying why', () => {
    for (const key of Object.keys(CHART_OWNED_KEYS)) {
      const [section, name] = key.split('.') as [string, string];
      const doc = shipped();
      doc[section] = { ...(doc[section] ?? {}), [name]: 'x' };
      const err = errorOf(doc);
      assert.ok(err.key === key || err.key === section, `${key}: ${err.message}`);
      assert.match(err.message, /chart/);
    }
  });

  it('rejects names that are not DNS labels, image repositories with a tag and a missing section', () => {
    const a = shipped();
    a['cluster'].name = 'My_Cluster';
    assert.equal(errorOf(a).key, 'cluster.name');
    const b = shipped();
    b['images'].initiator = 'fast-ferry/initiator:latest';
    assert.match(errorOf(b).message, /images\.initiator: got "fast-ferry\/initiator:latest", expected an image repository without a tag/);
    const c = shipped();
    delete c['images'];
    assert.equal(errorOf(c).key, 'images');
  });

  it('rejects resource quantities in the wrong form and requests above limits', () => {
    const a = shipped();
    a['resources'].terminator.limits.memory = '256MB';
    assert.equal(errorOf(a).key, 'resources.terminator.limits.memory');
    const b = shipped();
    b['resources'].initiator.requests.cpu = '2';
    b['resources'].initiator.limits.cpu = '500m';
    const err = errorOf(b);
    assert.equal(err.key, 'resources.initiator.requests.cpu');
    assert.match(err.expected, /at most resources\.initiator\.limits\.cpu \(500m\)/);
  });

  it('takes Node options per app that Node starts with, and names what Node refuses', () => {
    const doc = shipped();
    doc['resources'].terminator.nodeOptions = '--max-semi-space-size=16 --max-old-space-size=192';
    doc['resources'].initiator.nodeOptions = '';
    const bp = validateBlueprint(doc);
    assert.equal(bp.resources.terminator.nodeOptions, '--max-semi-space-size=16 --max-old-space-size=192');
    assert.equal(bp.resources.initiator.nodeOptions, '');
    assert.equal('nodeOptions' in validateBlueprint(shipped()).resources.terminator, false, 'unset unless given');
    for (const [bad, expected] of [
      ['--eval=1', /not allowed in NODE_OPTIONS/],
      ['--max-semi-space-size=abc', /illegal value for flag --max-semi-space-size/],
      [2, /Node options as one string/],
    ] as const) {
      const d = shipped();
      d['resources'].terminator.nodeOptions = bad;
      const err = errorOf(d);
      assert.equal(err.key, 'resources.terminator.nodeOptions');
      assert.match(err.expected, expected);
    }
  });

  it('names nodeOptions among the keys a resources section may have', () => {
    const d = shipped();
    d['resources'].terminator.nodeoptions = '';
    const err = errorOf(d);
    assert.equal(err.key, 'resources.terminator.nodeoptions');
    assert.match(err.expected, /resources\.terminator\.nodeOptions/);
  });

  it('returns a frozen blueprint', () => {
    const bp = validateBlueprint(shipped());
    assert.ok(Object.isFrozen(bp) && Object.isFrozen(bp.runtime) && Object.isFrozen(bp.resources.initiator.limits));
  });

  it('reports a YAML syntax error with the file name', () => {
    const file = join(work, 'broken.yaml');
    writeFileSync(file, 'bundle: [unclosed\n');
    assert.throws(() => loadBlueprint(file), new RegExp(`${file}: not valid YAML`));
  });
});

/** Writes blueprint.yaml with `from` replaced by `to` (the text as an operator would type it). */
const editedFile = (name: string, from: string, to: string): string => {
  const text = readFileSync(SHIPPED, 'utf8');
  assert.ok(text.includes(from), `${from} is in blueprint.yaml`);
  const file = join(work, name);
  writeFileSync(file, text.replace(from, to));
  return file;
};
const loadError = (file: string): BlueprintError => {
  try {
    loadBlueprint(file);
  } catch (err) {
    assert.ok(err instanceof BlueprintError, String(err));
    return err;
  }
  assert.fail(`expected ${file} to be refused`);
};
/** Whether the pods' own config loader accepts `value` for `key`. */
const podsAccept = (key: string, value: unknown): boolean => {
  try {
    loadConfig({ env: {}, overrides: { [key]: value } });
    return true;
  } catch {
    return false;
  }
};

describe('blueprint runtime values the pods would refuse at start-up', () => {
  it('refuses a host that is not an IPv4 or IPv6 address or a DNS name, naming the key and the form', () => {
    for (const [section, name, value] of [
      ['http', 'host', '999.1.1.1'],
      ['session', 'listenHost', '[::1]'],
      ['session', 'serverName', '1.2.3.999'],
      ['session', 'listenHost', 'bad_host'],
    ] as const) {
      const doc = shipped();
      doc[section] = { ...(doc[section] ?? {}), [name]: value };
      const err = errorOf(doc);
      assert.equal(err.key, `${section}.${name}`, value);
      assert.ok(err.expected.startsWith(FORMAT_DOCS.host), err.message);
      assert.equal(podsAccept(`${section}.${name}`, value), false, `the pods refuse ${value} too`);
    }
  });

  it('accepts the hosts the pods accept, and an empty serverName (the host of session.url)', () => {
    for (const [key, value] of [['http.host', '::'], ['http.host', '127.0.0.1'], ['session.listenHost', 'localhost'], ['session.serverName', 'terminator.example.'], ['session.serverName', '']] as const) {
      const [section, name] = key.split('.') as [string, string];
      const doc = shipped();
      doc[section] = { ...(doc[section] ?? {}), [name]: value };
      assert.equal(validateBlueprint(doc).runtime[section]?.[name], value);
      assert.ok(podsAccept(key, value), `the pods accept ${key}: ${value}`);
    }
  });

  it('refuses a number not written in decimal digits anywhere in the file, naming the key', () => {
    for (const [from, to, key] of [
      ['drainTimeoutMs: 10000', 'drainTimeoutMs: 0x1f4', 'session.drainTimeoutMs'],
      ['drainTimeoutMs: 10000', 'drainTimeoutMs: 1.5e3', 'session.drainTimeoutMs'],
      ['maxDelayMs: 30000', 'maxDelayMs: +30000', 'reconnect.maxDelayMs'],
      ['growth: 2', 'growth: .inf', 'reconnect.growth'],
      ['initiator: 1 ', 'initiator: 0o1 ', 'replicas.initiator'],
      ['lagSeconds: 60', 'lagSeconds: 6e1', 'monitoring.prometheusRule.lagSeconds'],
    ] as const) {
      const err = loadError(editedFile('non-decimal.yaml', from, to));
      assert.equal(err.key, key, to);
      assert.match(err.expected, /plain decimal digits/, to);
    }
  });

  it("refuses a quoted number with blanks as the pods do, and reads plain decimals as numbers", () => {
    const err = loadError(editedFile('blanks.yaml', 'drainTimeoutMs: 10000', "drainTimeoutMs: ' 500 '"));
    assert.equal(err.key, 'session.drainTimeoutMs');
    assert.equal(podsAccept('session.drainTimeoutMs', ' 500 '), false);
    const bp = loadBlueprint(editedFile('decimal.yaml', 'growth: 2', 'growth: 1.5'));
    assert.equal(bp.runtime['reconnect']?.['growth'], 1.5);
  });

  it('exits 1 from blueprint.js check naming the key for a host the pods refuse', (t) => {
    const file = editedFile('bad-host.yaml', 'log:\n', 'http:\n  host: 999.1.1.1\nlog:\n');
    const errs: string[] = [];
    t.mock.method(process.stderr, 'write', (chunk: string) => { errs.push(String(chunk)); return true; });
    const code = main(['check', '--file', file]);
    t.mock.restoreAll();
    assert.equal(code, 1);
    assert.match(errs.join(''), /http\.host: got "999\.1\.1\.1", expected an IPv4 address/);
  });
});

describe('blueprint monitoring', () => {
  it('renders the monitoring section as the chart values of the same names', () => {
    const doc = shipped();
    doc['monitoring'] = {
      serviceMonitor: { enabled: true, interval: '15s', labels: { release: 'kube-prometheus-stack' } },
      grafanaDashboard: { enabled: true, namespace: 'monitoring' },
      prometheusRule: { enabled: true, lagSeconds: 30, outboxFullRatio: 0.9, certificateExpiryDays: 30 },
      helmTest: { enabled: false, timeoutSeconds: 60 },
    };
    const v = renderValues(validateBlueprint(doc)) as Record<string, any>;
    for (const section of Object.keys(doc['monitoring'])) assert.deepEqual(v[section], doc['monitoring'][section], section);
  });

  it('sets nothing when the section is left out, so the chart defaults stay', () => {
    const doc = shipped();
    delete doc['monitoring'];
    const v = renderValues(validateBlueprint(doc)) as Record<string, any>;
    for (const section of Object.keys(MONITORING_KEYS)) assert.equal(section in v, false, section);
  });

  it('renders the shipped blueprint.yaml monitoring settings', () => {
    const v = renderValues(loadBlueprint(SHIPPED)) as Record<string, any>;
    assert.equal(v['helmTest'].enabled, true);
    assert.equal(v['prometheusRule'].enabled, false);
  });

  it('refuses a value outside the chart schema, naming the key and the bounds', () => {
    for (const [section, key, value, expected] of [
      ['prometheusRule', 'outboxFullRatio', 1.5, /a number, above 0 and at most 1/],
      ['prometheusRule', 'noSessionMinutes', 0, /an integer, at least 1/],
      ['prometheusRule', 'lagSeconds', '60', /a number/],
      ['helmTest', 'timeoutSeconds', 4000, /at most 3600/],
      ['helmTest', 'enabled', 'yes', /true or false/],
      ['serviceMonitor', 'interval', '30 seconds', /matching/],
      ['serviceMonitor', 'labels', { release: 1 }, /a mapping of names to strings/],
      ['grafanaDashboard', 'namespace', 'Monitoring', /matching/],
    ] as const) {
      const doc = shipped();
      doc['monitoring'][section] = { ...doc['monitoring'][section], [key]: value };
      const err = errorOf(doc);
      assert.equal(err.key, `monitoring.${section}.${key}`, JSON.stringify(value));
      assert.match(err.expected, expected);
    }
  });

  it('refuses an unknown part or key, listing the known ones', () => {
    const a = shipped();
    a['monitoring'].grafana = { enabled: true };
    const ea = errorOf(a);
    assert.equal(ea.key, 'monitoring.grafana');
    assert.match(ea.expected, /monitoring\.grafanaDashboard/);
    const b = shipped();
    b['monitoring'].prometheusRule.lagSecs = 5;
    const eb = errorOf(b);
    assert.equal(eb.key, 'monitoring.prometheusRule.lagSecs');
    assert.match(eb.expected, /monitoring\.prometheusRule\.lagSeconds/);
    const c = shipped();
    c['monitoring'] = true;
    assert.equal(errorOf(c).key, 'monitoring');
  });
});

describe('blueprint replicas', () => {
  it('defaults to one pod per app, no spread, when the replicas section is left out', () => {
    const doc = shipped();
    delete doc['replicas'];
    assert.deepEqual(validateBlueprint(doc).replicas, { initiator: 1, terminator: 1, topologySpread: false });
  });

  it('takes counts per app and the spread switch, and renders them as the chart values', () => {
    const doc = shipped();
    doc['replicas'] = { initiator: 2, terminator: 3, topologySpread: true };
    const v = renderValues(validateBlueprint(doc)) as Record<string, any>;
    assert.equal(v['initiator'].replicaCount, 2);
    assert.equal(v['terminator'].replicaCount, 3);
    assert.deepEqual(v['topologySpread'], { enabled: true });
  });

  it('refuses a count that is not an integer, below 1 or above the cap, naming the key and the bounds', () => {
    const cases: [string, unknown][] = [['initiator', 0], ['terminator', -1], ['terminator', 1.5], ['initiator', '3'], ['terminator', REPLICAS_MAX + 1], ['initiator', 1e9]];
    for (const [app, value] of cases) {
      const doc = shipped();
      doc['replicas'][app] = value;
      const err = errorOf(doc);
      assert.equal(err.key, `replicas.${app}`, String(value));
      assert.match(err.message, new RegExp(`expected an integer from 1 to ${REPLICAS_MAX}`));
    }
  });

  it('refuses a spread switch that is not a boolean and an unknown key, naming the key', () => {
    const a = shipped();
    a['replicas'].topologySpread = 'yes';
    assert.equal(errorOf(a).key, 'replicas.topologySpread');
    const b = shipped();
    b['replicas'].initiators = 2;
    const err = errorOf(b);
    assert.equal(err.key, 'replicas.initiators');
    assert.match(err.expected, /replicas\.initiator, replicas\.terminator, replicas\.topologySpread/);
    const c = shipped();
    c['replicas'] = 3;
    assert.equal(errorOf(c).key, 'replicas');
  });

  it('exits 1 from blueprint.js check with the key named for a replica count that cannot work', (t) => {
    const doc = shipped();
    doc['replicas'].terminator = 0;
    const file = join(work, 'zero-terminators.yaml');
    writeFileSync(file, yaml.dump(doc));
    const errs: string[] = [];
    t.mock.method(process.stderr, 'write', (chunk: string) => { errs.push(String(chunk)); return true; });
    const code = main(['check', '--file', file]);
    t.mock.restoreAll();
    assert.equal(code, 1);
    assert.match(errs.join(''), /replicas\.terminator: got 0, expected an integer from 1 to/);
  });
});

describe('blueprint rendering into chart values', () => {
  it('copies the runtime sections into config unchanged and the images and resources per component', () => {
    const doc = shipped();
    const bp = validateBlueprint(doc);
    const v = renderValues(bp) as Record<string, any>;
    for (const section of ['session', 'reconnect', 'autoTrigger']) assert.deepEqual(v['config'][section], doc[section]);
    assert.equal(v['initiator'].image.repository, doc['images'].initiator);
    assert.deepEqual(v['terminator'].resources, doc['resources'].terminator);
    assert.equal('tag' in v['initiator'].image, false, 'no tag unless given');
    assert.equal('tls' in v, false, 'no checksum unless given');
  });

  it("gives an app the blueprint's Node options as its chart value nodeOptions, and none unless set", () => {
    const doc = shipped();
    doc['resources'].terminator.nodeOptions = '';
    const v = renderValues(validateBlueprint(doc)) as Record<string, any>;
    assert.equal(v['terminator'].nodeOptions, '');
    assert.equal('nodeOptions' in v['initiator'], false);
    assert.equal('nodeOptions' in v['terminator'].resources, false, 'not a Kubernetes resource');
  });

  it('sets the grace period longer than the drain timeout by the margin', () => {
    const doc = shipped();
    doc['session'].drainTimeoutMs = 95_500;
    const v = renderValues(validateBlueprint(doc)) as Record<string, any>;
    assert.equal(v['terminationGracePeriodSeconds'], 96 + GRACE_MARGIN_SECONDS);
    assert.ok(v['terminationGracePeriodSeconds'] * 1000 > 95_500);
  });

  it('adds the image tags and the TLS checksum deploy.sh passes', () => {
    const v = renderValues(validateBlueprint(shipped()), { tags: { initiator: 'aaa', terminator: 'bbb' }, tlsChecksum: 'ccc' }) as Record<string, any>;
    assert.deepEqual([v['initiator'].image.tag, v['terminator'].image.tag, v['tls'].checksum], ['aaa', 'bbb', 'ccc']);
  });
});

describe('blueprint CLI', () => {
  it('prints the settings deploy.sh reads as KEY=VALUE lines', () => {
    const doc = shipped();
    const lines = envLines(validateBlueprint(doc)).split('\n');
    assert.ok(lines.includes(`FERRY_CLUSTER=${doc['cluster'].name}`));
    assert.ok(lines.includes(`FERRY_AUTO_TRIGGER_COUNT=${doc['autoTrigger'].count}`));
    assert.ok(lines.every((l) => /^FERRY_[A-Z_]+=\S+$/.test(l)), lines.join('\n'));
  });

  it('exits 1 with one line naming the file and key for a bad blueprint', (t) => {
    const file = join(work, 'bad.yaml');
    const doc = shipped();
    doc['hooks'].timeoutMs = -1;
    writeFileSync(file, yaml.dump(doc));
    const written: string[] = [];
    t.mock.method(process.stderr, 'write', (s: string) => written.push(s));
    assert.equal(main(['check', '--file', file]), 1);
    assert.equal(written.length, 1);
    assert.match(written[0] as string, new RegExp(`^✖ ${file}: hooks\\.timeoutMs: got -1, expected an integer`));
  });

  it('writes a values file with the given tags', () => {
    const out = join(work, 'values.yaml');
    assert.equal(main(['values', '--file', SHIPPED, '--out', out, '--tag', 'initiator=abc123']), 0);
    const v = yaml.load(readFileSync(out, 'utf8')) as Record<string, any>;
    assert.equal(v['initiator'].image.tag, 'abc123');
  });
});

describe('blueprint trigger', () => {
  it('renders trigger.authSecret as the chart\'s trigger.auth.existingSecret (key `token`)', () => {
    const doc = shipped();
    doc['trigger'] = { authSecret: 'trigger-token' };
    const v = renderValues(validateBlueprint(doc)) as Record<string, any>;
    assert.deepEqual(v['trigger'], { auth: { existingSecret: 'trigger-token', key: 'token' } });
  });

  it('sets nothing for "" or a missing section (no token)', () => {
    const doc = shipped();
    assert.equal('trigger' in (renderValues(validateBlueprint(doc)) as Record<string, any>), false, 'the shipped blueprint sets no token');
    delete doc['trigger'];
    assert.equal('trigger' in (renderValues(validateBlueprint(doc)) as Record<string, any>), false);
  });

  it('refuses a name that cannot be a Secret, and unknown keys, by name', () => {
    for (const bad of ['Trigger_Token', 'x'.repeat(254), 42]) {
      const doc = shipped();
      doc['trigger'] = { authSecret: bad };
      const err = errorOf(doc);
      assert.equal(err.key, 'trigger.authSecret');
      assert.match(err.message, /kubectl create secret generic trigger-token/);
    }
    const doc = shipped();
    doc['trigger'] = { token: 'abc' };
    assert.match(errorOf(doc).message, /trigger\.token/);
  });
});
