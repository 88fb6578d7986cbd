/**
 * `npm run bench` (and `npm run bench:smoke`): runs every case in its own pair of processes,
 * prints the Markdown report and writes it (and the raw numbers as JSON) to bench/results/.
 *
 *   node bench/dist/run.js [--smoke] [--window MS] [--warmup MS] [--sizes 128,1024] [--rows ws,raw-tls]
 *                          [--rate N] [--no-latency] [--cpu-prof DIR] [--node-arg ARG]... [--peer-log DIR]
 *
 * --sizes none runs only the latency cases. --cpu-prof writes a V8 CPU profile of every peer
 * process into DIR (summarize one with `node bench/dist/profile-summary.js FILE`); --node-arg
 * passes a flag to the peer processes (e.g. --trace-gc), --peer-log keeps their output.
 *
 * Exits non-zero only when a case failed to run; timings are never judged here.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { NODE_OPTIONS, nodeArgs } from '@fast-ferry/tools/dist/node-options.js';
import { ensurePki } from '@fast-ferry/tools/dist/pki.js';
import { Peer } from './child.js';
import { busyPercent, cpuTicks, loadAverage, machineInfo } from './machine.js';
import { ROWS, type CaseSpec, type Row } from './protocol.js';
import { report, type CaseResult } from './report.js';

const LATENCY_ROWS: Row[] = ['ferry-tunnel', 'ferry-tls', 'ws'];
const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

interface Options {
  smoke: boolean;
  warmupMs: number;
  windowMs: number;
  sizes: number[];
  rows: Row[];
  rate: number;
  latency: boolean;
  peerExecArgv: string[];
  peerLogDir: string | undefined;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      smoke: { type: 'boolean', default: false },
      window: { type: 'string' },
      warmup: { type: 'string' },
      sizes: { type: 'string' },
      rows: { type: 'string' },
      rate: { type: 'string' },
      'no-latency': { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
      'node-arg': { type: 'string', multiple: true },
      'peer-log': { type: 'string' },
    },
  });
  const smoke = values.smoke ?? false;
  const rows = (values.rows?.split(',') ?? [...ROWS]) as Row[];
  for (const row of rows) if (!ROWS.includes(row)) throw new TypeError(`--rows: unknown row '${row}' (known: ${ROWS.join(', ')})`);
  return {
    smoke,
    warmupMs: Number(values.warmup ?? (smoke ? 300 : 1000)),
    windowMs: Number(values.window ?? (smoke ? 700 : 8000)),
    sizes: (values.sizes ?? (smoke ? '1024' : '128,1024,16384')).split(',').map(Number).filter((n) => n > 0),
    rows,
    rate: Number(values.rate ?? 5000),
    latency: !(values['no-latency'] ?? false),
    peerExecArgv: [...(values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`] : []), ...(values['node-arg'] ?? [])],
    peerLogDir: values['peer-log'],
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function expect<T extends string>(peer: Peer, type: T, timeoutMs: number) {
  const msg = await peer.next(timeoutMs);
  if (msg.type === type) return msg;
  if (msg.type === 'error') throw new Error(msg.message.split('\n')[0]);
  throw new Error(`expected '${type}', got '${msg.type}'`);
}

async function runCase(spec: CaseSpec, opts: Options): Promise<CaseResult> {
  // Fast Ferry's runtimes run with their image's Node options; --node-arg comes after, so it wins.
  const ferry = spec.row.startsWith('ferry-');
  const receiverArgs = [...(ferry ? nodeArgs('terminator') : []), ...opts.peerExecArgv];
  const senderArgs = [...(ferry ? nodeArgs('initiator') : []), ...opts.peerExecArgv];
  const receiver = new Peer({ ...spec, role: 'receiver', port: 0 }, receiverArgs, opts.peerLogDir);
  let sender: Peer | undefined;
  try {
    const ready = await expect(receiver, 'ready', 20_000);
    sender = new Peer({ ...spec, role: 'sender', port: (ready as { port: number }).port }, senderArgs, opts.peerLogDir);
    await expect(sender, 'ready', 20_000);
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
  const results: CaseResult[] = [];
  try {
    ensurePki(pkiDir);
    const cases: CaseSpec[] = [];
    for (const size of opts.sizes) for (const row of opts.rows) cases.push({ row, size, mode: 'flood', rate: 0, pkiDir });
    for (const row of opts.latency ? LATENCY_ROWS.filter((r) => opts.rows.includes(r)) : []) cases.push({ row, size: 1024, mode: 'paced', rate: opts.rate, pkiDir });
    for (const spec of cases) {
      const result = await runCase(spec, opts);
      results.push(result);
      loadMax1m = Math.max(loadMax1m, loadavg()[0] ?? 0);
      process.stderr.write(`${summary(result)}\n`);
    }
  } finally {
    rmSync(pkiDir, { recursive: true, force: true });
  }
  const seconds = (Date.now() - startedAt.getTime()) / 1000;
  const ferryNodeOptions = { sender: NODE_OPTIONS.initiator, receiver: NODE_OPTIONS.terminator };
  const info = { machine, startedAt, seconds, warmupMs: opts.warmupMs, windowMs: opts.windowMs, rate: opts.rate, loadStart, loadEnd: loadAverage(), loadMax1m, smoke: opts.smoke, ferryNodeOptions };
  const text = report(info, results, opts.sizes);
  process.stdout.write(`${text}\n`);
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const base = join(RESULTS_DIR, `${opts.smoke ? 'smoke' : 'bench'}-${stamp}`);
  writeFileSync(`${base}.md`, text);
  writeFileSync(`${base}.json`, `${JSON.stringify({ info, results: results.map(({ spec: { pkiDir: _, ...spec }, ...rest }) => ({ spec, ...rest })) }, null, 2)}\n`);
  process.stderr.write(`written: ${base}.md\n`);
  const failed = results.filter((r) => r.status === 'failed');
  if (failed.length > 0) {
    process.stderr.write(`${failed.length} case(s) failed to run\n`);
    process.exitCode = 1;
  }
}

function summary(r: CaseResult): string {
  const name = `${r.spec.row} ${r.spec.size} B ${r.spec.mode}`;
  if (r.status !== 'ok') return `  ${name}: ${r.status} — ${r.reason ?? ''}`;
  const rate = ((r.receiver?.messages ?? 0) / (r.receiver?.elapsedMs ?? 1)) * 1000;
  const lat = r.receiver?.latency;
  return `  ${name}: ${Math.round(rate).toLocaleString('en-US')} msgs/s${lat ? `, p50 ${lat.p50.toFixed(3)} ms p99 ${lat.p99.toFixed(3)} ms` : ''}`;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
