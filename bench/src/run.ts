/**
 * `npm run bench` (and `npm run bench:smoke`): runs every case in its own pair of processes,
 * prints the Markdown report and writes it (and the raw numbers as JSON) to bench/results/.
 *
 *   node bench/dist/run.js [--smoke] [--rounds N] [--payloads flat,structured,bytes] [--sizes 128,1024]
 *                          [--rows ws,raw-tls] [--window MS] [--warmup MS] [--rate N] [--no-latency]
 *                          [--cpu-prof DIR] [--node-arg ARG]... [--peer-log DIR] [--ferry-config KEY=VALUE]...
 *                          [--trace-latency DIR]
 *
 * Every round runs every case once, rows side by side (the order of the rows reversed every
 * other round), so Fast Ferry and its references share each stretch of the machine's load;
 * the report gives medians over rounds and per-round ratios.
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
import { parseArgs } from 'node:util';
import { NODE_OPTIONS, nodeArgs } from '@fast-ferry/tools/dist/node-options.js';
import { ensurePki } from '@fast-ferry/tools/dist/pki.js';
import { Peer } from './child.js';
import { busyPercent, cpuTicks, loadAverage, machineInfo } from './machine.js';
import { parseFerryConfig } from './ferry-config.js';
import { describeTraces } from './latency-split.js';
import { BYTES_MIN_SIZE } from './message.js';
import { carries, PAYLOADS, payloadsOf, ROWS, type CaseSpec, type PayloadKind, type Row } from './protocol.js';
import { report, type CaseResult } from './report.js';

const LATENCY_ROWS: Row[] = ['ferry-tunnel', 'ferry-tls', 'ws'];
/** The latency rows send JSON (bytes have no latency target); the smoke runs the structured one only. */
const LATENCY_PAYLOADS: PayloadKind[] = ['flat', 'structured'];
const LATENCY_SIZE = 1024;
const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

