/**
 * The chart's monitoring contract, for tests: the queries of the Grafana dashboard
 * (dashboards/fast-ferry.json) and the alert rules of the rendered PrometheusRule, the metric
 * names they may use, and promtool. `monitoringQueries()` lists every expression in one place
 * so a test against a real Prometheus can run each one and expect data.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHART_DIR, helmTemplate, type Helm } from './render.js';

export const DASHBOARD_FILE = join(CHART_DIR, 'dashboards', 'fast-ferry.json');

/**
 * Every metric the dashboard and the alerts may query: the apps' metric names as issue 14
 * defines them (delivered and failed apart, the lag gauge, prom-client's default process names).
 */
export const QUERYABLE_METRICS: readonly string[] = [
  'ferry_sessions_open', 'ferry_sessions_total', 'ferry_sessions_closed_total', 'ferry_reconnects_total',
  'ferry_circuit_open', 'ferry_certificate_expiry_seconds', 'ferry_outbox_depth', 'ferry_outbox_oldest_age_seconds',
  'ferry_messages_sent_total', 'ferry_messages_delivered_total', 'ferry_messages_failed_total', 'ferry_messages_received_total',
  'ferry_messages_redelivered_total', 'ferry_messages_refused_total', 'ferry_duplicates_dropped_total',
  'ferry_delivery_latency_seconds', 'ferry_hook_duration_seconds', 'ferry_hook_errors_total', 'ferry_handshake_failures_total',
  'ferry_dial_failures_total', 'ferry_frames_rejected_total', 'ferry_rekeys_total',
  'process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds',
  'nodejs_eventloop_lag_p99_seconds',
];

const HISTOGRAM_SUFFIX = /_(bucket|count|sum)$/;

/** Metric names an expression selects (histogram series folded to their histogram's name). */
export function metricNamesIn(expr: string): string[] {
  const names = expr.match(/\b(?:ferry|process|nodejs)_[a-z0-9_]+/g) ?? [];
  return [...new Set(names.map((n) => (QUERYABLE_METRICS.includes(n) ? n : n.replace(HISTOGRAM_SUFFIX, ''))))];
}

export interface Query {
  /** Where it comes from: `dashboard: <panel title> <refId>` or `alert: <name>`. */
  source: string;
  expr: string;
}

export interface DashboardPanel {
  id: number;
  type: string;
  title: string;
  targets?: Array<{ refId?: string; expr?: string }>;
}

export function loadDashboard(file = DASHBOARD_FILE): { uid: string; title: string; panels: DashboardPanel[]; templating: { list: Array<{ name: string; type: string }> } } {
  return JSON.parse(readFileSync(file, 'utf8'));
}

/** Grafana's `$__rate_interval` replaced by a fixed range, so Prometheus itself can run the query. */
export function forPrometheus(expr: string, rateInterval = '1m'): string {
  return expr.replaceAll('$__rate_interval', rateInterval);
}

/** Every query of every dashboard panel, as written in the dashboard (see forPrometheus). */
export function dashboardQueries(file = DASHBOARD_FILE): Query[] {
  return loadDashboard(file).panels.flatMap((p) => (p.targets ?? []).map((t) => ({ source: `dashboard: ${p.title} ${t.refId ?? ''}`.trim(), expr: String(t.expr ?? '') })));
}

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface RuleGroup {
  name: string;
  rules: AlertRule[];
}

/** The rule groups of the PrometheusRule the chart renders with prometheusRule.enabled and `args`. */
export function renderRuleGroups(helm: Helm, args: readonly string[] = []): RuleGroup[] {
  const r = helmTemplate(helm, ['--set', 'prometheusRule.enabled=true', ...args]);
  if (!r.ok) throw new Error(`helm template failed: ${r.stderr}`);
  const rule = r.docs.find((d) => d.kind === 'PrometheusRule') as { spec?: { groups?: RuleGroup[] } } | undefined;
  if (!rule?.spec?.groups) throw new Error('the chart rendered no PrometheusRule with spec.groups');
  return rule.spec.groups;
}

/** Every dashboard query (rate interval fixed) and every alert expression of the default rules. */
export function monitoringQueries(helm: Helm, rateInterval = '1m'): Query[] {
  return [
    ...dashboardQueries().map((q) => ({ source: q.source, expr: forPrometheus(q.expr, rateInterval) })),
    ...renderRuleGroups(helm).flatMap((g) => g.rules.map((r) => ({ source: `alert: ${r.alert}`, expr: r.expr }))),
  ];
}

/** promtool from PATH (Debian's prometheus package); the error says how to get it. */
export function promtool(): string {
  try {
    execFileSync('promtool', ['--version'], { stdio: 'pipe' });
    return 'promtool';
  } catch {
    throw new Error('promtool not found on PATH: apt-get install -y --no-install-recommends prometheus (bash .ci/setup-k8s-tools.sh does)');
  }
}
