/** Turns the case results into the Markdown report. */
import { ROW_LABELS, type CaseSpec, type PeerStats, type Row } from './protocol.js';
import type { MachineInfo } from './machine.js';

export interface CaseResult {
  spec: CaseSpec;
  status: 'ok' | 'failed';
  reason?: string;
  sender?: PeerStats;
  receiver?: PeerStats;
  /** CPU the rest of the machine used during the window, % of one core. */
  foreignCpu?: number;
}

export interface RunInfo {
  machine: MachineInfo;
  startedAt: Date;
  seconds: number;
  warmupMs: number;
  windowMs: number;
  rate: number;
  loadStart: string;
  loadEnd: string;
  loadMax1m: number;
  smoke: boolean;
  /** Node options of the Fast Ferry peers, as their images run them (tools/src/node-options.ts). */
  ferryNodeOptions: { sender: string; receiver: string };
}

const MIB = 1024 * 1024;

export function rateOf(r: CaseResult | undefined): number | undefined {
  if (!r || r.status !== 'ok' || !r.receiver) return undefined;
  return (r.receiver.messages / r.receiver.elapsedMs) * 1000;
}

/** A row that did not run: short in the table, the full reason under it (see `notes`). */
function cellFor(r: CaseResult): string {
  return r.status === 'ok' ? 'no samples' : 'FAILED';
}

/** Why rows did not run, once per distinct reason. */
export function notes(results: CaseResult[]): string {
  const seen = new Map<string, string[]>();
  for (const r of results) {
    if (r.status === 'ok') continue;
    const key = `${r.status}: ${r.reason ?? 'unknown'}`;
    seen.set(key, [...(seen.get(key) ?? []), `${r.spec.row} ${sizeLabel(r.spec.size)} ${r.spec.mode}`]);
  }
  return [...seen].map(([reason, cases]) => `- ${cases.join(', ')} — ${reason.replace(/\s+/g, ' ')}`).join('\n');
}

function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function fmtRatio(a: number | undefined, b: number | undefined): string {
  return a === undefined || b === undefined || b === 0 ? '–' : `${(a / b).toFixed(2)}×`;
}

function sizeLabel(size: number): string {
  return size >= 1024 ? `${size / 1024} KiB` : `${size} B`;
}

function ms(n: number): string {
  return n < 10 ? n.toFixed(3) : n.toFixed(1);
}

export function throughputTable(results: CaseResult[], sizes: number[]): string {
  const lines = [
    '| size | row | msgs/s | MB/s | vs plain ws | vs raw TLS | CPU % sender | CPU % receiver | peak RSS sender | peak RSS receiver |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const size of sizes) {
    const bySize = results.filter((r) => r.spec.mode === 'flood' && r.spec.size === size);
    const ws = rateOf(bySize.find((r) => r.spec.row === 'ws'));
    const raw = rateOf(bySize.find((r) => r.spec.row === 'raw-tls'));
    for (const r of bySize) {
      const label = `${sizeLabel(size)} | ${ROW_LABELS[r.spec.row]}`;
      const rate = rateOf(r);
      if (rate === undefined || !r.receiver || !r.sender) {
        lines.push(`| ${label} | ${cellFor(r)} | | | | | | | | |`);
        continue;
      }
      lines.push(
        `| ${label} | ${fmtInt(rate)} | ${((rate * size) / 1e6).toFixed(1)} | ${fmtRatio(rate, ws)} | ${fmtRatio(rate, raw)} | ` +
          `${r.sender.cpuPercent.toFixed(0)} | ${r.receiver.cpuPercent.toFixed(0)} | ` +
          `${(r.sender.peakRssBytes / MIB).toFixed(0)} MiB | ${(r.receiver.peakRssBytes / MIB).toFixed(0)} MiB |`,
      );
    }
  }
  return lines.join('\n');
}

