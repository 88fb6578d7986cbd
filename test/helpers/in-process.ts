/** Real initiator and terminator runtimes in the test's own process, on loopback with the test PKI. */
import { loadConfig, silentLogger, startInitiator, startTerminator, type ConfigKey, type FerryConfig, type InitiatorRuntime, type Logger, type TerminatorHooks, type TerminatorRuntime } from '@fast-ferry/core';
import type { TestPki } from './pki.js';
import { freePort } from './ports.js';

type Overrides = Partial<Record<ConfigKey, string | number>>;

/**
 * The config of an initiator dialing `sessionPort` on loopback with the test PKI, auto-trigger
 * off; the HTTP and /trigger ports are free ones unless `extra` names them. For tests that start
 * an initiator with hooks of their own.
 */
export async function initiatorConfig(pki: TestPki, sessionPort: number, extra: Overrides = {}): Promise<FerryConfig> {
  return loadConfig({
    env: {},
    overrides: {
      ...extra,
      'session.url': `wss://127.0.0.1:${sessionPort}`,
      'session.serverName': 'localhost',
      'http.host': '127.0.0.1',
      'http.port': extra['http.port'] ?? (await freePort()),
      'http.triggerPort': extra['http.triggerPort'] ?? (await freePort()),
      'tls.caFile': pki.ca.cert,
      'tls.certFile': pki.initiator.cert,
      'tls.keyFile': pki.initiator.key,
      'autoTrigger.count': 0,
    },
  });
}

/** An initiator dialing `sessionPort`, auto-trigger off; `httpPort` 0 picks a free one, and /trigger gets a free one (`triggerPort` on the runtime) unless `extra` names it. */
export async function initiatorFor(pki: TestPki, sessionPort: number, outboxLimit: number, httpPort = 0, extra: Overrides = {}, logger: Logger = silentLogger): Promise<InitiatorRuntime> {
  const config = await initiatorConfig(pki, sessionPort, { ...extra, 'http.port': httpPort || (await freePort()), 'session.outboxLimit': outboxLimit });
  return startInitiator({ on_trigger: (payload) => payload }, { config, logger });
}

/** A terminator listening on a free session port (`sessionPort` on the runtime tells which). */
export async function terminatorWith(pki: TestPki, hooks: TerminatorHooks, httpPort: number, outboxLimit = 10_000, extra: Overrides = {}, logger: Logger = silentLogger): Promise<TerminatorRuntime> {
  return startTerminator(hooks, {
    logger,
    config: loadConfig({
      env: {},
      overrides: {
        ...extra,
        'session.listenHost': '127.0.0.1',
        'session.listenPort': extra['session.listenPort'] ?? (await freePort()),
        'http.host': '127.0.0.1',
        'http.port': httpPort,
        'tls.caFile': pki.ca.cert,
        'tls.certFile': pki.terminator.cert,
        'tls.keyFile': pki.terminator.key,
        'session.outboxLimit': outboxLimit,
      },
    }),
  });
}
