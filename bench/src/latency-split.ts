/**
 * Splits each traced message's one-way latency (latency-trace.ts) into sender, transit and
 * receiver, for all messages and for the slowest 1 %, and counts how many of the slowest 1 %
 * overlap a GC pause in either process. `node bench/dist/latency-split.js DIR` reads what
 * `--trace-latency DIR` wrote; run.ts prints the same after a traced run.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { PeerTrace } from './latency-trace.js';
import { median } from './report.js';

interface Parts {
  sender: number;
  transit: number;
  receiver: number;
}

export interface LatencySplit {
  messages: number;
  /** How many count as the slowest 1 %. */
  slowest: number;
  /** The latency from which on a message counts among the slowest 1 % (ms). */
  p99: number;
  mean: Parts;
  slowestMean: Parts;
  slowestMedian: Parts;
  /** Of the slowest 1 %: how many overlap a GC pause of the sender (stamp → write) or receiver (write → application). */
  slowestInSenderGc: number;
  slowestInReceiverGc: number;
}

/** The first element ≥ t of a sorted array, or undefined. */
function firstAtOrAfter(sorted: readonly number[], t: number): number | undefined {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((sorted[mid] as number) < t) lo = mid + 1;
    else hi = mid;
  }
  return sorted[lo];
}

function overlapsGc(gcs: PeerTrace['gcs'], from: number, to: number): boolean {
  return gcs.some(([start, duration]) => start < to && start + duration > from);
}

function meanOf(parts: readonly Parts[]): Parts {
  const n = Math.max(1, parts.length);
  const sum = (key: keyof Parts): number => parts.reduce((s, p) => s + p[key], 0) / n;
  return { sender: sum('sender'), transit: sum('transit'), receiver: sum('receiver') };
}

function medianOf(parts: readonly Parts[]): Parts {
  const at = (key: keyof Parts): number => median(parts.map((p) => p[key])) ?? 0;
  return { sender: at('sender'), transit: at('transit'), receiver: at('receiver') };
}

/** One message, found again in both traces: when it was stamped, written and handed over. */
interface TracedMessage {
  latency: number;
  parts: Parts;
  stamped: number;
  written: number;
  arrived: number;
}

export function splitLatency(sender: PeerTrace, receiver: PeerTrace): LatencySplit {
  const traced: TracedMessage[] = [];
  for (let i = 0; i + 1 < receiver.arrivals.length; i += 2) {
    const arrived = receiver.arrivals[i] as number;
    const latency = receiver.arrivals[i + 1] as number;
    const stamped = arrived - latency;
    const written = firstAtOrAfter(sender.writes, stamped);
    const read = written === undefined ? undefined : firstAtOrAfter(receiver.reads, written);
    // A message whose write or read the trace missed (before it started) is left out.
    if (written === undefined || read === undefined || read > arrived) continue;
    traced.push({ latency, parts: { sender: written - stamped, transit: read - written, receiver: arrived - read }, stamped, written, arrived });
  }
  traced.sort((a, b) => a.latency - b.latency);
  const slowest = traced.slice(Math.floor(traced.length * 0.99));
  return {
    messages: traced.length,
    slowest: slowest.length,
    p99: slowest[0]?.latency ?? 0,
    mean: meanOf(traced.map((m) => m.parts)),
    slowestMean: meanOf(slowest.map((m) => m.parts)),
    slowestMedian: medianOf(slowest.map((m) => m.parts)),
    slowestInSenderGc: slowest.filter((m) => overlapsGc(sender.gcs, m.stamped, m.written)).length,
    slowestInReceiverGc: slowest.filter((m) => overlapsGc(receiver.gcs, m.written, m.arrived)).length,
  };
}

const ms = (n: number): string => n.toFixed(3);
const parts = (p: Parts): string => `sender ${ms(p.sender)} · transit ${ms(p.transit)} · receiver ${ms(p.receiver)}`;

/** One line per traced case found in `dir`. */
export function describeTraces(dir: string): string[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('-receiver.trace.json')).sort();
  const lines: string[] = [];
  for (const file of files) {
    const name = file.replace(/-receiver\.trace\.json$/, '');
    const read = (role: string): PeerTrace => JSON.parse(readFileSync(join(dir, `${name}-${role}.trace.json`), 'utf8')) as PeerTrace;
    let split: LatencySplit;
    try {
      split = splitLatency(read('sender'), read('receiver'));
    } catch (err) {
      lines.push(`${name}: no split (${(err as Error).message})`);
      continue;
    }
    lines.push(
      `${name}: ${split.messages} messages, p99 ${ms(split.p99)} ms; mean ${parts(split.mean)} ms; ` +
        `slowest 1 %: mean ${parts(split.slowestMean)} ms, median ${parts(split.slowestMedian)} ms; ` +
        `in a GC pause: sender ${split.slowestInSenderGc} / receiver ${split.slowestInReceiverGc} of ${split.slowest}`,
    );
  }
  return lines;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const dir = process.argv[2];
  if (!dir) {
    process.stderr.write('usage: node bench/dist/latency-split.js DIR (written by npm run bench -- --trace-latency DIR)\n');
    process.exit(2);
  }
  process.stdout.write(`${describeTraces(dir).join('\n')}\n`);
}
