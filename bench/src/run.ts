/**
 * `npm run bench` (and `npm run bench:smoke`): runs the cases, prints the Markdown report and
 * writes it (and the raw numbers as JSON) to bench/results/.
 *
 *   node bench/dist/run.js [--smoke] [--interleave slices|cases] [--rounds N] [--latency-rounds N]
 *                          [--payloads flat,structured,bytes] [--sizes 128,1024] [--rows ws,raw-tls]
 *                          [--window MS] [--settle MS] [--warmup MS] [--latency-window MS] [--rate N] [--no-pin]
 *                          [--no-latency] [--cpu-prof DIR] [--node-arg ARG]... [--peer-log DIR]
 *                          [--ferry-config KEY=VALUE]... [--trace-latency DIR]
 *
 * The cases run in slices by default (slices.ts): for each payload and size, every row's pair of
 * processes stays connected and the rows send in turns, one window each per round, so that Fast
 * Ferry and its references share each second of the machine's changing speed; the latency cases
 * likewise, their percentiles taken over all rounds' samples together. With --interleave cases
 * every case runs in its own pair of processes, round by round. Either way the order of the rows
 * is reversed every other round, and the report gives medians over rounds and per-round ratios.
 * In slices each window pins the pair's sender and receiver to CPUs 0 and 1, swapped every round
 * (slices.ts says why); --no-pin leaves them to the scheduler, as a machine with one CPU does.
 *
 * --sizes none runs only the latency cases. --cpu-prof writes a V8 CPU profile of every peer
 * process into DIR (summarize one with `node bench/dist/profile-summary.js FILE`); --node-arg
 * passes a flag to the peer processes (e.g. --trace-gc), --peer-log keeps their output.
 * --ferry-config changes a Fast Ferry setting in both Fast Ferry peers (the report says so).
 * --trace-latency splits each paced message's latency into sender, transit and receiver
 * (latency-trace.ts, latency-split.ts) and prints the split after the report.
 *
 * Exits non-zero only when a case failed to run; timings are never judged here.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { NODE_OPTIONS, nodeArgs } from '@fast-ferry/tools/dist/node-options.js';
import { ensurePki } from '@fast-ferry/tools/dist/pki.js';
import { notRun, Pair, type PairOptions } from './pair.js';
import { loadAverage, machineInfo } from './machine.js';
import { parseFerryConfig } from './ferry-config.js';
import { describeTraces } from './latency-split.js';
import { BYTES_MIN_SIZE } from './message.js';
import { carries, PAYLOADS, payloadsOf, ROWS, type CaseSpec, type PayloadKind, type Row } from './protocol.js';
import { report, type CaseResult } from './report.js';
import { runInSlices } from './slices.js';

const LATENCY_ROWS: Row[] = ['ferry-tunnel', 'ferry-tls', 'ws'];
/** The latency rows send JSON (bytes have no latency target); the smoke runs the structured one only. */
const LATENCY_PAYLOADS: PayloadKind[] = ['flat', 'structured'];
const LATENCY_SIZE = 1024;
const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

