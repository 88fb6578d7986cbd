/**
 * Turns the case results into the Markdown report. Every figure of a case is the median over
 * the rounds in which it ran; every ratio is taken within a round (the two cases ran minutes
 * apart at most, under the same load) and then given as the median of those per-round ratios
 * with their range, min–max. The one exception: latency run in slices is pooled over all rounds
 * (Results.latency says why).
 */
import { structuredBytes } from './message.js';
import { ROWS, rowLabel, type CaseSpec, type PayloadKind, type PeerStats, type Row } from './protocol.js';
import type { MachineInfo } from './machine.js';

export interface CaseResult {
  spec: CaseSpec;
  /** `unsupported`: this build cannot run the case (skipped; the run does not fail). */
  status: 'ok' | 'failed' | 'unsupported';
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
  /** How the flood cases shared the machine (run.ts --interleave; slices.ts). */
  interleave: 'slices' | 'cases';
  rounds: number;
  latencyRounds: number;
  warmupMs: number;
  settleMs: number;
  /** Slices: each window pinned the pair's two main threads to CPUs 0 and 1, swapped every round. */
  pinned: boolean;
  windowMs: number;
  latencyWindowMs: number;
  rate: number;
  latencySize: number;
  loadStart: string;
  loadEnd: string;
  loadMax1m: number;
  smoke: boolean;
  /** Node options of the Fast Ferry peers, as their images run them (tools/src/node-options.ts). */
  ferryNodeOptions: { sender: string; receiver: string };
  /** Fast Ferry settings changed from their defaults in both peers (--ferry-config). */
  ferryConfig: Record<string, string>;
}

type Mode = CaseSpec['mode'];
type Metric = (r: CaseResult) => number | undefined;

const MIB = 1024 * 1024;
const FERRY_ROWS = ['ferry-tunnel', 'ferry-tls'] as const;

export const rateOf: Metric = (r) => (r.status === 'ok' && r.receiver ? (r.receiver.messages / r.receiver.elapsedMs) * 1000 : undefined);
const perMessage = (s: PeerStats | undefined): number | undefined => (s && s.messages > 0 ? s.cpuMicros / s.messages : undefined);
const senderUs: Metric = (r) => (r.status === 'ok' ? perMessage(r.sender) : undefined);
const receiverUs: Metric = (r) => (r.status === 'ok' ? perMessage(r.receiver) : undefined);
const senderRss: Metric = (r) => (r.status === 'ok' ? r.sender?.peakRssBytes : undefined);
const receiverRss: Metric = (r) => (r.status === 'ok' ? r.receiver?.peakRssBytes : undefined);
type Percentile = 'p50' | 'p99';
const windowLatency = (q: Percentile): Metric => (r) => (r.status === 'ok' ? r.receiver?.latency?.[q] : undefined);

