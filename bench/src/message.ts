/**
 * The message every row sends: one JSON object, stringified per message by the sender (or by
 * Fast Ferry's send()) and parsed per message by the receiver (or by the terminator runtime),
 * so that every row does the same application work. `sentAt` is wall-clock time in ms with
 * sub-ms precision; both processes run on one machine, so it gives one-way latency.
 */
export interface BenchMessage {
  seq: number;
  sentAt: number;
  body: string;
}

/** Wall-clock ms with sub-millisecond resolution, comparable across processes on this host. */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

/** A message whose JSON is `size` bytes long for a typical seq / sentAt (±a few bytes). */
export function makeMessage(size: number): BenchMessage {
  const probe: BenchMessage = { seq: 1_000_000, sentAt: wallNow(), body: '' };
  const overhead = JSON.stringify(probe).length;
  return { seq: 0, sentAt: 0, body: 'x'.repeat(Math.max(0, size - overhead)) };
}

/** One received message: count it, and in paced mode note its one-way latency. */
export class Sink {
  received = 0;
  recording = false;
  readonly #latencies: Float64Array;
  #samples = 0;

  constructor(capacity: number) {
    this.#latencies = new Float64Array(capacity);
  }

  accept(message: unknown): void {
    this.received += 1;
    if (!this.recording) return;
    const sentAt = (message as BenchMessage).sentAt;
    if (this.#samples < this.#latencies.length) this.#latencies[this.#samples++] = wallNow() - sentAt;
  }

  latency(): { p50: number; p99: number; max: number; samples: number } | undefined {
    if (this.#samples === 0) return undefined;
    const sorted = this.#latencies.slice(0, this.#samples).sort();
    const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
    return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] as number, samples: this.#samples };
  }
}
