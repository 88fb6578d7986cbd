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

  /** A delay under the current ceiling that records nothing (the first dial after a healthy session). */
  delay(): number {
    return Math.floor(this.#random() * this.ceilingMs());
  }

  succeed(): void {
    this.#failures = 0;
  }
}

/** How one session went, as far as the backoff cares. */
export interface SessionOutcome {
  /** How long it was open (0 when it never got past the handshake). */
  openMs: number;
  /** Messages the peer acknowledged during it, beyond what the resume already covered. */
  newlyAcked: number;
  /** The WebSocket close code it ended with. */
  closeCode: number;
  /** It ended by a local error (protocol, armor, a dead peer), not by the peer's close. */
  failed: boolean;
}

/**
 * A session is healthy once it carried something new (an acknowledgement for data) or stayed
 * open for `healthyAfterMs` (one ping interval: the peer answered at least one ping round).
 * Only a healthy session starts the backoff over. A session that was not healthy and did not
 * end by the peer's orderly close (1000, 1001: a drain, a replaced connection) counts as a
 * failed attempt, so a peer that refuses the stream right after it opened (FERRY_ERR_SEQUENCE,
 * an armor error) meets a growing delay and, with reconnect.maxRetries, an open circuit.
 */
export function judgeSession(outcome: SessionOutcome, healthyAfterMs: number): 'healthy' | 'neutral' | 'failed' {
  if (outcome.openMs >= healthyAfterMs || outcome.newlyAcked > 0) return 'healthy';
  const orderly = !outcome.failed && (outcome.closeCode === 1000 || outcome.closeCode === 1001);
  return orderly ? 'neutral' : 'failed';
}
