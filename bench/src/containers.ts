/**
 * npm run bench:containers — both shipped images under resource profiles, at a paced rate.
 *
 * Builds the images from the shipped Dockerfile, renders the chart from blueprint.yaml as
 * deploy.sh does, and runs the two containers as the container test does (chart-pods.ts) on one
 * Docker network, once per profile:
 *   chart     the chart's CPU limit and request (docker --cpus / --cpu-shares) and memory limit
 *   requests  the CPU request and memory limit, no CPU limit
 *   cpu1      a 1-CPU limit, the CPU request and memory limit
 *   none      no limits and no request at all (the baseline)
 * Profiles run interleaved (a b c d a b c d ...) so the shared machine's load falls on all alike.
 *
 * The load: POST /trigger on the initiator from this process, keep-alive connections with
 * bounded concurrency, paced at each rate, one ~1 KiB structured telemetry object per request.
 * A 200 means the terminator's hook ran and acknowledged the message, so the request's round
 * trip is the delivery latency a caller sees; it is measured from the request's scheduled send
 * time, so a relay that falls behind shows its queue in the figure. The initiator's own
 * ferry_delivery_latency_seconds histogram (from /metrics, before and after) is a second view.
 * CPU per container and CFS throttling come from the containers' cgroups (v1 or v2).
 *
 *   npm run bench:containers -- [--rates 200,1000] [--seconds 20] [--warmup 3] [--rounds 2]
 *     [--profiles chart,requests,cpu1,none] [--concurrency 64] [--size 1024]
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import yaml from 'js-yaml';
import type { AppName } from '@fast-ferry/tools/dist/image-hash.js';
import { loadBlueprint, renderValuesYaml } from '@fast-ferry/tools/dist/render-values.js';
import { buildImages, cpuCores, docker, httpStatus, ipOn, logsOf, pkiSecretFiles, planFor, running, triggerPort, waitFor, type Obj, type PlanContext, type RunPlan } from './chart-pods.js';
import { busyPercent, cpuTicks, loadAverage } from './machine.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const APPS: readonly AppName[] = ['terminator', 'initiator'];
const PROFILES = ['chart', 'requests', 'cpu1', 'none'] as const;
type Profile = (typeof PROFILES)[number];

const { values: opts } = parseArgs({
  options: {
    rates: { type: 'string', default: '200,1000' },
    seconds: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '2' },
    profiles: { type: 'string', default: PROFILES.join(',') },
    concurrency: { type: 'string', default: '64' },
    size: { type: 'string', default: '1024' },
  },
});
const rates = opts.rates.split(',').map(Number);
const seconds = Number(opts.seconds);
const warmup = Number(opts.warmup);
const rounds = Number(opts.rounds);
const concurrency = Number(opts.concurrency);
const size = Number(opts.size);
const profiles = opts.profiles.split(',') as Profile[];
for (const p of profiles) if (!PROFILES.includes(p)) throw new Error(`--profiles: unknown profile ${p}; known: ${PROFILES.join(', ')}`);
for (const [name, n] of Object.entries({ seconds, warmup, rounds, concurrency, size })) {
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name}: expected a number, got ${String(n)}`);
}
if (rates.some((r) => !(r > 0))) throw new Error(`--rates: expected positive numbers, e.g. 200,1000; got ${opts.rates}`);

// ───────────────────────── the message: a structured telemetry batch ─────────────────────────

interface Reading { sensor: string; t: number; value: number; ok: boolean; unit: string }
function telemetry(seq: number, readings: number): Record<string, unknown> {
  const t = Date.now();
  const batch: Reading[] = [];
  for (let k = 0; k < readings; k++) batch.push({ sensor: `s-${k}`, t: t - k * 10, value: Math.round((seq * 0.37 + k * 1.3) * 1000) / 1000, ok: (seq + k) % 7 !== 0, unit: k % 2 ? 'kPa' : 'degC' });
  return { device: 'pump-17', site: 'north', seq, sentAt: t, readings: batch };
}
/** The number of readings whose batch's JSON comes closest to `bytes`. */
function readingsFor(bytes: number): number {
  const len = (n: number): number => JSON.stringify(telemetry(1_000_000, n)).length;
  let n = 1;
  while (Math.abs(len(n + 1) - bytes) < Math.abs(len(n) - bytes)) n++;
  return n;
}

// ───────────────────────── the paced driver ─────────────────────────

interface LoadResult { latencies: Float64Array; ok: number; failed: number; statuses: Record<string, number> }

