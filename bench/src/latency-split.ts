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

interface Parts {
  sender: number;
  transit: number;
  receiver: number;
}

export interface LatencySplit {
  messages: number;
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

function meanOf(rows: Array<[number, Parts]>): Parts {
  const n = Math.max(1, rows.length);
  return {
    sender: rows.reduce((s, [, p]) => s + p.sender, 0) / n,
    transit: rows.reduce((s, [, p]) => s + p.transit, 0) / n,
    receiver: rows.reduce((s, [, p]) => s + p.receiver, 0) / n,
  };
}

function medianOf(rows: Array<[number, Parts]>): Parts {
  const at = (key: keyof Parts): number => {
    const values = rows.map(([, p]) => p[key]).sort((a, b) => a - b);
    return values[Math.floor((values.length - 1) / 2)] ?? 0;
  };
  return { sender: at('sender'), transit: at('transit'), receiver: at('receiver') };
}

export function splitLatency(sender: PeerTrace, receiver: PeerTrace): LatencySplit {
  const rows: Array<[number, Parts, number, number, number]> = [];
  for (let i = 0; i + 1 < receiver.arrivals.length; i += 2) {
    const arrived = receiver.arrivals[i] as number;
    const latency = receiver.arrivals[i + 1] as number;
    const stamped = arrived - latency;
    const written = firstAtOrAfter(sender.writes, stamped);
    const read = written === undefined ? undefined : firstAtOrAfter(receiver.reads, written);
    // A message whose write or read the trace missed (before it started) is left out.
    if (written === undefined || read === undefined || read > arrived) continue;
    rows.push([latency, { sender: written - stamped, transit: read - written, receiver: arrived - read }, stamped, written, arrived]);
  }
  rows.sort((a, b) => a[0] - b[0]);
  const slowest = rows.slice(Math.floor(rows.length * 0.99));
  return {
    messages: rows.length,
    p99: slowest[0]?.[0] ?? 0,
    mean: meanOf(rows.map(([l, p]) => [l, p])),
    slowestMean: meanOf(slowest.map(([l, p]) => [l, p])),
    slowestMedian: medianOf(slowest.map(([l, p]) => [l, p])),
    slowestInSenderGc: slowest.filter(([, , stamped, written]) => overlapsGc(sender.gcs, stamped, written)).length,
    slowestInReceiverGc: slowest.filter(([, , , written, arrived]) => overlapsGc(receiver.gcs, written, arrived)).length,
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
    const n = Math.max(1, Math.ceil(split.messages * 0.01));
    lines.push(
      `${name}: ${split.messages} messages, p99 ${ms(split.p99)} ms; mean ${parts(split.mean)} ms; ` +
        `slowest 1 %: mean ${parts(split.slowestMean)} ms, median ${parts(split.slowestMedian)} ms; ` +
        `in a GC pause: sender ${split.slowestInSenderGc} / receiver ${split.slowestInReceiverGc} of ${n}`,
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