interface Options {
  smoke: boolean;
  rounds: number;
  payloads: PayloadKind[];
  latencyPayloads: PayloadKind[];
  warmupMs: number;
  windowMs: number;
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
  const rounds = Number(values.rounds ?? (smoke ? 1 : 3));
  if (!Number.isInteger(rounds) || rounds < 1) throw new TypeError(`--rounds: expected a whole number ≥ 1, got '${values.rounds}'`);
  const sizes = (values.sizes ?? (smoke ? '1024' : '128,1024,16384')).split(',').map(Number).filter((n) => n > 0);
  const tooSmall = payloads.includes('bytes') ? sizes.filter((n) => n < BYTES_MIN_SIZE) : [];
  if (tooSmall.length > 0) throw new TypeError(`--sizes: bytes payloads carry seq and sentAt in ${BYTES_MIN_SIZE} bytes; ${tooSmall.join(', ')} is too small (or leave bytes out of --payloads)`);
  return {
    smoke,
    rounds,
    payloads,
    latencyPayloads: LATENCY_PAYLOADS.filter((p) => payloads.includes(p) && (!smoke || p === 'structured')),
    warmupMs: Number(values.warmup ?? (smoke ? 300 : 1000)),
    windowMs: Number(values.window ?? (smoke ? 700 : 5000)),
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

/** A trace directory without an earlier run's traces, which the split after the run would list too. */
function freshTraceDir(dir: string): string {
  if (existsSync(dir) && readdirSync(dir).some((f) => f.endsWith('.trace.json'))) {
    throw new TypeError(`--trace-latency ${dir}: it holds traces of an earlier run; give a new or empty directory (or split those with node bench/dist/latency-split.js ${dir})`);
  }
  return dir;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A case that cannot run on this build: reported as skipped, and the run does not fail. */
class Unsupported extends Error {}

async function expect<T extends string>(peer: Peer, type: T, timeoutMs: number) {
  const msg = await peer.next(timeoutMs);
  if (msg.type === type) return msg;
  if (msg.type === 'error') throw new Error(msg.message.split('\n')[0]);
  if (msg.type === 'unsupported') throw new Unsupported(msg.reason);
  throw new Error(`expected '${type}', got '${msg.type}'`);
}

async function runCase(spec: CaseSpec, opts: Options): Promise<CaseResult> {
  // Fast Ferry's runtimes run with their image's Node options; --node-arg comes after, so it wins.
  const ferry = spec.row.startsWith('ferry-');
  const receiverArgs = [...(ferry ? nodeArgs('terminator') : []), ...opts.peerExecArgv];
  const senderArgs = [...(ferry ? nodeArgs('initiator') : []), ...opts.peerExecArgv];
  const traced = opts.traceDir !== undefined ? { traceDir: opts.traceDir } : {};
  const receiver = new Peer({ ...spec, role: 'receiver', port: 0, ferryConfig: opts.ferryConfig, ...traced }, receiverArgs, opts.peerLogDir);
  let sender: Peer | undefined;
  try {
    const ready = await expect(receiver, 'ready', 20_000);
    sender = new Peer({ ...spec, role: 'sender', port: (ready as { port: number }).port, ferryConfig: opts.ferryConfig, ...traced }, senderArgs, opts.peerLogDir);
    await expect(sender, 'ready', 20_000);
    // The sender wrote a probe Buffer first; its receiver says whether it arrived as bytes.
    if (spec.payload === 'bytes' && ferry) await expect(receiver, 'probed', 10_000);
    await sleep(opts.warmupMs);
    const before = cpuTicks();
    receiver.send({ type: 'mark' });
    sender.send({ type: 'mark' });
    await sleep(opts.windowMs);
    receiver.send({ type: 'mark' });
    sender.send({ type: 'mark' });
    const after = cpuTicks();
    const r = (await expect(receiver, 'stats', 20_000)) as { stats: CaseResult['receiver'] };
    const s = (await expect(sender, 'stats', 20_000)) as { stats: CaseResult['sender'] };
    const busy = busyPercent(before, after, availableParallelism());
    const ours = (r.stats?.cpuPercent ?? 0) + (s.stats?.cpuPercent ?? 0);
    return {
      spec,
      status: 'ok',
      ...(r.stats ? { receiver: r.stats } : {}),
      ...(s.stats ? { sender: s.stats } : {}),
      ...(busy !== undefined ? { foreignCpu: Math.max(0, busy - ours) } : {}),
    };
  } catch (err) {
    if (err instanceof Unsupported) return { spec, status: 'unsupported', reason: err.message };
    return { spec, status: 'failed', reason: (err as Error).message };
  } finally {
    await Promise.all([sender?.stop(), receiver.stop()]);
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
    // One core carries bytes or does not: after the first Fast Ferry bytes case says it
    // does not, the others are skipped without starting processes.
    let ferryBytesUnsupported: string | undefined;
    for (const spec of plan(opts, pkiDir)) {
      const skip = spec.payload === 'bytes' && spec.row.startsWith('ferry-') ? ferryBytesUnsupported : undefined;
      const result: CaseResult = skip !== undefined ? { spec, status: 'unsupported', reason: skip } : await runCase(spec, opts);
      if (result.status === 'unsupported' && spec.payload === 'bytes' && spec.row.startsWith('ferry-')) ferryBytesUnsupported = result.reason ?? 'unsupported';
      results.push(result);
      loadMax1m = Math.max(loadMax1m, loadavg()[0] ?? 0);
      process.stderr.write(`${summary(result, opts.rounds)}\n`);
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
    rounds: opts.rounds,
    warmupMs: opts.warmupMs,
    windowMs: opts.windowMs,
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

/**
 * The cases in the order they run: round by round, each round every flood case (payload by
 * payload, size by size, all rows side by side) and then the latency cases. Every other round
 * reverses the rows, so no row always runs right after the same neighbour.
 */
function plan(opts: Options, pkiDir: string): CaseSpec[] {
  const cases: CaseSpec[] = [];
  const latencyRows = opts.latency ? LATENCY_ROWS.filter((r) => opts.rows.includes(r)) : [];
  for (let round = 1; round <= opts.rounds; round++) {
    const rows = round % 2 === 0 ? [...opts.rows].reverse() : opts.rows;
    const paced = round % 2 === 0 ? [...latencyRows].reverse() : latencyRows;
    for (const payload of opts.payloads) {
      const payloadRows = rows.filter((row) => carries(row, payload));
      for (const size of opts.sizes) for (const row of payloadRows) cases.push({ row, payload, size, round, mode: 'flood', rate: 0, pkiDir });
    }
    for (const payload of opts.latencyPayloads) {
      for (const row of paced) cases.push({ row, payload, size: LATENCY_SIZE, round, mode: 'paced', rate: opts.rate, pkiDir });
    }
  }
  return cases;
}

function summary(r: CaseResult, rounds: number): string {
  const name = `${rounds > 1 ? `round ${r.spec.round}: ` : ''}${r.spec.row} ${r.spec.payload} ${r.spec.size} B ${r.spec.mode}`;
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
