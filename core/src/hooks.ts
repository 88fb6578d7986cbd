/**
 * Hooks are data (after fastify's lib/hooks.js): the allowed names sit in one list, a hook that
 * is not a function is refused at start-up with a coded error, and one runner awaits sync or
 * async hooks under a timeout whose error names the hook.
 */
import { HookError, messageOf, type FerryError } from './errors.js';
import type { LogFields, Logger } from './log.js';
import type { RepeatedLog } from './log-limit.js';

export const HOOK_NAMES = ['on_trigger', 'on_receive_terminator', 'on_receive_initiator'] as const;
export type HookName = (typeof HOOK_NAMES)[number];

/** Checks a hook given to a runtime; `optional` hooks may be undefined. */
export function checkHook<F>(name: HookName, fn: F, optional = false): F {
  if (fn === undefined && optional) return fn;
  if (typeof fn !== 'function') {
    throw new HookError('FERRY_ERR_HOOK_INVALID', name, `${name} must be a function (sync or async), got ${fn === null ? 'null' : typeof fn}: fix SECTION 1 of the app`);
  }
  return fn;
}

/**
 * Runs a hook with up to two arguments. Sync hooks run without allocating a timer or a closure
 * (the hot path: the arguments are passed through); a returned promise is raced against
 * `timeoutMs`. Every failure becomes a HookError naming the hook.
 */
export function runHook<R, A = undefined, B = undefined>(name: HookName, timeoutMs: number, call: (a: A, b: B) => R | Promise<R>, a?: A, b?: B): R | Promise<R> {
  let result: R | Promise<R>;
  try {
    result = call(a as A, b as B);
  } catch (err) {
    throw new HookError('FERRY_ERR_HOOK_FAILED', name, `${name} threw: ${messageOf(err)}`, { cause: err });
  }
  if (!isPromiseLike(result)) return result;
  return new Promise<R>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new HookError('FERRY_ERR_HOOK_TIMEOUT', name, `${name} did not settle within ${timeoutMs} ms (hooks.timeoutMs)`));
    }, timeoutMs).unref(); // a stuck hook must not keep a stopped runtime's process alive
    (result as Promise<R>).then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(new HookError('FERRY_ERR_HOOK_FAILED', name, `${name} rejected: ${messageOf(err)}`, { cause: err }));
      },
    );
  });
}

function isPromiseLike<R>(value: R | Promise<R>): value is Promise<R> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/**
 * A hook's failure in the log: `what` and its message's first line at warn (capped by `limit`, as a hook can fail on
 * every message), then, when that line was written, the stack at debug: the stack of what the
 * hook threw (the HookError's cause), or of the HookError for a timeout or a bad result.
 */
export function logHookFailure(limit: RepeatedLog, logger: Logger, what: string, err: FerryError, fields: LogFields): void {
  const line = `${what}: ${firstLine(err.message)}`;
  if (!limit.warn(logger, line, { code: err.code, ...fields })) return;
  const source = err.cause instanceof Error ? err.cause : err;
  if (source.stack) logger.debug(`${line} (stack)`, { code: err.code, ...fields, stack: source.stack });
}

function firstLine(text: string): string {
  const end = text.indexOf('\n');
  return end === -1 ? text : text.slice(0, end);
}
