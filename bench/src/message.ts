/**
 * What the senders send and the receivers count. Three payload kinds, each of a nominal size:
 *
 * - `flat`: `{seq, sentAt, body}` with one string field padded to the size. One object, its
 *   seq and sentAt updated per message: its cost is one cheap stringify and one parse.
 * - `structured`: a telemetry batch, `{device, seq, sentAt, readings: [{sensor, value, ok, unit}, …]}`,
 *   with as many readings as bring its JSON to the size. Built afresh for every message, as an
 *   application fills a batch from its sensors, and handed over as an object: each row
 *   stringifies it per message (or Fast Ferry's write() does), never a string built beforehand.
 *   Receivers hand the parsed object to the application.
 * - `bytes`: a Buffer of exactly the size (what protobuf, CBOR or raw sensor frames look like),
 *   a fresh one per message because a transport may keep it until it is acknowledged; its
 *   first 16 bytes carry seq and sentAt. Receivers hand a Buffer to the application.
 *
 * `sentAt` is wall-clock time in ms with sub-ms precision; both processes run on one machine,
 * so it gives one-way latency.
 */
import type { LatencyStats, PayloadKind } from './protocol.js';

export type Payload = Record<string, unknown> | Buffer;

export interface FlatMessage {
  seq: number;
  sentAt: number;
  body: string;
}

export interface Reading {
  sensor: string;
  value: number;
  ok: boolean;
  unit: string;
}

export interface TelemetryBatch {
  device: string;
  seq: number;
  sentAt: number;
  readings: Reading[];
}

/** Where seq and sentAt sit in a bytes payload (little-endian doubles), and its smallest size. */
const BYTES_SEQ_AT = 0;
const BYTES_SENT_AT = 8;
export const BYTES_MIN_SIZE = 16;

/**
 * Milliseconds on the host's monotonic clock (CLOCK_MONOTONIC, which process.hrtime reads): the
 * same clock in every process on this host, so a receiver can subtract a sender's reading. Not
 * performance.timeOrigin + performance.now(): each process fixes its timeOrigin at start-up
 * from two clock reads, and eight fresh processes disagreed by up to 24 µs (a quarter of a
 * 0.1 ms p50), more under load: one round's plain ws p50 came out at −0.028 ms.
 */
export function hostClockMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** A producer of one payload kind at one size: `next()` gives the payload of the next message. */
export interface PayloadSource {
  next(seq: number, sentAt: number): Payload;
}

export function payloadSource(kind: PayloadKind, size: number): PayloadSource {
  switch (kind) {
    case 'flat':
      return flatSource(size);
    case 'structured':
      return structuredSource(size);
    case 'bytes':
      return bytesSource(size);
  }
}

function flatSource(size: number): PayloadSource {
  const probe: FlatMessage = { seq: 1_000_000, sentAt: hostClockMs(), body: '' };
  const overhead = JSON.stringify(probe).length;
  const message: FlatMessage = { seq: 0, sentAt: 0, body: 'x'.repeat(Math.max(0, size - overhead)) };
  return {
    next(seq, sentAt) {
      message.seq = seq;
      message.sentAt = sentAt;
      return message as unknown as Record<string, unknown>;
    },
  };
}

/** Sensor kinds a gateway reports, cycled through a batch: name prefix, unit, typical value. */
const SENSOR_KINDS = [
  { prefix: 't', unit: 'C', base: 21.5 },
  { prefix: 'h', unit: '%', base: 48 },
  { prefix: 'p', unit: 'hPa', base: 1013.2 },
  { prefix: 'v', unit: 'V', base: 3.3 },
] as const;
const DEVICE = 'gw-0042';

/** The sensors of a batch of n readings (names built once: an application's ids are constants). */
function sensors(n: number): { name: string; unit: string; tenths: number }[] {
  return Array.from({ length: n }, (_, i) => {
    const kind = SENSOR_KINDS[i % SENSOR_KINDS.length] as (typeof SENSOR_KINDS)[number];
    return { name: `${kind.prefix}${Math.floor(i / SENSOR_KINDS.length) + 1}`, unit: kind.unit, tenths: Math.round(kind.base * 10) };
  });
}

function batch(list: ReturnType<typeof sensors>, seq: number, sentAt: number): TelemetryBatch {
  const readings: Reading[] = new Array<Reading>(list.length);
  for (let i = 0; i < list.length; i++) {
    const s = list[i] as (typeof list)[number];
    const wobble = (seq + i) % 20;
    // Whole tenths, as a sensor reports them (and as short in JSON).
    readings[i] = { sensor: s.name, value: (s.tenths + wobble) / 10, ok: wobble !== 7, unit: s.unit };
  }
  return { device: DEVICE, seq, sentAt, readings };
}

