/**
 * The peer's hook failed for a message nobody awaits (sent with write()): no caller can be told,
 * so the runtime counts it as refused and logs it, capped like every per-message line.
 */
import type { Logger } from '../log.js';
import { RepeatedLog } from '../log-limit.js';
import type { Metrics } from '../metrics.js';

export class RemoteHookFailures {
  readonly #metrics: Metrics;
  readonly #log: RepeatedLog;

  /** `peerHook` names the hook that failed, e.g. "the terminator's on_receive_terminator". */
  constructor(metrics: Metrics, peerHook: string) {
    this.#metrics = metrics;
    this.#log = new RepeatedLog(`failures of ${peerHook}`);
  }

  /** `logger` is the session's, so the line carries its sessionId. */
  report(logger: Logger, id: string, reason: string): void {
    this.#metrics.messagesRefused.inc({ reason: 'FERRY_ERR_REMOTE_HOOK' });
    this.#log.warn(logger, `message ${id}: the peer's hook failed: ${reason}`, { code: 'FERRY_ERR_REMOTE_HOOK' });
  }
}