export function latencyTable(results: CaseResult[]): string {
  const lines = [
    '| row | achieved msgs/s | p50 ms | p99 ms | max ms | samples | CPU % sender | CPU % receiver |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of results.filter((x) => x.spec.mode === 'paced')) {
    const l = r.receiver?.latency;
    if (r.status !== 'ok' || !l || !r.sender || !r.receiver) {
      lines.push(`| ${ROW_LABELS[r.spec.row]} | ${cellFor(r)} | | | | | | |`);
      continue;
    }
    lines.push(
      `| ${ROW_LABELS[r.spec.row]} | ${fmtInt(rateOf(r) ?? 0)} | ${ms(l.p50)} | ${ms(l.p99)} | ${ms(l.max)} | ${fmtInt(l.samples)} | ` +
        `${r.sender.cpuPercent.toFixed(0)} | ${r.receiver.cpuPercent.toFixed(0)} |`,
    );
  }
  return lines.join('\n');
}

/** The issue's targets, each with the measured value, for every Fast Ferry mode that ran. */
export function targets(results: CaseResult[]): string {
  const find = (row: Row, size: number, mode: 'flood' | 'paced' = 'flood') =>
    results.find((r) => r.spec.row === row && r.spec.size === size && r.spec.mode === mode);
  const out: string[] = [];
  for (const row of ['ferry-tunnel', 'ferry-tls'] as const) {
    const f1k = rateOf(find(row, 1024));
    const ws1k = rateOf(find('ws', 1024));
    const raw1k = rateOf(find('raw-tls', 1024));
    const f128 = rateOf(find(row, 128));
    const lat = find(row, 1024, 'paced')?.receiver?.latency;
    const wsLat = find('ws', 1024, 'paced')?.receiver?.latency;
    const ran = results.filter((r) => r.spec.row === row && r.status === 'ok');
    const senderRss = ran.map((r) => r.sender?.peakRssBytes ?? 0);
    const receiverRss = ran.map((r) => r.receiver?.peakRssBytes ?? 0);
    if (f1k === undefined && f128 === undefined && !lat) {
      out.push(`- ${ROW_LABELS[row]}: did not run.`);
      continue;
    }
    const check = (ok: boolean | undefined): string => (ok === undefined ? '–' : ok ? 'met' : 'NOT met');
    const r1 = f1k !== undefined && ws1k ? f1k / ws1k : undefined;
    const r2 = f1k !== undefined && raw1k ? f1k / raw1k : undefined;
    out.push(`- ${ROW_LABELS[row]}:`);
    out.push(`  - 1 KiB ≥ 1.5× plain ws: ${r1?.toFixed(2) ?? '–'}× — ${check(r1 === undefined ? undefined : r1 >= 1.5)}`);
    out.push(`  - 1 KiB ≥ 0.8× raw TLS: ${r2?.toFixed(2) ?? '–'}× — ${check(r2 === undefined ? undefined : r2 >= 0.8)}`);
    out.push(`  - 128 B ≥ 500,000 msgs/s: ${f128 === undefined ? '–' : fmtInt(f128)} — ${check(f128 === undefined ? undefined : f128 >= 500_000)}`);
    if (lat && wsLat) {
      const p50 = lat.p50 / wsLat.p50;
      const p99 = lat.p99 / wsLat.p99;
      out.push(`  - latency at the paced rate within 1.2× plain ws: p50 ${p50.toFixed(2)}×, p99 ${p99.toFixed(2)}× — ${check(p50 <= 1.2 && p99 <= 1.2)}`);
    }
    if (ran.length > 0) {
      // Per side: the two processes run different code (and the receiver a smaller young generation).
      const sender = Math.max(...senderRss) / MIB;
      const receiver = Math.max(...receiverRss) / MIB;
      out.push(`  - peak RSS ≤ 80 MiB per process (all sizes): sender ${sender.toFixed(0)} MiB, receiver ${receiver.toFixed(0)} MiB — ${check(sender <= 80 && receiver <= 80)}`);
    }
  }
  out.push(...whatTheTargetsAsk(results, find));
  return out.join('\n');
}