export function median(xs: number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/**
 * A figure with its range over rounds; `n` is how many rounds gave a value. The figure is the
 * median over rounds, except for latency in slices (Results.latency): there it is pooled.
 */
interface Spread {
  figure: number;
  min: number;
  max: number;
  n: number;
}

function spread(xs: number[]): Spread | undefined {
  const m = median(xs);
  return m === undefined ? undefined : { figure: m, min: Math.min(...xs), max: Math.max(...xs), n: xs.length };
}

/** The results of one case (row × payload × size × mode), round by round. */
class Results {
  /** `pooledLatency`: the paced cases ran in slices, one pair a row through every round. */
  constructor(
    readonly all: CaseResult[],
    readonly pooledLatency: boolean,
  ) {}

  of(mode: Mode, payload: PayloadKind, size: number, row: Row): CaseResult[] {
    return this.all.filter((r) => r.spec.mode === mode && r.spec.payload === payload && r.spec.size === size && r.spec.row === row);
  }

  values(mode: Mode, payload: PayloadKind, size: number, row: Row, metric: Metric): Spread | undefined {
    return spread(this.of(mode, payload, size, row).map(metric).filter((v): v is number => v !== undefined));
  }

  /** metric(row) / metric(ref) within each round where both ran, as a median and range. */
  ratio(mode: Mode, payload: PayloadKind, size: number, row: Row, ref: Row, metric: Metric): Spread | undefined {
    const refs = this.of(mode, payload, size, ref);
    const ratios: number[] = [];
    for (const r of this.of(mode, payload, size, row)) {
      const a = metric(r);
      const b = refs.find((x) => x.spec.round === r.spec.round);
      const bv = b ? metric(b) : undefined;
      if (a !== undefined && bv !== undefined && bv > 0) ratios.push(a / bv);
    }
    return spread(ratios);
  }

  /**
   * A paced case's p50 or p99, or (`ref`) its ratio to ref's. Run in slices, a row's receiver
   * reports with each window the percentile over all its windows so far: the last one's is the
   * figure, over every round's samples together, because a median of 1 s windows' p99s would
   * leave out stalls rarer than one a window. Its ratio is pooled figure over pooled figure. The
   * range is the single windows' (or their ratios within each round). Run case by case, it is
   * the median over rounds, as for every other figure.
   */
  latency(payload: PayloadKind, size: number, row: Row, q: Percentile, ref?: Row): Spread | undefined {
    const metric = windowLatency(q);
    const perRound = ref === undefined ? this.values('paced', payload, size, row, metric) : this.ratio('paced', payload, size, row, ref, metric);
    if (!this.pooledLatency || perRound === undefined) return perRound;
    const pooled = (r: Row): number | undefined => {
      const last = this.of('paced', payload, size, r)
        .filter((x) => x.status === 'ok' && x.receiver?.latency !== undefined)
        .sort((a, b) => b.spec.round - a.spec.round)[0];
      return last?.receiver?.latency?.pooled[q];
    };
    const mine = pooled(row);
    const theirs = ref === undefined ? 1 : pooled(ref);
    if (mine === undefined || theirs === undefined || theirs <= 0) return undefined;
    return { ...perRound, figure: mine / theirs };
  }

  /** Why a case has no figures: skipped (unsupported), failed, or not part of this run. */
  absence(mode: Mode, payload: PayloadKind, size: number, row: Row): string {
    const rs = this.of(mode, payload, size, row);
    if (rs.length === 0) return 'not run';
    if (rs.every((r) => r.status === 'unsupported')) return 'not run (not supported by this core yet)';
    if (rs.some((r) => r.status === 'failed')) return 'not run (FAILED, see below)';
    return 'not run (no samples)';
  }
}

function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function fmtK(n: number): string {
  return n >= 10_000 ? `${(n / 1000).toFixed(0)}k` : n >= 1000 ? `${(n / 1000).toFixed(1)}k` : n.toFixed(0);
}

function fmtX(n: number): string {
  return `${n.toFixed(2)}×`;
}

function ms(n: number): string {
  return n < 10 ? n.toFixed(3) : n.toFixed(1);
}

/** `figure (min–max)`, the range left out when one round gave the value (or all gave the same). */
function cell(s: Spread | undefined, fmt: (n: number) => string, fmtRange: (n: number) => string = fmt): string {
  if (!s) return '–';
  return s.n > 1 && s.min !== s.max ? `${fmt(s.figure)} (${fmtRange(s.min)}–${fmtRange(s.max)})` : fmt(s.figure);
}

function sizeLabel(size: number): string {
  return size >= 1024 ? `${size / 1024} KiB` : `${size} B`;
}

function caseName(spec: CaseSpec): string {
  return `${spec.row} ${spec.payload} ${sizeLabel(spec.size)} ${spec.mode}`;
}

/** Why cases did not run, once per distinct reason. */
export function notes(results: CaseResult[]): string {
  const seen = new Map<string, Set<string>>();
  for (const r of results) {
    if (r.status === 'ok') continue;
    const key = `${r.status === 'unsupported' ? 'skipped' : 'FAILED'}: ${r.reason ?? 'unknown'}`;
    seen.set(key, (seen.get(key) ?? new Set()).add(`${caseName(r.spec)}${r.status === 'failed' ? ` (round ${r.spec.round})` : ''}`));
  }
  return [...seen].map(([reason, cases]) => `- ${[...cases].join(', ')} — ${reason.replace(/\s+/g, ' ')}`).join('\n');
}

function payloadHeading(payload: PayloadKind, sizes: number[]): string {
  switch (payload) {
    case 'flat':
      return 'flat — `{seq, sentAt, body}`, one string field padded to the size; objects in, objects out';
    case 'structured': {
      const shapes = sizes.map((size) => {
        const { readings, bytes } = structuredBytes(size);
        return `${readings} reading${readings === 1 ? '' : 's'} ≈ ${fmtInt(bytes)} B of JSON at ${sizeLabel(size)}`;
      });
      return `structured — telemetry batch \`{device, seq, sentAt, readings: [{sensor, value, ok, unit}, …]}\`, built per message; objects in, objects out${shapes.length > 0 ? ` (${shapes.join(', ')})` : ''}`;
    }
    case 'bytes':
      return 'bytes — a Buffer of the size, a fresh one per message; Buffer in, Buffer out (ws: binary frames; raw TLS: length-prefixed)';
  }
}

export function throughputTable(results: Results, payload: PayloadKind, sizes: number[], rows: Row[]): string {
  const lines = [
    '| size | row | msgs/s | MB/s | vs plain ws | vs raw TLS | sender CPU µs/msg | vs plain ws | receiver CPU µs/msg | vs plain ws | peak RSS sender | peak RSS receiver |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const size of sizes) {
    for (const row of rows) {
      const runs = results.of('flood', payload, size, row);
      if (runs.length === 0) continue;
      const label = `${sizeLabel(size)} | ${rowLabel(row, payload)}`;
      const rate = results.values('flood', payload, size, row, rateOf);
      if (!rate) {
        lines.push(`| ${label} | ${runs.every((r) => r.status === 'unsupported') ? 'skipped: not supported by this core yet' : 'FAILED'} | | | | | | | | | |`);
        continue;
      }
      const rss = (metric: Metric): string => {
        const s = results.values('flood', payload, size, row, metric);
        return s ? `${(s.figure / MIB).toFixed(0)} MiB` : '–';
      };
      const us = (n: number): string => n.toFixed(2);
      const partial = rate.n < runs.length ? ` [${rate.n}/${runs.length} rounds]` : '';
      lines.push(
        `| ${label} | ${cell(rate, fmtInt, fmtK)}${partial} | ${((rate.figure * size) / 1e6).toFixed(1)} | ` +
          `${cell(results.ratio('flood', payload, size, row, 'ws', rateOf), fmtX, (n) => n.toFixed(2))} | ` +
          `${cell(results.ratio('flood', payload, size, row, 'raw-tls', rateOf), fmtX, (n) => n.toFixed(2))} | ` +
          `${cell(results.values('flood', payload, size, row, senderUs), us)} | ` +
          `${cell(results.ratio('flood', payload, size, row, 'ws', senderUs), fmtX, (n) => n.toFixed(2))} | ` +
          `${cell(results.values('flood', payload, size, row, receiverUs), us)} | ` +
          `${cell(results.ratio('flood', payload, size, row, 'ws', receiverUs), fmtX, (n) => n.toFixed(2))} | ` +
          `${rss(senderRss)} | ${rss(receiverRss)} |`,
      );
    }
  }
  return lines.join('\n');
}

export function latencyTable(results: Results, payload: PayloadKind, size: number, rows: Row[]): string {
  const lines = [
    '| row | achieved msgs/s | p50 ms | p99 ms | max ms | p50 vs plain ws | p99 vs plain ws | sender CPU µs/msg | receiver CPU µs/msg | CPU % sender | CPU % receiver |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const row of rows) {
    const runs = results.of('paced', payload, size, row);
    if (runs.length === 0) continue;
    const l50 = results.latency(payload, size, row, 'p50');
    const l99 = results.latency(payload, size, row, 'p99');
    if (!l50 || !l99) {
      lines.push(`| ${rowLabel(row, payload)} | ${runs.some((r) => r.status === 'failed') ? 'FAILED' : 'no samples'} | | | | | | | | | |`);
      continue;
    }
    const max = Math.max(...runs.map((r) => r.receiver?.latency?.max ?? 0));
    const pct = (metric: Metric): string => cell(results.values('paced', payload, size, row, metric), (n) => n.toFixed(0));
    lines.push(
      `| ${rowLabel(row, payload)} | ${cell(results.values('paced', payload, size, row, rateOf), fmtInt, fmtK)} | ` +
        `${cell(l50, ms)} | ${cell(l99, ms)} | ${ms(max)} | ` +
        `${cell(results.latency(payload, size, row, 'p50', 'ws'), fmtX, (n) => n.toFixed(2))} | ` +
        `${cell(results.latency(payload, size, row, 'p99', 'ws'), fmtX, (n) => n.toFixed(2))} | ` +
        `${cell(results.values('paced', payload, size, row, senderUs), (n) => n.toFixed(2))} | ` +
        `${cell(results.values('paced', payload, size, row, receiverUs), (n) => n.toFixed(2))} | ` +
        `${pct((r) => (r.status === 'ok' ? r.sender?.cpuPercent : undefined))} | ${pct((r) => (r.status === 'ok' ? r.receiver?.cpuPercent : undefined))} |`,
    );
  }
  return lines.join('\n');
}

const TARGET_SIZES = { structured: [128, 1024, 16 * 1024], bytesVsWs: [128, 1024], bytesVsRaw: [16 * 1024] } as const;

/** One target line: the measured ratio (range) against a bound, met / NOT met / not run. */
function judged(what: string, s: Spread | undefined, bound: number, atMost: boolean, absent: string): string {
  if (!s) return `  - ${what}: ${absent}`;
  const ok = atMost ? s.figure <= bound : s.figure >= bound;
  return `  - ${what}: ${cell(s, fmtX, (n) => n.toFixed(2))} — ${ok ? 'met' : 'NOT met'}`;
}

/** Issue 13 §3's targets for each Fast Ferry mode, judged on medians over rounds (latency in slices: pooled). */
export function targets(results: Results, info: RunInfo): string {
  const out: string[] = [];
  const L = info.latencySize;
  for (const row of FERRY_ROWS) {
    out.push(`- ${rowLabel(row, 'structured')}:`);
    for (const size of TARGET_SIZES.structured) {
      const absent = results.absence('flood', 'structured', size, row);
      out.push(judged(`structured ${sizeLabel(size)} msgs/s ≥ 1.0× plain ws`, results.ratio('flood', 'structured', size, row, 'ws', rateOf), 1.0, false, absent));
      out.push(judged(`structured ${sizeLabel(size)} sender CPU/msg ≤ 1.1× plain ws`, results.ratio('flood', 'structured', size, row, 'ws', senderUs), 1.1, true, absent));
    }
    for (const size of TARGET_SIZES.bytesVsWs) {
      out.push(judged(`bytes ${sizeLabel(size)} msgs/s ≥ 1.5× plain ws binary`, results.ratio('flood', 'bytes', size, row, 'ws', rateOf), 1.5, false, results.absence('flood', 'bytes', size, row)));
    }
    for (const size of TARGET_SIZES.bytesVsRaw) {
      out.push(judged(`bytes ${sizeLabel(size)} msgs/s ≥ 0.9× raw TLS`, results.ratio('flood', 'bytes', size, row, 'raw-tls', rateOf), 0.9, false, results.absence('flood', 'bytes', size, row)));
    }
    const absent = results.absence('paced', 'structured', L, row);
    if (row === 'ferry-tls') out.push(judged(`latency p50, structured ${sizeLabel(L)} at ${fmtInt(info.rate)}/s, ≤ 1.1× plain ws`, results.latency('structured', L, row, 'p50', 'ws'), 1.1, true, absent));
    const p99Bound = row === 'ferry-tls' ? 1.3 : 1.5;
    out.push(judged(`latency p99, structured ${sizeLabel(L)} at ${fmtInt(info.rate)}/s, ≤ ${p99Bound}× plain ws`, results.latency('structured', L, row, 'p99', 'ws'), p99Bound, true, absent));
    out.push(rssTarget(results, row));
  }
  out.push(...floors(results));
  return out.join('\n');
}

/**
 * Sender peak RSS ≤ 1.3× plain ws's sender, judged on the worst flood case (payload and size)
 * in which both ran: memory held per message shows at every size.
 */
function rssTarget(results: Results, row: Row): string {
  let worst: { ratio: number; name: string; ferry: number; ws: number } | undefined;
  const floods = new Map(results.all.filter((r) => r.spec.mode === 'flood').map((r) => [`${r.spec.payload} ${r.spec.size}`, r.spec]));
  for (const spec of floods.values()) {
    const ferry = results.values('flood', spec.payload, spec.size, row, senderRss);
    const ws = results.values('flood', spec.payload, spec.size, 'ws', senderRss);
    if (!ferry || !ws) continue;
    const ratio = ferry.figure / ws.figure;
    if (!worst || ratio > worst.ratio) worst = { ratio, name: `${spec.payload} ${sizeLabel(spec.size)}`, ferry: ferry.figure, ws: ws.figure };
  }
  const what = 'sender peak RSS ≤ 1.3× plain ws sender (worst flood case)';
  if (!worst) return `  - ${what}: not run`;
  return `  - ${what}: ${fmtX(worst.ratio)} at ${worst.name} (${(worst.ferry / MIB).toFixed(0)} vs ${(worst.ws / MIB).toFixed(0)} MiB) — ${worst.ratio <= 1.3 ? 'met' : 'NOT met'}`;
}

/**
 * The targets in terms of this run's floors, so a reader can tell a target the fast path misses
 * from one that even the raw TLS socket misses on this machine.
 */
function floors(results: Results): string[] {
  const lines: string[] = [];
  for (const size of TARGET_SIZES.structured) {
    const raw = results.ratio('flood', 'structured', size, 'raw-tls', 'ws', rateOf);
    const cpu = results.ratio('flood', 'structured', size, 'raw-tls', 'ws', senderUs);
    if (raw) lines.push(`- structured ${sizeLabel(size)}: the raw TLS floor (same JSON work, no WebSocket framing, no acks) reaches ${cell(raw, fmtX, (n) => n.toFixed(2))} plain ws's msgs/s${cpu ? ` at ${cell(cpu, fmtX, (n) => n.toFixed(2))} its sender CPU/msg` : ''}.`);
    const sealed = results.ratio('flood', 'structured', size, 'raw-tls-sealed', 'ws', rateOf);
    const sealedCpu = results.ratio('flood', 'structured', size, 'raw-tls-sealed', 'ws', senderUs);
    if (sealed) {
      lines.push(
        `- structured ${sizeLabel(size)}, armor tunnel: the same socket sealing batches as the armor does (AES-256-GCM in node:crypto) reaches ${cell(sealed, fmtX, (n) => n.toFixed(2))} plain ws's msgs/s` +
          `${sealedCpu ? ` at ${cell(sealedCpu, fmtX, (n) => n.toFixed(2))} its sender CPU/msg` : ''}: the most a sender that seals inside TLS reaches here.`,
      );
    }
  }
  for (const size of TARGET_SIZES.bytesVsWs) {
    const raw = results.ratio('flood', 'bytes', size, 'raw-tls', 'ws', rateOf);
    if (raw) lines.push(`- bytes ${sizeLabel(size)}: the raw TLS floor reaches ${cell(raw, fmtX, (n) => n.toFixed(2))} plain ws binary; 1.5× plain ws binary is ${fmtX(1.5 / raw.figure)} the floor.`);
    const sealed = results.ratio('flood', 'bytes', size, 'raw-tls-sealed', 'ws', rateOf);
    if (sealed) lines.push(`- bytes ${sizeLabel(size)}, armor tunnel: the same socket sealing batches reaches ${cell(sealed, fmtX, (n) => n.toFixed(2))} plain ws binary; 1.5× plain ws binary is ${fmtX(1.5 / sealed.figure)} that floor.`);
  }
  for (const size of TARGET_SIZES.bytesVsRaw) {
    const raw = results.values('flood', 'bytes', size, 'raw-tls', rateOf);
    if (raw) lines.push(`- bytes ${sizeLabel(size)}: the raw TLS floor sent ${cell(raw, fmtInt, fmtK)} msgs/s; 0.9× is ${fmtInt(0.9 * raw.figure)} msgs/s.`);
    const sealed = results.ratio('flood', 'bytes', size, 'raw-tls-sealed', 'raw-tls', rateOf);
    if (sealed) lines.push(`- bytes ${sizeLabel(size)}, armor tunnel: the same socket sealing batches as the armor does reaches ${cell(sealed, fmtX, (n) => n.toFixed(2))} raw TLS: what the AEAD work alone leaves of the floor.`);
  }
  for (const row of ['ws', 'raw-tls'] as const) {
    const peaks = results.all.filter((r) => r.spec.row === row && r.spec.mode === 'flood').map(senderRss).filter((v): v is number => v !== undefined);
    if (peaks.length > 0) lines.push(`- Sender peak RSS of ${row === 'ws' ? 'plain ws' : 'the raw TLS socket'} in this run's floods: ${(Math.max(...peaks) / MIB).toFixed(0)} MiB at most.`);
  }
  return lines.length > 0 ? ['', 'The floors measured in the same run (what the targets ask of this machine):', '', ...lines] : [];
}

function foreignCpu(all: CaseResult[]): { mean: number; max: number; noisy: number; of: number } | undefined {
  const foreign = all.map((r) => r.foreignCpu).filter((n): n is number => n !== undefined);
  if (foreign.length === 0) return undefined;
  return { mean: foreign.reduce((a, b) => a + b, 0) / foreign.length, max: Math.max(...foreign), noisy: foreign.filter((n) => n > 20).length, of: foreign.length };
}

/** The load the run shared the machine with, in one sentence (headline and targets). */
function loadSentence(info: RunInfo, all: CaseResult[]): string {
  const f = foreignCpu(all);
  return (
    `Load average (1/5/15 min) at start ${info.loadStart}, at end ${info.loadEnd}, highest 1-min between cases ${info.loadMax1m.toFixed(2)}` +
    (f
      ? `; CPU used by other processes during the measured windows (/proc/stat minus the two peers): mean ${f.mean.toFixed(0)} %, max ${f.max.toFixed(0)} % of one core` +
        `${f.noisy > 0 ? `, over 20 % (not comparable on 2 cores) in ${f.noisy} of ${f.of} cases` : ''}.`
      : '.')
  );
}

export function report(info: RunInfo, all: CaseResult[], payloads: PayloadKind[], sizes: number[]): string {
  const results = new Results(all, info.interleave === 'slices');
  const rowsRun = (mode: Mode): Row[] => {
    const seen = new Set(all.filter((r) => r.spec.mode === mode).map((r) => r.spec.row));
    return ROWS.filter((r) => seen.has(r));
  };
  const throughput = payloads.flatMap((payload) =>
    all.some((r) => r.spec.mode === 'flood' && r.spec.payload === payload)
      ? [`### ${payloadHeading(payload, sizes)}`, '', throughputTable(results, payload, sizes, rowsRun('flood')), '']
      : [],
  );
  const latency = payloads.flatMap((payload) =>
    all.some((r) => r.spec.mode === 'paced' && r.spec.payload === payload) ? [`### ${payload}`, '', latencyTable(results, payload, info.latencySize, rowsRun('paced')), ''] : [],
  );
  const ran = (mode: Mode): boolean => all.some((r) => r.spec.mode === mode);
  const m = info.machine;
  const load = loadSentence(info, all);
  return [
    `# Fast Ferry benchmark${info.smoke ? ' (smoke: numbers are not meaningful)' : ''}`,
    '',
    `${info.startedAt.toISOString()}, ${info.seconds.toFixed(0)} s. Node ${m.node}, ${m.nproc} × ${m.cpuModel}, git ${m.git}, bufferutil ${m.bufferutil ? 'installed' : 'not installed'}.`,
    `${load} \`uptime\` at start: ${m.uptime}`,
    '',
    `${method(info, ran('flood'))} ` +
      `Each figure is the median over rounds, with its range (min–max) where there were several; each ratio is taken within a round and then given as the median of those ratios with their range. ` +
      `msgs/s counted at the receiver (handed to the application); MB/s = msgs/s × nominal size / 10^6; CPU µs/msg = the process's user + system CPU time over the window (process.cpuUsage) divided by the messages it sent (sender) or received (receiver); CPU % of one core; peak RSS = maxRSS of the process's life. ` +
      `Fast Ferry sender \`${info.ferryNodeOptions.sender}\`, receiver \`${info.ferryNodeOptions.receiver}\` (their images' NODE_OPTIONS); plain ws and raw TLS with V8's defaults.` +
      ferryConfigSentence(info.ferryConfig),
    '',
    '## Throughput',
    '',
    ...throughput,
    `## One-way latency, ${sizeLabel(info.latencySize)} at ${fmtInt(info.rate)} msgs/s`,
    '',
    ...(latency.length > 0 ? latency : ['Not run.', '']),
    `## Targets (issue 13 §3), ${targetsBasis(info, ran('flood'), ran('paced'))}`,
    '',
    `Measured on a shared machine. ${load}`,
    '',
    targets(results, info),
    '',
    ...(all.some((r) => r.status !== 'ok') ? ['## Cases that did not run', '', notes(all), ''] : []),
  ].join('\n');
}

/** What the targets are judged on, for the modes that ran. */
function targetsBasis(info: RunInfo, floods: boolean, latency: boolean): string {
  const rounds = (n: number): string => `${n} round${n === 1 ? '' : 's'}`;
  const parts = [
    ...(floods ? [`floods as medians over ${rounds(info.rounds)}`] : []),
    ...(latency ? [info.interleave === 'slices' ? `latency pooled over ${rounds(info.latencyRounds)}` : `latency as medians over ${rounds(info.latencyRounds)}`] : []),
  ];
  return parts.length > 0 ? parts.join(', ') : 'nothing ran';
}

/** How the cases ran, in a sentence or three (`floods`: whether any flood case was planned). */
function method(info: RunInfo, floods: boolean): string {
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  const loopback = 'Loopback, sender and receiver in separate processes.';
  if (info.interleave === 'cases') {
    return (
      `${plural(info.rounds, 'round')}, every case once per round in its own pair of processes, rows side by side (their order reversed every other round). ${loopback} ` +
      `${info.warmupMs} ms warm-up, ${info.windowMs} ms measured window per flood case, ${info.latencyWindowMs} ms per latency case` +
      `${info.latencyRounds === info.rounds ? '' : ` (latency cases in ${plural(info.latencyRounds, 'round')})`}.`
    );
  }
  const latencyCases =
    `Latency cases in slices${floods ? ' too' : ''}: each row's pair paced at ${fmtInt(info.rate)} msgs/s, ${plural(info.latencyRounds, 'round')} of one ${info.latencyWindowMs} ms window per row (${info.settleMs} ms settle before each, ${info.warmupMs} ms warm-up before a pair's first). ` +
    `Unlike the other figures, their p50 and p99 are taken over all rounds' samples together, and a ratio is pooled figure over pooled figure; the range beside each is the single windows' (and their ratios within a round). ${loopback}`;
  const pinning = info.pinned
    ? " In each window the pair's sender and receiver (their main threads) are pinned to CPUs 0 and 1, swapped every round, so that every row meets each vCPU alike."
    : ' The pairs are not pinned to CPUs.';
  if (!floods) return latencyCases + pinning;
  return (
    `Flood cases in slices (--interleave slices): for each payload and size, every row's pair of processes is started once and kept connected, and the rows flood in turns, ` +
    `${plural(info.rounds, 'round')} of one ${info.windowMs} ms measured window per row, one right after another (${info.settleMs} ms settle before each, while the pair before drains; ${info.warmupMs} ms warm-up before a pair's first window; the rows' order reversed every other round), ` +
    `so that a round's ratios compare windows ${((info.settleMs + info.windowMs) / 1000).toFixed(1)} s apart. A pair's peak RSS is its whole life's, every round's. ${latencyCases}${pinning}`
  );
}

/** Names every Fast Ferry setting the run changed, so its figures are not read as the defaults'. */
function ferryConfigSentence(config: Readonly<Record<string, string>>): string {
  const pairs = Object.entries(config);
  if (pairs.length === 0) return ' Fast Ferry with its default settings.';
  return ` **Fast Ferry settings changed from their defaults** (both peers, --ferry-config): ${pairs.map(([k, v]) => `\`${k}=${v}\``).join(', ')}.`;
}
