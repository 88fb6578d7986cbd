/**
 * The peer's hook failed for a message this side sent: logged here, on the sending side, capped
 * like every per-message line (the receiving side logs the failure with its stack). The session
 * counted it in ferry_messages_failed_total; a caller that awaits the message (send(), a
 * reply; POST /trigger answers 502) was told FERRY_ERR_REMOTE_HOOK, and a message written with
 * write() has only this line.
 */
import type { Logger } from '../log.js';
import { RepeatedLog } from '../log-limit.js';

export class RemoteHookFailures {
  readonly #peerHook: string;
  readonly #log: RepeatedLog;

  /** `peerHook` names the hook that failed, e.g. "the terminator's on_receive_terminator". */
  constructor(peerHook: string) {
    this.#peerHook = peerHook;
    this.#log = new RepeatedLog(`failures of ${peerHook}`);
  }

  /** `logger` is the session's, so the line carries its sessionId. */
  report(logger: Logger, id: string, reason: string, watched: boolean): void {
    const told = watched ? 'its caller was told FERRY_ERR_REMOTE_HOOK' : 'nobody awaits it (write())';
    this.#log.warn(logger, `message ${id} not delivered: ${this.#peerHook} failed: ${firstLine(reason)} (${told})`, { code: 'FERRY_ERR_REMOTE_HOOK', id });
  }
}

function firstLine(text: string): string {
  const end = text.indexOf('\n');
  return end === -1 ? text : text.slice(0, end);
}
