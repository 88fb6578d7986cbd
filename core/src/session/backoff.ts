/**
 * Reconnect delays: exponential backoff with "full jitter" (a uniformly random delay between
 * zero and the capped exponential), which spreads reconnecting clients apart after an outage.
 */
export interface BackoffPolicy {
  intervalMs: number;
  growth: number;
  maxDelayMs: number;
  /** Failed attempts in a row before giving up; 0 means never give up. */
  maxRetries: number;
}

export class Backoff {
  #failures = 0;
  readonly #policy: BackoffPolicy;
  readonly #random: () => number;

  constructor(policy: BackoffPolicy, random: () => number = Math.random) {
    this.#policy = policy;
    this.#random = random;
  }

  /** Failed attempts since the last success. */
  get failures(): number {
    return this.#failures;
  }

  /** True once maxRetries failures happened in a row (the circuit is open). */
  get exhausted(): boolean {
    return this.#policy.maxRetries > 0 && this.#failures >= this.#policy.maxRetries;
  }

  /** The cap for the current attempt: interval × growth^failures, at most maxDelayMs. */
  ceilingMs(): number {
    const { intervalMs, growth, maxDelayMs } = this.#policy;
    return Math.min(maxDelayMs, intervalMs * growth ** Math.max(0, this.#failures - 1));
  }

  /** Records a failure and returns how long to wait before the next attempt. */
  fail(): number {
    this.#failures += 1;
    return Math.floor(this.#random() * this.ceilingMs());
  }

  succeed(): void {
    this.#failures = 0;
  }
}
