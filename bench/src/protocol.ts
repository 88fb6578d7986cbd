/**
 * What the orchestrator (run.ts) and its two child processes (peer.ts) say to each other over
 * the fork IPC channel, and the shape of one benchmark case.
 */

/** The rows of the table. `ferry-*` run the real runtimes; the others are the references. */
export const ROWS = ['ferry-tunnel', 'ferry-tls', 'ws', 'raw-tls', 'raw-tls-sealed'] as const;
export type Row = (typeof ROWS)[number];

export const ROW_LABELS: Record<Row, string> = {
  'ferry-tunnel': 'Fast Ferry, armor tunnel',
  'ferry-tls': 'Fast Ferry, armor tls',
  ws: 'plain ws, mutual TLS 1.3',
  'raw-tls': 'raw TLS socket, NDJSON',
  'raw-tls-sealed': 'raw TLS socket + armor seal per batch, length-prefixed JSON',
};

/** What one message is (message.ts): a flat JSON object, a telemetry batch, or bytes. */
export const PAYLOADS = ['flat', 'structured', 'bytes'] as const;
export type PayloadKind = (typeof PAYLOADS)[number];

/**
 * The payloads a row carries, for the rows that do not carry all. The sealed raw TLS socket is
 * the tunnel's floor for the structured and bytes targets; flat JSON would say nothing the
 * structured figures do not.
 */
const ROW_PAYLOADS: Partial<Record<Row, readonly PayloadKind[]>> = { 'raw-tls-sealed': ['structured', 'bytes'] };

/** Whether `row` runs `payload` (see ROW_PAYLOADS). */
export function carries(row: Row, payload: PayloadKind): boolean {
  return ROW_PAYLOADS[row]?.includes(payload) ?? true;
}

/** The payloads `row` carries (all of PAYLOADS unless ROW_PAYLOADS says otherwise). */
export function payloadsOf(row: Row): readonly PayloadKind[] {
  return ROW_PAYLOADS[row] ?? PAYLOADS;
}

/** A row's label for a payload kind: the references frame bytes differently from JSON. */
export function rowLabel(row: Row, payload: PayloadKind): string {
  if (payload !== 'bytes') return ROW_LABELS[row];
  if (row === 'ws') return 'plain ws, binary frames';
  if (row === 'raw-tls') return 'raw TLS socket, length-prefixed';
  if (row === 'raw-tls-sealed') return 'raw TLS socket + armor seal per batch, length-prefixed';
  return ROW_LABELS[row];
}

export interface CaseSpec {
  row: Row;
  payload: PayloadKind;
  /** Nominal size of one message in bytes: of its JSON, or of the Buffer. */
  size: number;
  /** 1-based round of the interleaved run this case belongs to. */
  round: number;
  /** `flood`: as fast as backpressure allows. `paced`: a fixed rate, for one-way latency. */
  mode: 'flood' | 'paced';
  /** Messages per second in `paced` mode. */
  rate: number;
  pkiDir: string;
}

export interface PeerArgs extends CaseSpec {
  role: 'sender' | 'receiver';
  /** Sender: where the receiver listens. */
  port: number;
  /** Fast Ferry settings changed from their defaults (--ferry-config; ferry-config.ts). */
  ferryConfig: Record<string, string>;
  /** --trace-latency: where a paced case's peers write their traces (latency-trace.ts). */
  traceDir?: string;
  /** A slice run's pair (slices.ts): it lives through every round, and its sender connects, then waits for `resume`. */
  sliced?: boolean;
}

/**
 * The rounds a peer's log or trace file covers, for its name: a slice run's pair lives through
 * every round, so one file holds all of them.
 */
export function roundsTag(args: Pick<PeerArgs, 'sliced' | 'round'>): string {
  return args.sliced ? 'all-rounds' : `r${args.round}`;
}

/**
 * Parent → child. `mark`s come in twos: the first opens a measured window, the second closes it
 * and is answered with `stats`; a pair may be measured in many windows. `pause` and `resume`
 * stop and restart a sender's flood between windows.
 */
export type ParentMessage = { type: 'mark' } | { type: 'pause' } | { type: 'resume' } | { type: 'stop' };

/** Percentiles of one-way latency samples, in ms. */
export interface LatencyStats {
  p50: number;
  p99: number;
  max: number;
  samples: number;
}

/** What one process measured between the two marks. */
export interface PeerStats {
  /** Receiver: messages handed to the application; sender: messages given to the transport. */
  messages: number;
  elapsedMs: number;
  /** process.cpuUsage() user + system over the window, as % of one core. */
  cpuPercent: number;
  /** The same CPU time in µs (divided by `messages`: CPU time per message). */
  cpuMicros: number;
  /** process.resourceUsage().maxRSS: the process's peak resident set, in bytes. */
  peakRssBytes: number;
  /** process.memoryUsage() at the end of the window (for the JSON file, to see where RSS goes). */
  memory?: NodeJS.MemoryUsage;
  /**
   * Receiver in paced mode: one-way latency in ms over the window, and `pooled` over every
   * window of this pair's life so far (in a slice run: every round up to this one).
   */
  latency?: LatencyStats & { pooled: LatencyStats };
}

/** Child → parent. */
export type ChildMessage =
  | { type: 'ready'; port: number }
  | { type: 'stats'; stats: PeerStats }
  | { type: 'error'; message: string }
  /** Receiver of a Fast Ferry bytes case: the probe arrived as the bytes written. */
  | { type: 'probed' }
  /** The case cannot run on this build (Fast Ferry bytes before the core carries bytes): skipped, not failed. */
  | { type: 'unsupported'; reason: string };
