/**
 * What both role runtimes need before they open a socket: the validated config, a logger in
 * the configured format, metrics, and TLS material that was checked. A failure here stops the
 * process with one line that names the cause and the fix.
 */
import { isFerryError, messageOf } from './errors.js';
import { loadConfig } from './config/load.js';
import type { FerryConfig } from './config/schema.js';
import { createLogger, type Logger } from './log.js';
import { createMetrics, type Metrics } from './metrics.js';
import { loadTlsMaterial, type TlsMaterial } from './transport/tls-material.js';

export interface RuntimeOptions {
  /** A ready config (tests, embedders); otherwise loaded from FERRY_CONFIG_FILE and env. */
  config?: FerryConfig;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** Install SIGTERM/SIGINT handlers that drain and exit (the apps do; tests don't). */
  handleSignals?: boolean;
}

export interface Prepared {
  config: FerryConfig;
  logger: Logger;
  metrics: Metrics;
  tls: TlsMaterial;
}

export function prepare(role: 'initiator' | 'terminator', options: RuntimeOptions): Prepared {
  const config = options.config ?? loadConfig(options.env ? { env: options.env } : {});
  // JSON lines carry the app name for log pipelines; text lines stay exactly as documented.
  const fields = config.log.format === 'json' ? { app: role } : {};
  const logger = options.logger ?? createLogger({ format: config.log.format, level: config.log.level, fields });
  const metrics = createMetrics(role);
  const tls = loadTlsMaterial(config.tls, role);
  return { config, logger, metrics, tls };
}

/**
 * Runs an app's start-up; any error becomes one line on stderr naming the code and the fix,
 * and exit code 1 (78, EX_CONFIG, for configuration errors, so scripts can tell them apart).
 */
export function runMain(role: string, start: () => Promise<unknown>): void {
  start().catch((err: unknown) => {
    const code = isFerryError(err) ? err.code : 'FERRY_ERR_STARTUP';
    process.stderr.write(`❌ ${role} cannot start: [${code}] ${messageOf(err)}\n`);
    process.exitCode = code === 'FERRY_ERR_CONFIG' || code === 'FERRY_ERR_CERT' || code === 'FERRY_ERR_HOOK_INVALID' ? 78 : 1;
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
