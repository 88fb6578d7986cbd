/**
 * One side of one benchmark pair, in its own process (forked by pair.ts). The receiver listens
 * and reports its port; the sender connects and starts sending at once (the warm-up) or, in a
 * slice run (`sliced`), when the orchestrator says `resume`. The orchestrator then sends `mark`s
 * in twos: between the two each process measures its CPU time and, on the receiver, the
 * messages that arrived (and their one-way latency in paced mode). A slice run pauses and
 * resumes the sender between windows, a flood or a paced one.
 */
import { setImmediate as setImmediatePromise } from 'node:timers/promises';
import { startLatencyTrace } from './latency-trace.js';
import { Sink, payloadSource, hostClockMs, type Payload } from './message.js';
import type { ChildMessage, ParentMessage, PeerArgs, PeerStats, Row } from './protocol.js';
import { type SenderConnection, type Transport } from './transports/types.js';

/** Loaded lazily: a process loads only its own row's code, so RSS is not inflated by the others. */
async function transportFor(row: Row): Promise<Transport> {
  switch (row) {
    case 'ferry-tunnel':
    case 'ferry-tls':
      return (await import('./transports/ferry.js')).ferry;
    case 'ws':
      return (await import('./transports/ws.js')).ws;
    case 'raw-tls':
      return (await import('./transports/raw-tls.js')).rawTls;
    case 'raw-tls-sealed':
      return (await import('./transports/raw-tls-sealed.js')).rawTlsSealed;
  }
}
/** Room for 5 minutes of paced samples; flood mode records none. */
const LATENCY_CAPACITY = 2_000_000;

function tell(message: ChildMessage): void {
  process.send?.(message);
}

class Window {
  #startedAt = 0;
  #cpu: NodeJS.CpuUsage = process.cpuUsage();
  #base = 0;
  #open = false;

  /** A mark opens a window; the next one closes it and returns what happened inside it. */
  mark(count: () => number, sink: Sink | undefined): PeerStats | undefined {
    this.#open = !this.#open;
    if (this.#open) {
      this.#startedAt = performance.now();
      this.#cpu = process.cpuUsage();
      this.#base = count();
      sink?.openWindow();
      return undefined;
    }
    const elapsedMs = performance.now() - this.#startedAt;
    const cpu = process.cpuUsage(this.#cpu);
    sink?.closeWindow();
    const latency = sink?.latency();
    return {
      messages: count() - this.#base,
      elapsedMs,
      cpuPercent: ((cpu.user + cpu.system) / 1000 / elapsedMs) * 100,
      cpuMicros: cpu.user + cpu.system,
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
      memory: process.memoryUsage(),
      ...(latency ? { latency } : {}),
    };
  }
}

async function runReceiver(args: PeerArgs, transport: Transport): Promise<void> {
  const sink = new Sink(args.mode === 'paced' ? LATENCY_CAPACITY : 0);
  if (args.traceDir !== undefined && args.mode === 'paced') sink.arrivals = startLatencyTrace(args, args.traceDir).arrivals;
  sink.probed = (unsupported) => tell(unsupported === undefined ? { type: 'probed' } : { type: 'unsupported', reason: unsupported });
  const window = new Window();
  process.on('message', (msg: ParentMessage) => {
    if (msg.type === 'stop') process.exit(0);
    if (msg.type !== 'mark') return;
    const stats = window.mark(() => sink.received, args.mode === 'paced' ? sink : undefined);
    if (stats) tell({ type: 'stats', stats });
  });
  const { port } = await transport.receive(args, sink);
  tell({ type: 'ready', port });
}

/** Whether the sender may send: closed while a slice run measures another pair. */
class Gate {
  #open: boolean;
  #waiters: (() => void)[] = [];

  constructor(open: boolean) {
    this.#open = open;
  }

  get isOpen(): boolean {
    return this.#open;
  }

  close(): void {
    this.#open = false;
  }

  open(): void {
    this.#open = true;
    for (const wake of this.#waiters.splice(0)) wake();
  }

  opened(): Promise<void> {
    return this.#open ? Promise.resolve() : new Promise((resolve) => this.#waiters.push(resolve));
  }
}

async function runSender(args: PeerArgs, transport: Transport): Promise<void> {
  if (args.traceDir !== undefined && args.mode === 'paced') startLatencyTrace(args, args.traceDir);
  const conn = await transport.connect(args);
  const window = new Window();
  const gate = new Gate(!args.sliced);
  let sent = 0;
  process.on('message', (msg: ParentMessage) => {
    if (msg.type === 'stop') process.exit(0);
    if (msg.type === 'pause') return gate.close();
    if (msg.type === 'resume') return gate.open();
    const stats = window.mark(() => sent, undefined);
    if (stats) tell({ type: 'stats', stats });
  });
  tell({ type: 'ready', port: args.port });
  const source = payloadSource(args.payload, args.size);
  const next = (): Payload => {
    sent += 1;
    return source.next(sent, hostClockMs());
  };
  if (args.mode === 'flood') await flood(conn, next, args.size, gate);
  else paced(conn, next, args.rate, gate);
}

/**
 * As fast as the transport's backpressure allows, the same rule for every row: send until the
 * transport pushes back, and yield to the event loop at least every YIELD_MESSAGES messages or
 * YIELD_BYTES of them, as any real producer does (ws and raw TLS push back at about 1 MiB).
 */
const YIELD_BYTES = 1024 * 1024;
const YIELD_MESSAGES = 1000;

async function flood(conn: SenderConnection, next: () => Payload, size: number, gate: Gate): Promise<void> {
  const yieldEvery = Math.max(1, Math.min(YIELD_MESSAGES, Math.floor(YIELD_BYTES / size)));
  let n = 0;
  // Runs until the process exits ('stop').
  for (;;) {
    if (!gate.isOpen) await gate.opened();
    else if (!conn.send(next())) await conn.writable();
    else if (++n >= yieldEvery) await setImmediatePromise();
    else continue;
    n = 0;
  }
}

/**
 * A fixed rate: on each ~1 ms timer tick, send what the clock says is due. A paused sender stops
 * ticking; resumed, it counts from then, so the time it was paused is not sent as a burst.
 */
function paced(conn: SenderConnection, next: () => Payload, rate: number, gate: Gate): void {
  let started = 0;
  let done = 0;
  // Ticks until the process exits ('stop'), or until paused: then begin() starts it again.
  const tick = (): void => {
    if (!gate.isOpen) {
      void gate.opened().then(begin);
      return;
    }
    const due = Math.floor(((performance.now() - started) * rate) / 1000);
    while (done < due) {
      conn.send(next());
      done += 1;
    }
    setTimeout(tick, 1);
  };
  const begin = (): void => {
    started = performance.now();
    done = 0;
    tick();
  };
  begin();
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as PeerArgs;
  try {
    const transport = await transportFor(args.row);
    if (args.role === 'receiver') await runReceiver(args, transport);
    else await runSender(args, transport);
  } catch (err) {
    if (err instanceof Error && err.name === 'UnsupportedError') tell({ type: 'unsupported', reason: err.message });
    else tell({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    // Let the IPC message leave before exiting.
    setTimeout(() => process.exit(1), 100);
  }
}

process.on('disconnect', () => process.exit(0));
void main();
