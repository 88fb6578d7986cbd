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
 * Close codes that say nothing against the session: an orderly close (1000, 1001: a drain, a
 * replaced connection), none given (1005), or a dropped connection (1006: the peer process or
 * the network went away, as in a terminator restart). Any other code from the peer is an error
 * it reported (1002 FERRY_ERR_SEQUENCE, 4001 armor, 1011 ...).
 */
const NO_ERROR_CLOSES: ReadonlySet<number> = new Set([1000, 1001, 1005, 1006]);

/**
 * A session is healthy once it carried something new (an acknowledgement for data) or stayed
 * open for `healthyAfterMs` (one ping interval: the peer answered at least one ping round).
 * One that was not healthy and ended by an error (a local one, or an error close code from the
 * peer) is a failed attempt, so a peer that refuses the stream right after it opened
 * (FERRY_ERR_SEQUENCE, an armor error) meets a growing delay and, with reconnect.maxRetries, an
 * open circuit. One that was not healthy but ended without an error (the terminator was killed
 * or drained right after it opened) is 'clean': the dial worked and nothing went wrong on the
 * session, so like a healthy one it starts the backoff over; counting it as a failure would let
 * a terminator restarted a few times in a row push the next dial tens of seconds away.
 */
export function judgeSession(outcome: SessionOutcome, healthyAfterMs: number): 'healthy' | 'clean' | 'failed' {
  if (outcome.openMs >= healthyAfterMs || outcome.newlyAcked > 0) return 'healthy';
  return !outcome.failed && NO_ERROR_CLOSES.has(outcome.closeCode) ? 'clean' : 'failed';
}