/**
 * The same targets in terms of the baselines of this run, so a reader can tell a target the
 * fast path misses from one that the floor itself misses on this machine.
 */
function whatTheTargetsAsk(results: CaseResult[], find: (row: Row, size: number) => CaseResult | undefined): string[] {
  const lines: string[] = [];
  const ws1k = rateOf(find('ws', 1024));
  const raw1k = rateOf(find('raw-tls', 1024));
  if (ws1k && raw1k) {
    lines.push(`- 1.5× plain ws at 1 KiB is ${fmtInt(1.5 * ws1k)} msgs/s here: ${((1.5 * ws1k) / raw1k).toFixed(2)}× the raw TLS floor, which only stringifies and writes.`);
  }
  for (const row of ['ws', 'raw-tls'] as const) {
    const peaks = results
      .filter((r) => r.spec.row === row && r.spec.mode === 'flood' && r.status === 'ok')
      .map((r) => [r.sender?.peakRssBytes ?? 0, r.receiver?.peakRssBytes ?? 0]);
    if (peaks.length === 0) continue;
    const sender = Math.max(...peaks.map(([s]) => s as number)) / MIB;
    const receiver = Math.max(...peaks.map(([, r]) => r as number)) / MIB;
    lines.push(`- Peak RSS of ${ROW_LABELS[row]} in this run: sender ${sender.toFixed(0)} MiB, receiver ${receiver.toFixed(0)} MiB.`);
  }
  return lines.length > 0 ? ['', 'What the targets ask of this machine:', '', ...lines] : [];
}

export function report(info: RunInfo, results: CaseResult[], sizes: number[]): string {
  const m = info.machine;
  const foreign = results.map((r) => r.foreignCpu).filter((n): n is number => n !== undefined);
  const noisy = results.filter((r) => (r.foreignCpu ?? 0) > 20);
  return [
    `# Fast Ferry benchmark${info.smoke ? ' (smoke: numbers are not meaningful)' : ''}`,
    '',
    `${info.startedAt.toISOString()}, ${info.seconds.toFixed(0)} s. Node ${m.node}, ${m.nproc} × ${m.cpuModel}, git ${m.git}, bufferutil ${m.bufferutil ? 'installed' : 'not installed'}.`,
    `Load average (1/5/15 min) at start: ${info.loadStart}; at end: ${info.loadEnd}; highest 1-min seen between cases: ${info.loadMax1m.toFixed(2)}. \`uptime\` at start: ${m.uptime}`,
    foreign.length > 0
      ? `CPU used by other processes during the measured windows (/proc/stat minus the two peers): mean ${(foreign.reduce((a, b) => a + b, 0) / foreign.length).toFixed(0)} %, max ${Math.max(...foreign).toFixed(0)} % of one core${noisy.length > 0 ? ` — noisy cases (> 20 %): ${noisy.map((r) => `${r.spec.row} ${sizeLabel(r.spec.size)} ${r.spec.mode}`).join(', ')}` : ''}.`
      : '',
    '',
    `Loopback, sender and receiver in separate processes, ${info.warmupMs} ms warm-up, ${info.windowMs} ms measured window per case; msgs/s counted at the receiver (handed to the application), MB/s = msgs/s × nominal size / 10^6; CPU % of one core (process.cpuUsage over the window); peak RSS = maxRSS of the process's life. Fast Ferry sender \`${info.ferryNodeOptions.sender}\`, receiver \`${info.ferryNodeOptions.receiver}\` (their images' NODE_OPTIONS); plain ws and raw TLS with V8's defaults.`,
    '',
    '## Throughput',
    '',
    throughputTable(results, sizes),
    '',
    `## One-way latency, 1 KiB at ${fmtInt(info.rate)} msgs/s`,
    '',
    latencyTable(results),
    '',
    '## Targets (issue 5 §2)',
    '',
    targets(results),
    '',
    ...(results.some((r) => r.status !== 'ok') ? ['## Rows that did not run', '', notes(results), ''] : []),
  ].join('\n');
}
