/**
 * `--ferry-config KEY=VALUE`: a Fast Ferry setting changed from its default in both peers of
 * every Fast Ferry case, e.g. `session.ackDelayMs=0`, so that a default can be measured
 * against its alternative in one run's noise (alternate the two runs). Values reach the
 * runtime as their environment variables would, so the runtime parses and checks them and a
 * bad one fails the case with the runtime's own message.
 */
import { CONFIG_SCHEMA, envNameOf } from '@fast-ferry/core';

/** The settings the bench sets itself in every Fast Ferry peer (transports/ferry.ts): not for --ferry-config. */
export const BENCH_SET_KEYS: ReadonlySet<string> = new Set([
  'session.url',
  'session.serverName',
  'session.listenHost',
  'session.listenPort',
  'http.host',
  'http.port',
  'http.triggerPort',
  'tls.caFile',
  'tls.certFile',
  'tls.keyFile',
  'armor.mode',
  'autoTrigger.count',
]);

/** Parses the --ferry-config pairs; throws naming the pair and the fix. */
export function parseFerryConfig(pairs: readonly string[]): Record<string, string> {
  const config: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    const key = at > 0 ? pair.slice(0, at) : pair;
    if (at <= 0 || !Object.hasOwn(CONFIG_SCHEMA, key)) {
      throw new TypeError(`--ferry-config '${pair}': expected KEY=VALUE with KEY a Fast Ferry setting (docs/configuration.md), e.g. session.ackDelayMs=0`);
    }
    if (BENCH_SET_KEYS.has(key)) throw new TypeError(`--ferry-config '${pair}': ${key} is set by the bench itself (addresses, certificates, auto-trigger; the armor mode is the row: --rows ferry-tls or ferry-tunnel)`);
    config[key] = pair.slice(at + 1);
  }
  return config;
}

/** The settings as the environment a runtime's loadConfig reads. */
export function ferryEnv(config: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(config).map(([key, value]) => [envNameOf(key), value]));
}