/** The number of readings whose batch's JSON comes closest to `size` bytes (at least one). */
export function readingsFor(size: number): number {
  const lengthWith = (n: number): number => JSON.stringify(batch(sensors(n), 1_000_000, hostClockMs())).length;
  let n = 1;
  while (lengthWith(n + 1) <= size) n += 1;
  return Math.abs(lengthWith(n + 1) - size) < Math.abs(lengthWith(n) - size) ? n + 1 : n;
}

/** Mean JSON length of a structured message of nominal `size` over a range of seq values. */
export function structuredBytes(size: number): { readings: number; bytes: number } {
  const readings = readingsFor(size);
  const list = sensors(readings);
  let total = 0;
  const samples = 100;
  for (let i = 0; i < samples; i++) total += JSON.stringify(batch(list, 1_000_000 + i, hostClockMs())).length;
  return { readings, bytes: Math.round(total / samples) };
}

function structuredSource(size: number): PayloadSource {
  const list = sensors(readingsFor(size));
  return {
    next: (seq, sentAt) => batch(list, seq, sentAt) as unknown as Record<string, unknown>,
  };
}

function bytesSource(size: number): PayloadSource {
  if (size < BYTES_MIN_SIZE) throw new TypeError(`bytes payloads need at least ${BYTES_MIN_SIZE} bytes (seq and sentAt); got --sizes ${size}`);
  // Not all zeros, so nothing downstream can take a shortcut on the content.
  const template = Buffer.alloc(size);
  for (let i = 0; i < size; i++) template[i] = (i * 131 + 7) & 0xff;
  return {
    next(seq, sentAt) {
      const buf = Buffer.allocUnsafe(size);
      template.copy(buf);
      buf.writeDoubleLE(seq, BYTES_SEQ_AT);
      buf.writeDoubleLE(sentAt, BYTES_SENT_AT);
      return buf;
    },
  };
}

function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array;
}

function sentAtOf(message: unknown): number {
  if (!isBytes(message)) return (message as { sentAt: number }).sentAt;
  return new DataView(message.buffer, message.byteOffset, message.byteLength).getFloat64(BYTES_SENT_AT, true);
}

/** The probe a Fast Ferry bytes case sends first, to learn whether write(Buffer) carries bytes. */
export const BYTES_PROBE = Buffer.from('fast-ferry bytes probe \x00\x01\xfe\xff', 'latin1');

/** Why a received probe is not the probe's bytes, or undefined when it is. */
export function probeMismatch(received: unknown): string | undefined {
  if (isBytes(received) && Buffer.from(received.buffer, received.byteOffset, received.byteLength).equals(BYTES_PROBE)) return undefined;
  if (isBytes(received)) return `the hook got ${received.byteLength} other bytes`;
  const json = JSON.stringify(received) ?? String(received);
  return `the hook got ${typeof received} ${json.length > 60 ? `${json.slice(0, 60)}…` : json}, not the Buffer written`;
}

/** One received message: count it, and in a measured window of a paced case note its one-way latency. */
export class Sink {
  received = 0;
  /** Told the verdict on a bytes probe (a reason when the probe did not arrive as its bytes). */
  probed: ((unsupported: string | undefined) => void) | undefined;
  /** --trace-latency: [arrival, latency] of each recorded message goes here too. */
  arrivals: number[] | undefined;
  readonly #latencies: Float64Array;
  #samples = 0;
  /** Where the open window's samples begin; every window's samples stay, for the pooled figures. */
  #windowStart = 0;
  #recording = false;

  constructor(capacity: number) {
    this.#latencies = new Float64Array(capacity);
  }

  openWindow(): void {
    this.#windowStart = this.#samples;
    this.#recording = true;
  }

  closeWindow(): void {
    this.#recording = false;
  }

  accept(message: unknown): void {
    this.received += 1;
    if (!this.#recording) return;
    if (this.#samples >= this.#latencies.length) return;
    const now = hostClockMs();
    const latency = now - sentAtOf(message);
    this.#latencies[this.#samples++] = latency;
    this.arrivals?.push(now, latency);
  }

  /** The last window's latency, and every window's together; undefined when the last window recorded none. */
  latency(): (LatencyStats & { pooled: LatencyStats }) | undefined {
    if (this.#samples === this.#windowStart) return undefined;
    const window = statsOf(this.#latencies.subarray(this.#windowStart, this.#samples));
    // A pair's first window (a case's only one) is all its samples: no second sort for the same.
    return { ...window, pooled: this.#windowStart === 0 ? window : statsOf(this.#latencies.subarray(0, this.#samples)) };
  }
}

function statsOf(samples: Float64Array): LatencyStats {
  const sorted = samples.slice().sort();
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] as number, samples: sorted.length };
}