function pacedLoad(agent: http.Agent, host: string, port: number, rate: number, durationS: number, readings: number, firstSeq: number): Promise<LoadResult> {
  const total = Math.round(rate * durationS);
  const latencies = new Float64Array(total);
  const statuses: Record<string, number> = {};
  let ok = 0;
  let failed = 0;
  let done = 0;
  return new Promise((resolve) => {
    const start = performance.now() + 5;
    let i = 0;
    const finish = (): void => {
      done += 1;
      if (done === total) resolve({ latencies, ok, failed, statuses });
    };
    const send = (n: number, scheduled: number): void => {
      const body = JSON.stringify(telemetry(firstSeq + n, readings));
      const req = http.request({ agent, host, port, method: 'POST', path: '/trigger', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        let text = '';
        if (res.statusCode === 200) res.resume();
        else res.setEncoding('utf8').on('data', (chunk: string) => { text += chunk; });
        res.on('end', () => {
          latencies[n] = performance.now() - scheduled;
          const code = res.statusCode === 200 ? '200' : `${String(res.statusCode)} ${/"error":"([A-Z_]+)"/.exec(text)?.[1] ?? ''}`.trim();
          statuses[code] = (statuses[code] ?? 0) + 1;
          if (res.statusCode === 200) ok += 1;
          else failed += 1;
          finish();
        });
      });
      req.on('error', (e) => {
        latencies[n] = performance.now() - scheduled;
        statuses[e.message] = (statuses[e.message] ?? 0) + 1;
        failed += 1;
        finish();
      });
      req.end(body);
    };
    const tick = (): void => {
      const now = performance.now();
      while (i < total && start + (i * 1000) / rate <= now) {
        send(i, start + (i * 1000) / rate);
        i += 1;
      }
      if (i < total) setTimeout(tick, 1);
    };
    setTimeout(tick, 5);
  });
}

function quantiles(values: Float64Array): { p50: number; p99: number; max: number; n: number } {
  const sorted = values.slice().sort();
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] as number, n: sorted.length };
}

// ───────────────────────── the initiator's histogram ─────────────────────────

