/**
 * The chart's Grafana dashboard and PrometheusRule: both off by default; when on, valid
 * manifests (Kubernetes and prometheus-operator schemas, no unknown fields) with helm 3 and 4;
 * every dashboard panel has a query that parses; the rules pass `promtool check rules`, and
 * `promtool test rules` with synthetic series shows each alert firing when it should and
 * staying quiet otherwise.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import yaml from 'js-yaml';
import { CONFIG_SCHEMA } from '@fast-ferry/core';
import { findUnknownFields, validateSchemas, type K8sDoc } from './k8s-validate.js';
import { dashboardQueries, DASHBOARD_FILE, forPrometheus, loadDashboard, metricNamesIn, monitoringQueries, promtool, QUERYABLE_METRICS, renderRuleGroups, type RuleGroup } from './monitoring.js';
import { CHART_DIR, find, helmBinaries, helmTemplate } from './render.js';

type Obj = Record<string, any>;
const work = mkdtempSync(join(tmpdir(), 'ferry-monitoring-test-'));
after(() => rmSync(work, { recursive: true, force: true }));
const helms = helmBinaries();
const PROMTOOL = promtool();

function runPromtool(args: readonly string[], cwd = work): { status: number; output: string } {
  try {
    return { status: 0, output: execFileSync(PROMTOOL, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) };
  } catch (err) {
    const e = err as { status?: number; stdout?: string; stderr?: string };
    return { status: e.status ?? 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

function writeRules(name: string, groups: RuleGroup[] | Obj[]): string {
  const file = join(work, name);
  writeFileSync(file, yaml.dump({ groups }));
  return file;
}

async function assertValid(docs: readonly K8sDoc[], label: string) {
  const bad = [...(await validateSchemas(docs)), ...findUnknownFields(docs)].filter((r) => r.errors.length > 0);
  assert.deepEqual(bad.map((r) => `${r.id}: ${r.errors.join('; ')}`), [], `${label}: invalid manifests`);
}

describe('the dashboard file (charts/fast-ferry/dashboards/fast-ferry.json)', () => {
  const dashboard = loadDashboard();
  const panels = dashboard.panels.filter((p) => p.type !== 'row');

  it('parses, has a stable uid and a Prometheus data source variable', () => {
    assert.equal(dashboard.uid, 'fast-ferry');
    assert.ok(dashboard.templating.list.some((v) => v.name === 'datasource' && v.type === 'datasource'));
  });

  it('gives every panel at least one non-empty query', () => {
    assert.ok(panels.length >= 12, `only ${panels.length} panels`);
    for (const p of panels) {
      assert.ok((p.targets ?? []).length > 0, `panel "${p.title}" has no query`);
      for (const t of p.targets ?? []) assert.ok(String(t.expr ?? '').trim(), `panel "${p.title}" ${t.refId}: empty expr`);
    }
  });

  it('covers messages in and out, latency, lag, outbox, redeliveries, hooks, sessions, reconnects, circuit, certificates, CPU and memory', () => {
    const used = new Set(dashboardQueries().flatMap((q) => metricNamesIn(q.expr)));
    const wanted = [
      'ferry_messages_sent_total', 'ferry_messages_delivered_total', 'ferry_messages_failed_total', 'ferry_messages_received_total',
      'ferry_delivery_latency_seconds', 'ferry_outbox_oldest_age_seconds', 'ferry_outbox_depth', 'ferry_messages_redelivered_total',
      'ferry_hook_errors_total', 'ferry_hook_duration_seconds', 'ferry_sessions_open', 'ferry_reconnects_total', 'ferry_circuit_open',
      'ferry_certificate_expiry_seconds', 'process_cpu_seconds_total', 'process_resident_memory_bytes',
    ];
    assert.deepEqual(wanted.filter((m) => !used.has(m)), [], 'metrics no panel shows');
    const latency = dashboardQueries().filter((q) => q.expr.includes('ferry_delivery_latency_seconds_bucket'));
    assert.ok(latency.some((q) => q.expr.startsWith('histogram_quantile(0.5,')) && latency.some((q) => q.expr.startsWith('histogram_quantile(0.99,')), 'delivery latency p50 and p99');
  });

  it('queries only the metric names the apps serve, under their issue-14 names', () => {
    for (const q of dashboardQueries()) {
      const unknown = metricNamesIn(q.expr).filter((m) => !QUERYABLE_METRICS.includes(m));
      assert.deepEqual(unknown, [], `${q.source}: ${q.expr}`);
    }
    const text = readFileSync(DASHBOARD_FILE, 'utf8');
    assert.doesNotMatch(text, /ferry_messages_acked_total|ferry_process_/);
  });

  it('has queries Prometheus parses (promtool check rules on them as recording rules)', () => {
    const rules = dashboardQueries().map((q, i) => ({ record: `dashboard:query_${i}:check`, expr: forPrometheus(q.expr) }));
    const r = runPromtool(['check', 'rules', writeRules('dashboard-queries.yaml', [{ name: 'dashboard', rules }])]);
    assert.equal(r.status, 0, r.output);
  });
});

for (const helm of helms) {
  describe(`dashboard and alerts in the chart with ${helm.version}`, () => {
    it('passes helm lint --strict with the dashboard, the rules and a restricted http port all on', () => {
      execFileSync(helm.path, ['lint', '--strict', CHART_DIR, '--set', 'grafanaDashboard.enabled=true', '--set', 'prometheusRule.enabled=true',
        '--set', 'networkPolicy.httpFrom[0].podSelector.matchLabels.team=monitoring'], { stdio: 'pipe' });
    });

    it('renders neither the dashboard ConfigMap nor the PrometheusRule by default', () => {
      const r = helmTemplate(helm);
      assert.ok(r.ok, r.stderr);
      assert.equal(r.docs.filter((d) => d.kind === 'PrometheusRule').length, 0);
      assert.equal(r.docs.filter((d) => d.kind === 'ConfigMap' && (d as Obj)['metadata'].labels?.['grafana_dashboard']).length, 0);
    });

    it('renders the dashboard ConfigMap with the sidecar label and the dashboard file, and the PrometheusRule, as valid manifests', async () => {
      const r = helmTemplate(helm, ['--set', 'grafanaDashboard.enabled=true', '--set', 'prometheusRule.enabled=true']);
      assert.ok(r.ok, r.stderr);
      await assertValid(r.docs, 'dashboard and rules on');
      const cm = find(r.docs, 'ConfigMap', 'fast-ferry-dashboard', 'fast-ferry-initiator-ns') as Obj;
      assert.equal(cm['metadata'].labels['grafana_dashboard'], '1');
      assert.equal(cm['metadata'].labels['app.kubernetes.io/component'], 'dashboard');
      assert.deepEqual(JSON.parse(cm['data']['fast-ferry.json']), loadDashboard());
      const rule = find(r.docs, 'PrometheusRule', 'fast-ferry-alerts', 'fast-ferry-initiator-ns') as Obj;
      const alerts = (rule['spec'].groups as RuleGroup[]).flatMap((g) => g.rules.map((x) => x.alert));
      assert.deepEqual(alerts, ['FerryNoSession', 'FerryCircuitOpen', 'FerryLagHigh', 'FerryOutboxNearFull', 'FerryHookErrors', 'FerryRedeliveryStorm', 'FerryCertificateExpiring']);
    });

    it('takes the sidecar label, namespace, annotations, rule labels, alert labels and every threshold from values', async () => {
      const values = join(work, `monitoring-${helm.version}.yaml`);
      writeFileSync(values, yaml.dump({
        grafanaDashboard: { enabled: true, namespace: 'monitoring', sidecarLabel: 'example.com/dashboard', sidecarLabelValue: 'yes', annotations: { grafana_folder: 'Fast Ferry' } },
        prometheusRule: {
          enabled: true, labels: { release: 'prom' }, alertLabels: { team: 'payments' }, noSessionMinutes: 10, circuitOpenMinutes: 0,
          lagSeconds: 30, outboxFullRatio: 0.9, hookErrorRatio: 0.01, redeliveryRatio: 0.5, certificateExpiryDays: 30,
        },
        config: { session: { outboxLimit: 2000 } },
      }));
      const r = helmTemplate(helm, ['-f', values]);
      assert.ok(r.ok, r.stderr);
      await assertValid(r.docs, 'non-default monitoring values');
      const cm = find(r.docs, 'ConfigMap', 'fast-ferry-dashboard', 'monitoring') as Obj;
      assert.equal(cm['metadata'].labels['example.com/dashboard'], 'yes');
      assert.equal(cm['metadata'].annotations['grafana_folder'], 'Fast Ferry');
      const rule = find(r.docs, 'PrometheusRule', 'fast-ferry-alerts') as Obj;
      assert.equal(rule['metadata'].labels['release'], 'prom');
      const byName = new Map((rule['spec'].groups as RuleGroup[]).flatMap((g) => g.rules).map((x) => [x.alert, x]));
      for (const x of byName.values()) assert.equal(x.labels?.['team'], 'payments', `${x.alert} carries alertLabels`);
      assert.equal(byName.get('FerryNoSession')?.for, '10m');
      assert.equal(byName.get('FerryCircuitOpen')?.for, '0m');
      assert.match(byName.get('FerryLagHigh')?.expr ?? '', /> 30$/);
      assert.match(byName.get('FerryOutboxNearFull')?.expr ?? '', /\(ferry_outbox_depth\) > 1800$/, '0.9 of config.session.outboxLimit 2000');
      assert.match(byName.get('FerryHookErrors')?.expr ?? '', /> 0\.01$/);
      assert.match(byName.get('FerryRedeliveryStorm')?.expr ?? '', /> 0\.5$/);
      assert.match(byName.get('FerryCertificateExpiring')?.expr ?? '', /< 2592000$/);
    });

    it('assumes the apps\' default outbox limit when config.session.outboxLimit is unset, and prometheusRule.outboxLimit over both', () => {
      const limit = CONFIG_SCHEMA['session.outboxLimit'].default;
      const depthRule = (groups: RuleGroup[]) => groups.flatMap((g) => g.rules).find((x) => x.alert === 'FerryOutboxNearFull')?.expr ?? '';
      assert.match(depthRule(renderRuleGroups(helm)), new RegExp(`> ${Math.floor(limit * 0.8)}$`));
      assert.match(depthRule(renderRuleGroups(helm, ['--set', 'config.session.outboxLimit=500', '--set', 'prometheusRule.outboxLimit=50000'])), /> 40000$/);
    });

    it('rejects a threshold of the wrong type through values.schema.json', () => {
      const r = helmTemplate(helm, ['--set', 'prometheusRule.noSessionMinutes=soon']);
      assert.equal(r.ok, false);
      assert.match(r.stderr, /noSessionMinutes/);
    });

    it('renders rules that pass promtool check rules and query only the apps\' metric names', () => {
      const groups = renderRuleGroups(helm);
      const r = runPromtool(['check', 'rules', writeRules(`rules-${helm.version}.yaml`, groups)]);
      assert.equal(r.status, 0, r.output);
      assert.match(r.output, /SUCCESS: 7 rules found/);
      for (const rule of groups.flatMap((g) => g.rules)) {
        assert.deepEqual(metricNamesIn(rule.expr).filter((m) => !QUERYABLE_METRICS.includes(m)), [], `${rule.alert}: ${rule.expr}`);
      }
    });
  });
}

/**
 * promtool test rules: for each alert, a series that should fire it and one beside it that
 * should not, checked before its `for` has passed (nothing), after (exactly the expected alert).
 */
