/**
 * What both role runtimes need before they open a socket: the validated config, a logger in
 * the configured format, metrics, and TLS material that was checked. A failure here stops the
 * process with one line that names the cause and the fix (see main.ts).
 */
import { loadConfig } from '../config/load.js';
import type { FerryConfig } from '../config/schema.js';
import { createLogger, routeConsole, type Logger } from '../log.js';
import { createMetrics, type Metrics } from '../metrics.js';
import { loadTlsMaterial, type TlsMaterial } from '../transport/tls-material.js';

export interface RuntimeOptions {
  /** A ready config (tests, embedders); otherwise loaded from FERRY_CONFIG_FILE and env. */
  config?: FerryConfig;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /**
   * The process is the app's own (the apps set it; tests and embedders don't): install
   * SIGTERM/SIGINT handlers that drain and exit, and with log.format=json route console.*
   * through the logger, so a hook's console.log lines are JSON lines too.
   */
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
  if (options.handleSignals && config.log.format === 'json') routeConsole(logger);
  const metrics = createMetrics(role);
  const tls = loadTlsMaterial(config.tls, role);
  return { config, logger, metrics, tls };
}