type Histogram = Map<number, number>; // le (seconds; Infinity for +Inf) → cumulative count
async function deliveryHistogram(ip: string, port: number): Promise<Histogram> {
  const text = await (await fetch(`http://${ip}:${port}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  const h: Histogram = new Map();
  for (const m of text.matchAll(/^ferry_delivery_latency_seconds_bucket\{(?:[^}]*,)?le="([^"]+)"[^}]*\}\s+(\S+)/gm)) {
    const le = m[1] === '+Inf' ? Infinity : Number(m[1]);
    h.set(le, (h.get(le) ?? 0) + Number(m[2]));
  }
  return h;
}
/** The bucket bound under which fraction q of the deliveries between two scrapes fell, in ms. */
function histogramQuantile(before: Histogram, after: Histogram, q: number): number | undefined {
  const les = [...after.keys()].sort((a, b) => a - b);
  const total = (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
  if (total <= 0) return undefined;
  for (const le of les) if ((after.get(le) ?? 0) - (before.get(le) ?? 0) >= q * total) return le * 1000;
  return Infinity;
}

// ───────────────────────── cgroup CPU and throttling ─────────────────────────

interface CpuSample { usageNs: number; periods: number; throttled: number; throttledNs: number }
function cgroupReader(id: string): () => CpuSample {
  const v1Cpu = [`/sys/fs/cgroup/cpu/docker/${id}`, `/sys/fs/cgroup/cpu,cpuacct/docker/${id}`, `/sys/fs/cgroup/cpu/system.slice/docker-${id}.scope`].find((d) => existsSync(join(d, 'cpu.stat')));
  const v1Acct = [`/sys/fs/cgroup/cpuacct/docker/${id}`, `/sys/fs/cgroup/cpu,cpuacct/docker/${id}`, `/sys/fs/cgroup/cpuacct/system.slice/docker-${id}.scope`].find((d) => existsSync(join(d, 'cpuacct.usage')));
  const v2 = [`/sys/fs/cgroup/system.slice/docker-${id}.scope`, `/sys/fs/cgroup/docker/${id}`].find((d) => existsSync(join(d, 'cpu.stat')) && !existsSync(join(d, 'cpu.shares')));
  const stat = (file: string): Map<string, number> => new Map(readFileSync(file, 'utf8').trim().split('\n').map((l) => { const [k, v] = l.split(/\s+/); return [k ?? '', Number(v)]; }));
  if (v1Cpu && v1Acct) {
    return () => {
      const s = stat(join(v1Cpu, 'cpu.stat'));
      return { usageNs: Number(readFileSync(join(v1Acct, 'cpuacct.usage'), 'utf8')), periods: s.get('nr_periods') ?? 0, throttled: s.get('nr_throttled') ?? 0, throttledNs: s.get('throttled_time') ?? 0 };
    };
  }
  if (v2) {
    return () => {
      const s = stat(join(v2, 'cpu.stat'));
      return { usageNs: (s.get('usage_usec') ?? 0) * 1000, periods: s.get('nr_periods') ?? 0, throttled: s.get('nr_throttled') ?? 0, throttledNs: (s.get('throttled_usec') ?? 0) * 1000 };
    };
  }
  throw new Error(`no cgroup CPU files for container ${id.slice(0, 12)} under /sys/fs/cgroup (cgroup v1 cpu/docker/<id> or v2 system.slice/docker-<id>.scope): run this on the Docker host`);
}

// ───────────────────────── one run ─────────────────────────

interface Window {
  profile: Profile; round: number; rate: number;
  load: LoadResult;
  metricsP50?: number | undefined; metricsP99?: number | undefined;
  cpu: Record<AppName, { percent: number; periods: number; throttled: number; throttledMs: number }>;
  machineBusy?: number | undefined;
}

function helmPath(): string {
  const bins = process.env['HELM_BINS']?.split(':').filter(Boolean) ?? [join(REPO_ROOT, '.tools', 'helm4', 'helm'), join(REPO_ROOT, '.tools', 'helm3', 'helm')].filter((p) => existsSync(p));
  return bins[0] ?? 'helm';
}

function profileArgs(profile: Profile, resources: Obj, runArgs: string[]): string[] {
  const request = resources['requests']?.cpu;
  const limit = resources['limits']?.cpu;
  const shares = request !== undefined ? ['--cpu-shares', String(Math.max(2, Math.round(cpuCores(request) * 1024)))] : [];
  switch (profile) {
    case 'chart': return [...shares, ...(limit !== undefined ? ['--cpus', String(cpuCores(limit))] : []), ...runArgs];
    case 'requests': return [...shares, ...runArgs];
    case 'cpu1': return [...shares, '--cpus', '1', ...runArgs];
    case 'none': return runArgs.filter((a, k) => a !== '--memory' && runArgs[k - 1] !== '--memory');
  }
}

function describeProfile(profile: Profile, resources: Record<AppName, Obj>): string {
  const r = resources.initiator;
  const lim = r['limits'] ?? {};
  const req = r['requests'] ?? {};
  switch (profile) {
    case 'chart': return `limits cpu ${String(lim['cpu'] ?? '-')} memory ${String(lim['memory'] ?? '-')}, request cpu ${String(req['cpu'] ?? '-')}`;
    case 'requests': return `request cpu ${String(req['cpu'] ?? '-')}, limit memory ${String(lim['memory'] ?? '-')}, no CPU limit`;
    case 'cpu1': return `limit cpu 1, memory ${String(lim['memory'] ?? '-')}, request cpu ${String(req['cpu'] ?? '-')}`;
    case 'none': return 'no limits, no requests';
  }
}

async function main(): Promise<void> {
  await docker('info', '--format', '{{.ServerVersion}}').catch(() => {
    throw new Error('no Docker engine answers: start one with bash .ci/docker-up.sh');
  });
  const uptimeBefore = execFileSync('uptime', { encoding: 'utf8' }).trim();
  console.log(`# ${uptimeBefore}`);
  const run = randomBytes(4).toString('hex');
  const work = mkdtempSync(join(tmpdir(), 'ferry-bench-containers-'));
  const network = `ferry-bc-${run}`;
  const started: string[] = [];
  const cleanup = async (): Promise<void> => {
    for (const c of started) await docker('rm', '--force', c).catch(() => undefined);
    await docker('network', 'rm', network).catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    execFileSync('node', [join(REPO_ROOT, 'tools/dist/pki.js'), 'ensure', '--dir', join(work, 'pki')], { stdio: 'pipe' });
    const bp = loadBlueprint(join(REPO_ROOT, 'blueprint.yaml'));
    const tags = await buildImages(REPO_ROOT, bp, APPS);
    writeFileSync(join(work, 'values.yaml'), renderValuesYaml(bp, { tags, tlsChecksum: 'bench-containers' }));
    const rendered = execFileSync(helmPath(), ['template', bp.bundle.name, join(REPO_ROOT, 'charts', 'fast-ferry'), '--namespace', 'default', '-f', join(work, 'values.yaml')], { encoding: 'utf8' });
    const docs = yaml.loadAll(rendered).filter((d): d is Obj => d !== null && typeof d === 'object');
    const configMaps = docs.filter((d) => d['kind'] === 'ConfigMap');
    const services = docs.filter((d) => d['kind'] === 'Service');
    const deployment = (app: AppName): Obj => {
      const d = docs.find((x) => x['kind'] === 'Deployment' && x['metadata']?.name === app);
      if (!d) throw new Error(`no Deployment/${app} in the rendered chart`);
      return d;
    };
    const resources = Object.fromEntries(APPS.map((app) => [app, (deployment(app)['spec'].template.spec.containers as Obj[]).find((c) => c['name'] === 'web-app')?.['resources'] ?? {}])) as Record<AppName, Obj>;
    await docker('network', 'create', network);
    const readings = readingsFor(size);
    console.log(`# message: ${JSON.stringify(telemetry(1, readings)).length} B of JSON (${readings} readings); rates ${rates.join(', ')} msgs/s, ${seconds} s each after ${warmup} s warm-up; concurrency ${concurrency}; ${rounds} rounds of ${profiles.join(' ')}`);
    for (const p of profiles) console.log(`# ${p}: ${describeProfile(p, resources)} (terminator: ${JSON.stringify(resources.terminator)})`);
    const windows: Window[] = [];
    let seq = 0;
    for (let round = 1; round <= rounds; round++) {
      for (const profile of profiles) {
        const ctx: PlanContext = { work, network, namePrefix: `ferry-bc-${run}-${profile}-${round}`, secretFiles: (app) => pkiSecretFiles(join(work, 'pki'), app) };
        const plans = new Map<AppName, RunPlan>();
        const readers = new Map<AppName, () => CpuSample>();
        for (const app of APPS) {
          const plan = planFor(app, deployment(app), configMaps, services, ctx);
          started.push(plan.container);
          const id = await docker('run', '--detach', ...profileArgs(profile, resources[app], plan.runArgs));
          plan.ip = await ipOn(plan.container, network);
          plans.set(app, plan);
          readers.set(app, cgroupReader(id));
        }
        const ini = plans.get('initiator') as RunPlan;
        await waitFor('the initiator to be ready (session open)', async () => {
          if (!(await running(ini.container))) throw new Error(`initiator exited:\n${await logsOf(ini.container)}`);
          return (await httpStatus(ini.ip as string, ini.readiness)) === 200 ? true : undefined;
        }, 90_000);
        const port = triggerPort(ini);
        const metricsPort = ini.ports.get('http') ?? ini.readiness.port;
        const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
        for (const rate of rates) {
          if (warmup > 0) await pacedLoad(agent, ini.ip as string, port, rate, warmup, readings, (seq += 1_000_000));
          const h0 = await deliveryHistogram(ini.ip as string, metricsPort);
          const c0 = new Map(APPS.map((a) => [a, (readers.get(a) as () => CpuSample)()]));
          const m0 = cpuTicks();
          const t0 = performance.now();
          const load = await pacedLoad(agent, ini.ip as string, port, rate, seconds, readings, (seq += 1_000_000));
          const elapsedNs = (performance.now() - t0) * 1e6;
          const m1 = cpuTicks();
          const c1 = new Map(APPS.map((a) => [a, (readers.get(a) as () => CpuSample)()]));
          const h1 = await deliveryHistogram(ini.ip as string, metricsPort);
          const cpu = Object.fromEntries(APPS.map((a) => {
            const x = c0.get(a) as CpuSample;
            const y = c1.get(a) as CpuSample;
            return [a, { percent: ((y.usageNs - x.usageNs) / elapsedNs) * 100, periods: y.periods - x.periods, throttled: y.throttled - x.throttled, throttledMs: (y.throttledNs - x.throttledNs) / 1e6 }];
          })) as Window['cpu'];
          const w: Window = { profile, round, rate, load, metricsP50: histogramQuantile(h0, h1, 0.5), metricsP99: histogramQuantile(h0, h1, 0.99), cpu, machineBusy: busyPercent(m0, m1, availableParallelism()) };
          windows.push(w);
          const q = quantiles(load.latencies);
          console.log(`# round ${round} ${profile.padEnd(8)} ${String(rate).padStart(5)}/s: p50 ${ms(q.p50)} p99 ${ms(q.p99)} max ${ms(q.max)} ms; ok ${load.ok} failed ${load.failed}${load.failed ? ` (${Object.entries(load.statuses).filter(([k]) => k !== '200').map(([k, v]) => `${k}: ${v}`).join(', ')})` : ''}; ` +
            `CPU ini ${cpu.initiator.percent.toFixed(0)} % (throttled ${cpu.initiator.throttled}/${cpu.initiator.periods}, ${cpu.initiator.throttledMs.toFixed(0)} ms) ter ${cpu.terminator.percent.toFixed(0)} % (throttled ${cpu.terminator.throttled}/${cpu.terminator.periods}, ${cpu.terminator.throttledMs.toFixed(0)} ms); machine busy ${w.machineBusy?.toFixed(0) ?? '?'} %; load ${loadAverage()}`);
        }
        agent.destroy();
        for (const plan of plans.values()) await docker('rm', '--force', plan.container).catch(() => undefined);
      }
    }
    const uptimeAfter = execFileSync('uptime', { encoding: 'utf8' }).trim();
    console.log(`# ${uptimeAfter}`);
    console.log(report(windows, uptimeBefore, uptimeAfter));
  } finally {
    await cleanup();
  }
}

function ms(v: number | undefined): string {
  if (v === undefined) return '–';
  if (!Number.isFinite(v)) return '>30000';
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

function report(windows: Window[], before: string, after: string): string {
  const lines = [
    `Load: before: ${before}; after: ${after}.`,
    '',
    '| rate | profile | p50 ms (median of rounds) | p99 ms (median of rounds) | max ms | p50 / p99 per round | machine busy % per round | p50 / p99 vs none (medians) | initiator /metrics p50 / p99 ≤ ms | CPU % ini / ter | throttled periods ini / ter | throttled ms ini / ter | failed |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); const m = Math.floor(s.length / 2); return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2; };
  for (const rate of rates) {
    const rounds = (p: Profile): Window[] => windows.filter((w) => w.rate === rate && w.profile === p);
    const medianOf = (p: Profile, k: 'p50' | 'p99'): number => median(rounds(p).map((w) => quantiles(w.load.latencies)[k]));
    const hasBase = rounds('none').length > 0;
    for (const p of profiles) {
      const ws = rounds(p);
      if (ws.length === 0) continue;
      const qs = ws.map((w) => quantiles(w.load.latencies));
      const sum = (f: (w: Window) => number): number => ws.reduce((n, w) => n + f(w), 0);
      const avg = (f: (w: Window) => number): number => sum(f) / ws.length;
      const p50 = medianOf(p, 'p50');
      const p99 = medianOf(p, 'p99');
      const ratio = hasBase ? `${(p50 / medianOf('none', 'p50')).toFixed(2)}× / ${(p99 / medianOf('none', 'p99')).toFixed(2)}×` : '–';
      const perRound = qs.map((r) => `${ms(r.p50)} / ${ms(r.p99)}`).join('; ');
      const busy = ws.map((w) => w.machineBusy?.toFixed(0) ?? '?').join(', ');
      const metrics = ws.map((w) => `${ms(w.metricsP50)} / ${ms(w.metricsP99)}`).join('; ');
      lines.push(`| ${rate}/s | ${p} | ${ms(p50)} | ${ms(p99)} | ${ms(Math.max(...qs.map((r) => r.max)))} | ${perRound} | ${busy} | ${ratio} | ${metrics} | ${avg((w) => w.cpu.initiator.percent).toFixed(0)} / ${avg((w) => w.cpu.terminator.percent).toFixed(0)} | ` +
        `${sum((w) => w.cpu.initiator.throttled)}/${sum((w) => w.cpu.initiator.periods)} / ${sum((w) => w.cpu.terminator.throttled)}/${sum((w) => w.cpu.terminator.periods)} | ` +
        `${sum((w) => w.cpu.initiator.throttledMs).toFixed(0)} / ${sum((w) => w.cpu.terminator.throttledMs).toFixed(0)} | ${sum((w) => w.load.failed)} |`);
    }
  }
  lines.push('', `Machine busy: CPU used by all processes during each window, in % of one core (${availableParallelism()} cores: ${availableParallelism() * 100} % is saturated).`);
  return lines.join('\n');
}

main().catch((e: unknown) => {
  console.error(`❌ bench:containers: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