describe('alert rules against synthetic series (promtool test rules)', () => {
  const helm = helms[0]!;
  const a = { namespace: 'fast-ferry-initiator-ns', job: 'initiator' };
  const t = { namespace: 'fast-ferry-terminator-ns', job: 'terminator' };
  const sel = (name: string, labels: Record<string, string>) => `${name}{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',')}}`;
  const podA = { ...a, instance: '10.0.0.1:8080' };
  const podA2 = { ...a, instance: '10.0.0.2:8080' };
  const podT = { ...t, instance: '10.0.1.1:8080' };

  const tests = [
    {
      name: 'FerryNoSession: fires when an app has had no session for 5 minutes, not for an app with one',
      interval: '1m',
      input_series: [
        { series: sel('ferry_sessions_open', podA), values: '1 1 0x12' },
        { series: sel('ferry_sessions_open', podT), values: '1x14' },
      ],
      alert_rule_test: [
        { eval_time: '6m', alertname: 'FerryNoSession', exp_alerts: [] },
        { eval_time: '8m', alertname: 'FerryNoSession', exp_alerts: [{ exp_labels: { severity: 'critical', ...a }, exp_annotations: {
          summary: 'No Fast Ferry session in initiator for 5 minutes',
          description: "No pod of this app has an open session, so POST /trigger answers 503. Check the initiator's log for dial and handshake errors and the terminator's readiness.",
        } }] },
      ],
    },
    {
      name: 'FerryCircuitOpen: fires a minute after the circuit opens, only for that pod',
      interval: '1m',
      input_series: [
        { series: sel('ferry_circuit_open', podA), values: '0 0 1x6' },
        { series: sel('ferry_circuit_open', podA2), values: '0x8' },
      ],
      alert_rule_test: [
        { eval_time: '2m', alertname: 'FerryCircuitOpen', exp_alerts: [] },
        { eval_time: '4m', alertname: 'FerryCircuitOpen', exp_alerts: [{ exp_labels: { severity: 'critical', ...podA }, exp_annotations: {
          summary: 'Fast Ferry initiator 10.0.0.1:8080 stopped dialing (circuit open)',
          description: 'The initiator failed reconnect.maxRetries dials in a row and gave up; its /readyz fails. Fix the cause in its log, then restart the pod.',
        } }] },
      ],
    },
    {
      name: 'FerryLagHigh: fires after 5 minutes of an oldest message older than 60 s, not at 30 s',
      interval: '1m',
      input_series: [
        { series: sel('ferry_outbox_oldest_age_seconds', podA), values: '0 30 90x12' },
        { series: sel('ferry_outbox_oldest_age_seconds', podA2), values: '30x14' },
      ],
      alert_rule_test: [
        { eval_time: '6m', alertname: 'FerryLagHigh', exp_alerts: [] },
        { eval_time: '8m', alertname: 'FerryLagHigh', exp_alerts: [{ exp_labels: { severity: 'warning', ...podA }, exp_annotations: {
          summary: 'Fast Ferry 10.0.0.1:8080: oldest unacknowledged message older than 60 s',
          description: 'Lag is 1m 30s: the peer acknowledges slower than messages arrive, or not at all.',
        } }] },
      ],
    },
    {
      name: 'FerryOutboxNearFull: fires above 80 % of the default limit (8000 of 10000), not at 7999',
      interval: '1m',
      input_series: [
        { series: sel('ferry_outbox_depth', podA), values: '7000 9000x10' },
        { series: sel('ferry_outbox_depth', podA2), values: '7999x11' },
      ],
      alert_rule_test: [
        { eval_time: '5m', alertname: 'FerryOutboxNearFull', exp_alerts: [] },
        { eval_time: '7m', alertname: 'FerryOutboxNearFull', exp_alerts: [{ exp_labels: { severity: 'warning', ...podA }, exp_annotations: {
          summary: 'Fast Ferry 10.0.0.1:8080: outbox above 0.8 of its limit (10000 messages)',
          description: '9000 messages wait for an acknowledgement; at session.outboxLimit senders get 503.',
        } }] },
      ],
    },
    {
      name: "FerryHookErrors: fires when 10 % of a hook's runs fail, not at 1 %, with every reason series present from 0",
      interval: '1m',
      input_series: [
        { series: sel('ferry_hook_errors_total', { ...podT, hook: 'on_receive_terminator', reason: 'FERRY_ERR_HOOK_FAILED' }), values: '0+10x20' },
        { series: sel('ferry_hook_errors_total', { ...podT, hook: 'on_receive_terminator', reason: 'FERRY_ERR_HOOK_TIMEOUT' }), values: '0x20' },
        { series: sel('ferry_hook_duration_seconds_count', { ...podT, hook: 'on_receive_terminator' }), values: '0+100x20' },
        { series: sel('ferry_hook_errors_total', { ...podA, hook: 'on_trigger', reason: 'FERRY_ERR_HOOK_FAILED' }), values: '0+1x20' },
        { series: sel('ferry_hook_duration_seconds_count', { ...podA, hook: 'on_trigger' }), values: '0+100x20' },
      ],
      alert_rule_test: [
        { eval_time: '4m', alertname: 'FerryHookErrors', exp_alerts: [] },
        { eval_time: '10m', alertname: 'FerryHookErrors', exp_alerts: [{ exp_labels: { severity: 'warning', ...t, hook: 'on_receive_terminator' }, exp_annotations: {
          summary: 'Fast Ferry terminator: more than 0.05 of on_receive_terminator runs failed',
          description: "10% of the hook's runs threw, rejected or timed out; the app's log names each failure.",
        } }] },
      ],
    },
    {
      name: 'FerryRedeliveryStorm: fires when half the frames sent are redeliveries, not at a tenth',
      interval: '1m',
      input_series: [
        { series: sel('ferry_messages_sent_total', podA), values: '0+100x30' },
        { series: sel('ferry_messages_redelivered_total', podA), values: '0+50x30' },
        { series: sel('ferry_messages_sent_total', podT), values: '0+100x30' },
        { series: sel('ferry_messages_redelivered_total', podT), values: '0+10x30' },
      ],
      alert_rule_test: [
        { eval_time: '4m', alertname: 'FerryRedeliveryStorm', exp_alerts: [] },
        { eval_time: '20m', alertname: 'FerryRedeliveryStorm', exp_alerts: [{ exp_labels: { severity: 'warning', ...a }, exp_annotations: {
          summary: 'Fast Ferry initiator: more than 0.25 of sent messages are redeliveries',
          description: 'Sessions keep breaking and resending their outbox; see ferry_sessions_closed_total by reason.',
        } }] },
      ],
    },
    {
      name: 'FerryCertificateExpiring: fires for a certificate 11 days from expiry, not for one 23 days away',
      interval: '1m',
      input_series: [
        { series: sel('ferry_certificate_expiry_seconds', podA), values: '1000000x30' },
        { series: sel('ferry_certificate_expiry_seconds', podT), values: '2000000x30' },
      ],
      alert_rule_test: [
        { eval_time: '10m', alertname: 'FerryCertificateExpiring', exp_alerts: [] },
        { eval_time: '20m', alertname: 'FerryCertificateExpiring', exp_alerts: [{ exp_labels: { severity: 'warning', ...podA }, exp_annotations: {
          summary: 'Fast Ferry 10.0.0.1:8080: certificate expires within 14 days',
          description: "The pod's certificate expires in 11d 13h 46m 40s; renew with bash deploy.sh --rotate-certs.",
        } }] },
      ],
    },
  ];

  it('covers every alert the chart renders', () => {
    const rendered = renderRuleGroups(helm).flatMap((g) => g.rules.map((r) => r.alert)).sort();
    assert.deepEqual([...new Set(tests.map((x) => x.alert_rule_test[0]!.alertname))].sort(), rendered);
  });

  for (const { name, ...testCase } of tests) {
    it(name, () => {
      const rulesFile = writeRules('rules-under-test.yaml', renderRuleGroups(helm));
      const file = join(work, `${testCase.alert_rule_test[0]!.alertname}.test.yaml`);
      writeFileSync(file, yaml.dump({ rule_files: [rulesFile], evaluation_interval: '1m', tests: [testCase] }));
      const r = runPromtool(['test', 'rules', file]);
      assert.equal(r.status, 0, r.output);
      assert.match(r.output, /SUCCESS/);
    });
  }

  it('lists every dashboard query and alert expression for a test against a real Prometheus (monitoringQueries)', () => {
    const queries = monitoringQueries(helm);
    assert.equal(queries.filter((q) => q.source.startsWith('alert: ')).length, 7);
    assert.equal(queries.filter((q) => q.source.startsWith('dashboard: ')).length, dashboardQueries().length);
    assert.ok(queries.every((q) => !q.expr.includes('$__')), 'Grafana variables replaced');
  });
});
