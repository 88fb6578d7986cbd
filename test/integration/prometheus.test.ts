/**
 * The apps' metrics against a real Prometheus (Debian's `prometheus` package): both apps run as
 * processes on loopback, Prometheus scrapes their /metrics every second, traffic includes a
 * failing hook on each side, and then every query of the chart's Grafana dashboard and every
 * alert expression of its PrometheusRule (test/chart/monitoring.ts) is run through the
 * Prometheus HTTP API:
 * - a dashboard query must return a non-empty result with at least one number (not NaN): the
 *   panel would show something;
 * - an alert expression is a condition (`x > threshold`, `x == 0`), empty while all is well, so
 *   the whole expression must be accepted by Prometheus, its left-hand side (the condition
 *   without its comparison) must return a non-empty result, and every metric it names must
 *   have series.
 * `promtool check metrics` must find nothing to say about either app's /metrics but the
 * PROM_CLIENT_LINTS below.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { monitoringQueries, type Query } from '../chart/monitoring.js';
import { helmBinaries, type Helm } from '../chart/render.js';
import { makeTestPki, type TestPki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { eventually, get, post, startInitiator, startTerminator, type Proc } from '../helpers/procs.js';

function installed(binary: string): boolean {
  return spawnSync(binary, ['--version'], { stdio: 'ignore' }).status === 0;
}

/** The chart's PrometheusRule is rendered with helm (bash .ci/setup-k8s-tools.sh installs both). */
function firstHelm(): Helm | undefined {
  try {
    return helmBinaries()[0];
  } catch {
    return undefined;
  }
}

const HELM = firstHelm();
const SKIP = !(installed('prometheus') && installed('promtool'))
  ? 'prometheus/promtool not installed: apt-get install -y --no-install-recommends prometheus (bash .ci/setup-k8s-tools.sh does; the full test run calls it)'
  : !HELM
    ? 'helm not found (to render the PrometheusRule): bash .ci/setup-k8s-tools.sh'
    : false;

interface PromResult {
  status: string;
  error?: string;
  data?: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> };
}

/**
 * The left-hand side of an alert condition: the expression without its last top-level
 * comparison (`>`, `<`, `>=`, `<=`, `==`, `!=` outside parentheses, braces and brackets).
 */
function leftOfComparison(expr: string): string {
  let depth = 0;
  let at = -1;
  for (let i = 0; i < expr.length; i += 1) {
    const c = expr[i];
    if (c === '(' || c === '{' || c === '[') depth += 1;
    else if (c === ')' || c === '}' || c === ']') depth -= 1;
    else if (depth === 0 && (c === '>' || c === '<' || (c === '=' && expr[i + 1] === '=') || (c === '!' && expr[i + 1] === '='))) {
      at = i;
      if (expr[i + 1] === '=') i += 1;
    }
  }
  return at < 0 ? expr : expr.slice(0, at).trim();
}

/**
 * What promtool says about prom-client's own default metrics (prom-client 15 exports these
 * gauges with a `_total` suffix; the stock Node.js dashboards query them by these names), and
 * nothing else is allowed.
 */
const PROM_CLIENT_LINTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'].map((name) => `${name} non-counter metrics should not have "_total" suffix`);

