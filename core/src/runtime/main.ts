/**
 * The process around a runtime: how a start-up failure ends it, and how a signal drains it.
 * Only the apps' entry points use these; an embedder that starts a runtime itself decides.
 */
import { isFerryError, messageOf } from '../errors.js';
import type { Logger } from '../log.js';

/** Codes that mean "fix the configuration": they exit with 78 (EX_CONFIG) so scripts can tell. */
const CONFIG_CODES = new Set(['FERRY_ERR_CONFIG', 'FERRY_ERR_CERT', 'FERRY_ERR_HOOK_INVALID']);

/**
 * Runs an app's start-up; any error becomes one line on stderr naming the code and the fix,
 * and the process exits at once: a half-started app (its HTTP port up, its session port not)
 * would answer its liveness probe and never be restarted. Exit code 78 for configuration
 * errors, 1 otherwise.
 */
export function runMain(role: string, start: () => Promise<unknown>): void {
  start().catch((err: unknown) => {
    const code = isFerryError(err) ? err.code : 'FERRY_ERR_STARTUP';
    // Writes to a pipe or file are synchronous on Linux, so the line is out before exit.
    process.stderr.write(`❌ ${role} cannot start: [${code}] ${messageOf(err)}\n`);
    process.exit(CONFIG_CODES.has(code) ? 78 : 1);
  });
}

/** Calls `drain` once on SIGTERM or SIGINT, then exits; a second signal exits at once. */
export function onShutdownSignal(logger: Logger, drain: (signal: string) => Promise<void>): void {
  let draining = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (draining) {
      logger.warn(`${signal} again: exiting without waiting`);
      process.exit(1);
    }
    draining = true;
    drain(signal).then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error(`drain failed: ${messageOf(err)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}