interface Options {
  smoke: boolean;
  /** How the cases share the machine: `slices` (slices.ts) or `cases`, each in its own processes. */
  interleave: 'slices' | 'cases';
  /** Rounds of the flood cases (slices or cases). */
  rounds: number;
  /** Rounds of the paced (latency) cases. */
  latencyRounds: number;
  payloads: PayloadKind[];
  latencyPayloads: PayloadKind[];
  warmupMs: number;
  settleMs: number;
  /** Slices only: pin each pair's two main threads to CPUs 0 and 1 in its windows (slices.ts). */
  pin: boolean;
  /** The measured window of a flood case (or slice). */
  windowMs: number;
  /** The measured window of a paced (latency) case. */
  latencyWindowMs: number;
  sizes: number[];
  rows: Row[];
  rate: number;
  latency: boolean;
  peerExecArgv: string[];
  peerLogDir: string | undefined;
  ferryConfig: Record<string, string>;
  traceDir: string | undefined;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      smoke: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      payloads: { type: 'string' },
      window: { type: 'string' },
      warmup: { type: 'string' },
      sizes: { type: 'string' },
      rows: { type: 'string' },
      rate: { type: 'string' },
      'no-latency': { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
      'node-arg': { type: 'string', multiple: true },
      'peer-log': { type: 'string' },
      'ferry-config': { type: 'string', multiple: true },
      'trace-latency': { type: 'string' },
      interleave: { type: 'string' },
      settle: { type: 'string' },
      'latency-rounds': { type: 'string' },
      'latency-window': { type: 'string' },
      'no-pin': { type: 'boolean', default: false },
    },
  });
  const smoke = values.smoke ?? false;
  const rows = (values.rows?.split(',') ?? [...ROWS]) as Row[];
  for (const row of rows) if (!ROWS.includes(row)) throw new TypeError(`--rows: unknown row '${row}' (known: ${ROWS.join(', ')})`);
  const payloads = (values.payloads?.split(',') ?? [...PAYLOADS]) as PayloadKind[];
  for (const p of payloads) if (!PAYLOADS.includes(p)) throw new TypeError(`--payloads: unknown payload '${p}' (known: ${PAYLOADS.join(', ')})`);
  for (const row of rows) {
    if (!payloads.some((p) => carries(row, p))) throw new TypeError(`--rows: ${row} carries ${payloadsOf(row).join(' and ')} only; add one to --payloads (or leave the row out)`);
  }
  const interleave = values.interleave ?? 'slices';
  if (interleave !== 'slices' && interleave !== 'cases') throw new TypeError(`--interleave: expected 'slices' or 'cases', got '${interleave}'`);
  const rounds = wholeNumber('--rounds', values.rounds ?? (smoke ? '1' : interleave === 'slices' ? '10' : '3'));
  if (interleave === 'cases' && values.settle !== undefined) throw new TypeError('--settle: only slices settle between windows; drop it, or leave out --interleave cases');
  if (interleave === 'cases' && values['no-pin'] === true) throw new TypeError('--no-pin: only slices pin their pairs to CPUs; drop it, or leave out --interleave cases');
  // With --interleave cases the latency cases run in the flood rounds, as they always did, unless
  // --latency-rounds says otherwise. In slices, 15 windows of 1 s: 75,000 samples a row at 5,000/s.
  const latencyRounds =
    values['latency-rounds'] === undefined && interleave === 'cases' ? rounds : wholeNumber('--latency-rounds', values['latency-rounds'] ?? (smoke ? '1' : '15'));
  const sizes = (values.sizes ?? (smoke ? '1024' : '128,1024,16384')).split(',').map(Number).filter((n) => n > 0);
  const tooSmall = payloads.includes('bytes') ? sizes.filter((n) => n < BYTES_MIN_SIZE) : [];
  if (tooSmall.length > 0) throw new TypeError(`--sizes: bytes payloads carry seq and sentAt in ${BYTES_MIN_SIZE} bytes; ${tooSmall.join(', ')} is too small (or leave bytes out of --payloads)`);
  return {
    smoke,
    interleave,
    rounds,
    latencyRounds,
    payloads,
    latencyPayloads: LATENCY_PAYLOADS.filter((p) => payloads.includes(p) && (!smoke || p === 'structured')),
    warmupMs: milliseconds('--warmup', values.warmup ?? (smoke ? '300' : '1000')),
    settleMs: milliseconds('--settle', values.settle ?? '300'),
    // Pinning two peers apart needs two CPUs; with one, the report says they were not pinned.
    pin: interleave === 'slices' && !(values['no-pin'] ?? false) && availableParallelism() >= 2,
    windowMs: milliseconds('--window', values.window ?? (smoke ? '700' : interleave === 'slices' ? '1000' : '5000'), 'positive'),
    // A case's p99 wants many samples: 5 s at 5,000 msgs/s is 25,000. In slices the p99 is taken
    // over all rounds' windows together, so a window can be as short as a flood's.
    latencyWindowMs: milliseconds('--latency-window', values['latency-window'] ?? (smoke ? '700' : interleave === 'slices' ? '1000' : '5000'), 'positive'),
    sizes,
    rows,
    rate: Number(values.rate ?? 5000),
    latency: !(values['no-latency'] ?? false),
    peerExecArgv: [...(values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`] : []), ...(values['node-arg'] ?? [])],
    peerLogDir: values['peer-log'],
    ferryConfig: parseFerryConfig(values['ferry-config'] ?? []),
    traceDir: values['trace-latency'] === undefined ? undefined : freshTraceDir(resolve(values['trace-latency'])),
  };
}

/** A duration option; a measured window must be longer than 0, a warm-up or settle may be 0. */
function milliseconds(flag: string, value: string, min: 'zero' | 'positive' = 'zero'): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || (min === 'positive' && n === 0)) throw new TypeError(`${flag}: expected milliseconds ${min === 'positive' ? '> 0' : '≥ 0'}, got '${value}'`);
  return n;
}

function wholeNumber(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new TypeError(`${flag}: expected a whole number ≥ 1, got '${value}'`);
  return n;
}

/** A trace directory without an earlier run's traces, which the split after the run would list too. */
function freshTraceDir(dir: string): string {
  if (existsSync(dir) && readdirSync(dir).some((f) => f.endsWith('.trace.json'))) {
    throw new TypeError(`--trace-latency ${dir}: it holds traces of an earlier run; give a new or empty directory (or split those with node bench/dist/latency-split.js ${dir})`);
  }
  return dir;
}

function pairOptions(opts: Options): Omit<PairOptions, 'sliced'> {
  return {
    peerExecArgv: opts.peerExecArgv,
    peerLogDir: opts.peerLogDir,
    ferryConfig: opts.ferryConfig,
    traceDir: opts.traceDir,
    // Fast Ferry's runtimes run with their image's Node options; --node-arg comes after, so it wins.
    ferryNodeArgs: { sender: nodeArgs('initiator'), receiver: nodeArgs('terminator') },
  };
}

/** One case in its own pair of processes: warm-up, one window, stop. */
async function runCase(spec: CaseSpec, opts: Options): Promise<CaseResult> {
  let pair: Pair | undefined;
  try {
    pair = await Pair.start(spec, { ...pairOptions(opts), sliced: false });
    await sleep(opts.warmupMs);
    return { spec, status: 'ok', ...(await pair.measure(spec.mode === 'paced' ? opts.latencyWindowMs : opts.windowMs)) };
  } catch (err) {
    return notRun(spec, err);
  } finally {
    await pair?.stop();
  }
}

async function main(): Promise<void> {
  const opts = options();
  const startedAt = new Date();
  const machine = machineInfo();
  const loadStart = loadAverage();
  let loadMax1m = loadavg()[0] ?? 0;
  const pkiDir = mkdtempSync(join(tmpdir(), 'ferry-bench-pki-'));
  for (const dir of [opts.traceDir, opts.peerLogDir]) if (dir !== undefined) mkdirSync(dir, { recursive: true });
  const results: CaseResult[] = [];
  try {
    ensurePki(pkiDir);
    const done = (result: CaseResult): void => {
      results.push(result);
      loadMax1m = Math.max(loadMax1m, loadavg()[0] ?? 0);
      process.stderr.write(`${summary(result)}\n`);
    };
    const floodSlices = { rounds: opts.rounds, warmupMs: opts.warmupMs, settleMs: opts.settleMs, windowMs: opts.windowMs, pin: opts.pin, pair: pairOptions(opts) };
    const latencySlices = { ...floodSlices, rounds: opts.latencyRounds, windowMs: opts.latencyWindowMs };
    // One core carries bytes or does not: after the first Fast Ferry bytes case says it
    // does not, the others are skipped without starting processes.
    let ferryBytesUnsupported: string | undefined;
    for (const step of plan(opts, pkiDir)) {
      const reason = ferryBytesUnsupported;
      if (reason !== undefined) {
        for (const spec of step.specs.filter(isFerryBytes)) {
          // Only flood steps carry bytes, so a sliced one runs opts.rounds rounds.
          for (const round of step.sliced ? roundsOf(opts.rounds) : [spec.round]) done({ spec: { ...spec, round }, status: 'unsupported', reason });
        }
      }
      const toRun = reason === undefined ? step.specs : step.specs.filter((spec) => !isFerryBytes(spec));
      if (toRun.length === 0) continue;
      const sliceOptions = step.specs[0]?.mode === 'paced' ? latencySlices : floodSlices;
      const stepResults = step.sliced ? await runInSlices(toRun, sliceOptions, done) : [await runCase(toRun[0] as CaseSpec, opts)];
      if (!step.sliced) stepResults.forEach(done);
      const unsupported = stepResults.find((r) => r.status === 'unsupported' && isFerryBytes(r.spec));
      if (unsupported) ferryBytesUnsupported = unsupported.reason ?? 'unsupported';
    }
  } finally {
    rmSync(pkiDir, { recursive: true, force: true });
  }
  const seconds = (Date.now() - startedAt.getTime()) / 1000;
  const ferryNodeOptions = { sender: NODE_OPTIONS.initiator, receiver: NODE_OPTIONS.terminator };
  const info = {
    machine,
    startedAt,
    seconds,
    interleave: opts.interleave,
    rounds: opts.rounds,
    latencyRounds: opts.latencyRounds,
    warmupMs: opts.warmupMs,
    settleMs: opts.settleMs,
    pinned: opts.pin,
    windowMs: opts.windowMs,
    latencyWindowMs: opts.latencyWindowMs,
    rate: opts.rate,
    latencySize: LATENCY_SIZE,
    loadStart,
    loadEnd: loadAverage(),
    loadMax1m,
    smoke: opts.smoke,
    ferryNodeOptions,
    ferryConfig: opts.ferryConfig,
  };
  const text = report(info, results, opts.payloads, opts.sizes);
  process.stdout.write(`${text}\n`);
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const base = join(RESULTS_DIR, `${opts.smoke ? 'smoke' : 'bench'}-${stamp}`);
  writeFileSync(`${base}.md`, text);
  writeFileSync(`${base}.json`, `${JSON.stringify({ info, results: results.map(({ spec: { pkiDir: _, ...spec }, ...rest }) => ({ spec, ...rest })) }, null, 2)}\n`);
  process.stderr.write(`written: ${base}.md\n`);
  if (opts.traceDir !== undefined) process.stderr.write(`\nlatency split (ms; --trace-latency ${opts.traceDir}):\n${describeTraces(opts.traceDir).join('\n')}\n`);
  const failed = results.filter((r) => r.status === 'failed');
  if (failed.length > 0) {
    process.stderr.write(`${failed.length} case(s) failed to run\n`);
    process.exitCode = 1;
  }
}

function isFerryBytes(spec: CaseSpec): boolean {
  return spec.payload === 'bytes' && spec.row.startsWith('ferry-');
}

/** 1, 2, …, n. */
function roundsOf(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}

/**
 * What runs, in order: one case in its own processes, or (`sliced`) one payload and size with
 * all its rows, measured in turns over every round (slices.ts; the specs' `round` is set there).
 */
type Step = { sliced: false; specs: [CaseSpec] } | { sliced: true; specs: CaseSpec[] };

/**
 * In slices: the flood cases, payload by payload and size by size with all rows side by side,
 * then the latency cases, payload by payload, likewise. With --interleave cases, round by round:
 * each flood case in its own processes, then each latency case. Every other round reverses the
 * rows, so no row always runs right after the same neighbour.
 */
function plan(opts: Options, pkiDir: string): Step[] {
  const steps: Step[] = [];
  const latencyRows = opts.latency ? LATENCY_ROWS.filter((r) => opts.rows.includes(r)) : [];
  const floods = (round: number, rows: Row[]): CaseSpec[][] =>
    opts.payloads.flatMap((payload) => {
      const payloadRows = rows.filter((row) => carries(row, payload));
      return opts.sizes.map((size) => payloadRows.map((row): CaseSpec => ({ row, payload, size, round, mode: 'flood', rate: 0, pkiDir })));
    });
  const paced = (round: number, payload: PayloadKind, rows: Row[]): CaseSpec[] =>
    rows.map((row) => ({ row, payload, size: LATENCY_SIZE, round, mode: 'paced', rate: opts.rate, pkiDir }));
  if (opts.interleave === 'slices') {
    for (const specs of floods(1, opts.rows)) steps.push({ sliced: true, specs });
    if (latencyRows.length > 0) for (const payload of opts.latencyPayloads) steps.push({ sliced: true, specs: paced(1, payload, latencyRows) });
    return steps;
  }
  for (let round = 1; round <= Math.max(opts.rounds, opts.latencyRounds); round++) {
    const reversed = round % 2 === 0;
    if (round <= opts.rounds) {
      for (const specs of floods(round, reversed ? [...opts.rows].reverse() : opts.rows)) for (const spec of specs) steps.push({ sliced: false, specs: [spec] });
    }
    if (round > opts.latencyRounds) continue;
    for (const payload of opts.latencyPayloads) {
      for (const spec of paced(round, payload, reversed ? [...latencyRows].reverse() : latencyRows)) steps.push({ sliced: false, specs: [spec] });
    }
  }
  return steps;
}

function summary(r: CaseResult): string {
  const name = `round ${r.spec.round}: ${r.spec.row} ${r.spec.payload} ${r.spec.size} B ${r.spec.mode}`;
  if (r.status !== 'ok') return `  ${name}: ${r.status === 'unsupported' ? 'skipped' : r.status} — ${r.reason ?? ''}`;
  const rate = ((r.receiver?.messages ?? 0) / (r.receiver?.elapsedMs ?? 1)) * 1000;
  const lat = r.receiver?.latency;
  const cpu = (s: CaseResult['sender']): string => (s && s.messages > 0 ? (s.cpuMicros / s.messages).toFixed(2) : '–');
  return (
    `  ${name}: ${Math.round(rate).toLocaleString('en-US')} msgs/s, CPU µs/msg sender ${cpu(r.sender)} receiver ${cpu(r.receiver)}` +
    `${lat ? `, p50 ${lat.p50.toFixed(3)} ms p99 ${lat.p99.toFixed(3)} ms` : ''}`
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