describe('a real Prometheus scraping both apps', { skip: SKIP }, () => {
  let pki: TestPki;
  let terminator: Proc;
  let initiator: Proc;
  let prometheus: ChildProcess;
  let initiatorHttp: number;
  let initiatorTrigger: number;
  let terminatorHttp: number;
  let promPort: number;
  const dir = mkdtempSync(join(tmpdir(), 'ferry-prometheus-'));
  const promLog: string[] = [];

  async function query(expr: string): Promise<PromResult> {
    const res = await fetch(`http://127.0.0.1:${promPort}/api/v1/query`, { method: 'POST', body: new URLSearchParams({ query: expr }) });
    return (await res.json()) as PromResult;
  }

  async function series(expr: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
    const r = await query(expr);
    assert.equal(r.status, 'success', `${expr}: ${r.error ?? ''}`);
    return r.data?.result ?? [];
  }

  before(async () => {
    pki = makeTestPki();
    const sessionPort = await freePort();
    initiatorHttp = await freePort();
    terminatorHttp = await freePort();
    promPort = await freePort();
    terminator = startTerminator({ pki, httpPort: terminatorHttp, sessionPort, fixture: 'terminator.ts' });
    await terminator.waitFor(/terminator up/);
    initiatorTrigger = await freePort();
    initiator = startInitiator({ pki, httpPort: initiatorHttp, triggerPort: initiatorTrigger, sessionPort, fixture: 'initiator.ts', env: { FERRY_AUTO_TRIGGER_COUNT: '0' } });
    await initiator.waitFor(/session open/);

    const config = join(dir, 'prometheus.yml');
    writeFileSync(
      config,
      [
        'global: {scrape_interval: 1s, evaluation_interval: 1s}',
        'scrape_configs:',
        `  - {job_name: ws-initiator, static_configs: [{targets: ["127.0.0.1:${initiatorHttp}"]}]}`,
        `  - {job_name: ws-terminator, static_configs: [{targets: ["127.0.0.1:${terminatorHttp}"]}]}`,
        '',
      ].join('\n'),
    );
    const check = spawnSync('promtool', ['check', 'config', config], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stdout + check.stderr);
    prometheus = spawn('prometheus', [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
    prometheus.stdout?.on('data', (d: Buffer) => promLog.push(d.toString()));
    prometheus.stderr?.on('data', (d: Buffer) => promLog.push(d.toString()));
    await eventually(async () => (await fetch(`http://127.0.0.1:${promPort}/-/ready`).catch(() => undefined))?.ok === true, 30_000, `Prometheus ready (log: ${promLog.join('')})`);
    // Both targets up, and scraped at least once before the traffic: rate() then sees it grow.
    await eventually(async () => (await series('up == 1')).length === 2, 30_000, 'both targets up');

    for (let i = 0; i < 20; i += 1) assert.equal((await post(initiatorTrigger, '/trigger', { i })).status, 200);
    assert.equal((await post(initiatorTrigger, '/trigger', { fail: 'the database is down' })).status, 502, "the terminator's hook fails");
    assert.equal((await post(initiatorTrigger, '/trigger', { reject: 'no customer id' })).status, 422, 'on_trigger fails');
    assert.equal((await post(initiatorTrigger, '/trigger', { reply: 'pong' })).status, 200, 'a reply runs on_receive_initiator');
    await initiator.waitFor(/REPLY \{"answer":"pong"\}/);
    // Two more scrapes of each app after the traffic, so every rate() window holds the increase.
    const scrapes = async (): Promise<number> => Math.min(...(await series('count_over_time(ferry_messages_delivered_total[1m])')).map((s) => Number(s.value[1])));
    const scrapedBefore = await scrapes();
    await eventually(async () => (await scrapes()) >= scrapedBefore + 2, 30_000, 'two scrapes after the traffic');
    await eventually(async () => (await series('sum(ferry_messages_failed_total{job="ws-initiator"})')).some((s) => Number(s.value[1]) >= 1), 10_000, 'the failed delivery scraped');
  });

  after(async () => {
    prometheus?.kill('SIGTERM');
    await initiator?.kill();
    await terminator?.kill();
    pki?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  test("promtool check metrics finds nothing to say about either app's metrics, only prom-client's three default gauges named _total", async () => {
    for (const [app, port] of [['initiator', initiatorHttp], ['terminator', terminatorHttp]] as const) {
      const { text } = await get(port, '/metrics');
      const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      const lines = `${r.stdout}${r.stderr}`.split('\n').map((l) => l.trim()).filter((l) => l !== '');
      assert.deepEqual(lines.filter((l) => !PROM_CLIENT_LINTS.includes(l)), [], `${app}: promtool check metrics`);
    }
  });

  test('the delivered, failed and latency series tell deliveries from hook failures', async () => {
    const value = async (expr: string): Promise<number> => Number((await series(expr))[0]?.value[1]);
    assert.equal(await value('sum(ferry_messages_failed_total{job="ws-initiator",reason="FERRY_ERR_REMOTE_HOOK"})'), 1);
    assert.equal(await value('sum(ferry_messages_delivered_total{job="ws-initiator"})'), 21);
    assert.equal(await value('sum(ferry_delivery_latency_seconds_count{job="ws-initiator"})'), 21, 'the failure is not a delivery');
    assert.equal(await value('sum(ferry_reconnects_total)'), 0, 'no session was lost');
    assert.equal(await value('sum(ferry_hook_errors_total{hook="on_receive_terminator"})'), 1);
  });

  test('every dashboard query returns data, every alert condition parses and its left-hand side returns data', async () => {
    const queries: Query[] = monitoringQueries(HELM as Helm);
    assert.ok(queries.length >= 20, `only ${queries.length} queries`);
    const problems: string[] = [];
    for (const q of queries) {
      const whole = await query(q.expr);
      if (whole.status !== 'success') {
        problems.push(`${q.source}: ${whole.error} for ${q.expr}`);
        continue;
      }
      if (q.source.startsWith('dashboard:')) {
        const result = whole.data?.result ?? [];
        if (!result.some((s) => Number.isFinite(Number(s.value[1])))) problems.push(`${q.source}: no number in ${JSON.stringify(result)} for ${q.expr}`);
        continue;
      }
      const left = leftOfComparison(q.expr);
      if (left === q.expr) problems.push(`${q.source}: no comparison found in ${q.expr}`);
      if ((await series(left)).length === 0) problems.push(`${q.source}: no data for ${left}`);
      for (const name of new Set(q.expr.match(/\b(?:ferry|process|nodejs)_[a-z0-9_]+/g) ?? [])) {
        if ((await series(`group(${name})`)).length === 0) problems.push(`${q.source}: no series of ${name}`);
      }
    }
    assert.deepEqual(problems, []);
  });
});
