/**
 * `--trace-latency DIR` (paced cases): where each message's one-way latency went. Each peer
 * records on the host clock when a TLS socket was handed bytes to write and when one delivered
 * data, and its GC pauses; the receiver also records when each message reached the
 * application. `latency-split.ts` then splits every message's latency into sender (stamped →
 * the first socket write after that), transit (→ the receiver's first 'data' after the write)
 * and receiver (→ the application). How the paced tail was traced to the ACKs: see the README.
 *
 * Socket writes are seen by wrapping net.Socket's internal `_writeGeneric` (what `write` and
 * `writev` both end in on Node 20): a diagnostic tied to this Node line. Nothing here runs
 * without the option.
 */
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { hostClockMs } from './message.js';
import { roundsTag, type PeerArgs } from './protocol.js';

/** What one peer process recorded; all times in ms on the host clock (hostClockMs). */
export interface PeerTrace {
  role: PeerArgs['role'];
  /** When a TLS socket was handed bytes to write. */
  writes: number[];
  /** When a TLS socket emitted 'data'. */
  reads: number[];
  /** GC pauses: [start, duration]. */
  gcs: Array<[number, number]>;
  /** Receiver: [arrival at the application, one-way latency] per message. */
  arrivals: number[];
}

/** The file a case's peer writes its trace to: the sender's and receiver's pair up by name. */
export function traceFile(dir: string, args: Pick<PeerArgs, 'row' | 'payload' | 'size' | 'round' | 'role' | 'sliced'>): string {
  return join(dir, `${args.row}-${args.payload}-${args.size}-${roundsTag(args)}-${args.role}.trace.json`);
}

/** Starts recording in this process; the trace is written when the process exits. */
export function startLatencyTrace(args: PeerArgs, dir: string): PeerTrace {
  const trace: PeerTrace = { role: args.role, writes: [], reads: [], gcs: [], arrivals: [] };
  // performance.now() runs on the same monotonic clock, from another origin.
  const offset = hostClockMs() - performance.now();
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) trace.gcs.push([e.startTime + offset, e.duration]);
  }).observe({ entryTypes: ['gc'] });
  const proto = net.Socket.prototype as unknown as { _writeGeneric: (...a: unknown[]) => unknown; emit: (event: string | symbol, ...a: unknown[]) => boolean };
  const writeGeneric = proto._writeGeneric;
  proto._writeGeneric = function (this: { encrypted?: boolean }, ...a: unknown[]) {
    if (this.encrypted) trace.writes.push(hostClockMs());
    return writeGeneric.apply(this, a);
  };
  const emit = proto.emit;
  proto.emit = function (this: { encrypted?: boolean }, event: string | symbol, ...a: unknown[]) {
    if (event === 'data' && this.encrypted) trace.reads.push(hostClockMs());
    return emit.call(this, event, ...a);
  };
  process.on('exit', () => writeFileSync(traceFile(dir, args), JSON.stringify(trace)));
  return trace;
}
