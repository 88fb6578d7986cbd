/**
 * The one place a received message meets the app: both roles make their Inboxes here, so
 * every receive hook is counted, run under hooks.timeoutMs, timed and its failures logged the
 * same way, and a stream whose hook falls behind pauses its session's reads.
 */
import type { FerryConfig } from '../config/schema.js';
import { logHookFailure, runHook, type HookName } from '../hooks.js';
import type { Logger } from '../log.js';
import { RepeatedLog } from '../log-limit.js';
import type { Metrics } from '../metrics.js';
import { Inbox, type ReceivedMessage } from '../session/inbox.js';
import { decodeMessage, FLAG_BYTES, KIND_MASK } from '../session/payload-codec.js';

/** A receive hook: the parsed payload (or a Buffer, for bytes) and what the runtime tells about the message. */
export type ReceiveHook<M> = (payload: unknown, message: M) => unknown;

export interface HookedInboxOptions<M> {
  name: HookName;
  /** Undefined: messages are counted and acknowledged, nothing else. */
  hook: ReceiveHook<M> | undefined;
  /**
   * Per stream, once: how to turn the session's ReceivedMessage into what the hook is told,
   * `log` included (the hook's logger: the runtime's, in its format, with `hook` as a field).
   * Called per message, so it should build one object literal and nothing more.
   */
  describeFor(streamId: string, log: Logger): (message: ReceivedMessage) => M;
  /**
   * Pause (true) or resume (false) reading from the session that carries `streamId`; false
   * when no session is open for it (nothing to pause).
   */
  setPaused(streamId: string, paused: boolean): boolean;
  config: FerryConfig;
  metrics: Metrics;
  logger: Logger;
}

export class HookedInboxes<M> {
  readonly #options: HookedInboxOptions<M>;
  readonly #failureLog: RepeatedLog;
  readonly #badFrameLog: RepeatedLog;

  constructor(options: HookedInboxOptions<M>) {
    this.#options = options;
    this.#failureLog = new RepeatedLog(`${options.name} failures`);
    this.#badFrameLog = new RepeatedLog(`undecodable messages (before ${options.name})`);
  }

  /** A new Inbox for `streamId` whose messages go to the hook. */
  create(streamId: string): Inbox {
    const { name, hook, config, metrics, logger, setPaused } = this.#options;
    const timeoutMs = config.hooks.timeoutMs;
    const hookDuration = metrics.hookDuration.labels({ hook: name });
    const received = metrics.messagesReceived;
    const receivedBinary = metrics.binaryMessages.received;
    const describe = this.#options.describeFor(streamId, logger.child({ hook: name }));
    const failureLog = this.#failureLog;
    const badFrameLog = this.#badFrameLog;
    return new Inbox(
      streamId,
      (buf, start, end, flags, message) => {
        received.inc();
        if ((flags & KIND_MASK) === FLAG_BYTES) receivedBinary.inc();
        if (!hook) return undefined;
        // Decoded before the hook's clock starts: an undecodable payload (FERRY_ERR_BAD_FRAME) is
        // NACKed to the sender but is no hook run, neither timed nor counted as a hook error.
        const payload = decodeMessage(buf, start, end, flags);
        const started = performance.now();
        let result: unknown;
        try {
          result = runHook(name, timeoutMs, hook, payload, describe(message));
        } catch (err) {
          // A run that threw is a run: the hook error ratio divides by this count.
          hookDuration.observe((performance.now() - started) / 1000);
          throw err;
        }
        if (result instanceof Promise) return result.finally(() => hookDuration.observe((performance.now() - started) / 1000));
        hookDuration.observe((performance.now() - started) / 1000);
        return result;
      },
      {
        hookFailed: (err, message) => {
          if (err.code === 'FERRY_ERR_BAD_FRAME') {
            metrics.framesRejected.inc({ reason: err.code });
            badFrameLog.warn(logger, `message refused before ${name}: ${err.message}; NACKed to the sender`, { code: err.code, id: message.id });
            return;
          }
          metrics.hookErrors.inc({ hook: name, reason: err.code });
          logHookFailure(failureLog, logger, `${name} failed`, err, { hook: name, id: message.id });
        },
        duplicate: () => metrics.duplicatesDropped.inc(),
        pressure: (high) => {
          if (setPaused(streamId, high)) logger.debug(high ? 'receiver busy: pausing reads' : 'receiver caught up: resuming reads', { stream: streamId });
        },
      },
      config.session.outboxLimit,
    );
  }
}
