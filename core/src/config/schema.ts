/**
 * The runtime configuration schema, as data (after fastify's initial-config-validation): one
 * table of leaves, each with its type, bounds, default and a sentence for the README. The
 * loader, the env-variable names and the docs are all derived from this table, so they
 * cannot drift apart.
 */

interface LeafBase {
  /** One sentence for the README's config table. */
  readonly doc: string;
}
export interface IntLeaf extends LeafBase {
  readonly kind: 'int';
  readonly default: number;
  readonly min: number;
  readonly max: number;
}
export interface NumberLeaf extends LeafBase {
  readonly kind: 'number';
  readonly default: number;
  readonly min: number;
  readonly max: number;
}
export interface StringLeaf extends LeafBase {
  readonly kind: 'string';
  readonly default: string;
  /** Checked when the value is non-empty. */
  readonly pattern?: RegExp;
  readonly patternDoc?: string;
  /** Checked after the pattern (see formats.ts); an empty value passes only where the default is empty. */
  readonly format?: StringFormat;
}
export interface EnumLeaf<T extends string = string> extends LeafBase {
  readonly kind: 'enum';
  readonly default: T;
  readonly values: readonly T[];
}
export type Leaf = IntLeaf | NumberLeaf | StringLeaf | EnumLeaf;

import type { StringFormat } from './formats.js';

const MS_DAY = 86_400_000;
const MIB = 1024 * 1024;

/** Every configurable key, by dotted path. Order is the README's order. */
export const CONFIG_SCHEMA = {
  'log.format': { kind: 'enum', values: ['text', 'json'], default: 'text', doc: 'Log line format: readable text, or one JSON object per line (LOG_FORMAT=json also works).' },
  'log.level': { kind: 'enum', values: ['debug', 'info', 'warn', 'error'], default: 'info', doc: 'Lowest level that is printed.' },
  'http.port': { kind: 'int', min: 1, max: 65535, default: 8080, doc: 'Port of /healthz, /readyz and /metrics (both apps).' },
  'http.triggerPort': { kind: 'int', min: 1, max: 65535, default: 8081, doc: 'Initiator: port of POST /trigger, apart from the probes so a NetworkPolicy can admit fewer callers to it; must differ from http.port.' },
  'http.host': { kind: 'string', default: '0.0.0.0', format: 'host', doc: 'Address both HTTP servers bind to.' },
  'http.triggerTokenFile': { kind: 'string', default: '', doc: 'Initiator: a file holding a bearer token; when set, POST /trigger needs `Authorization: Bearer <token>` (401 without). Read once at start-up; empty means no token.' },
  'http.bodyLimitBytes': { kind: 'int', min: 1024, max: 64 * MIB, default: MIB, doc: 'Largest POST /trigger body accepted (413 above it).' },
  'session.url': { kind: 'string', default: 'wss://terminator.fast-ferry-terminator-ns.svc:8443', pattern: /^wss:\/\/[^/\s]+(\/\S*)?$/, patternDoc: 'a wss:// URL such as wss://terminator.fast-ferry-terminator-ns.svc:8443', format: 'wss-url', doc: 'Initiator: where the terminator listens.' },
  'session.serverName': { kind: 'string', default: '', pattern: /^[A-Za-z0-9.-]+$/, patternDoc: 'a DNS name', format: 'host', doc: "Initiator: the name the terminator's certificate must carry; empty means the host of session.url." },
  'session.listenHost': { kind: 'string', default: '0.0.0.0', format: 'host', doc: 'Terminator: address the wss listener binds to.' },
  'session.listenPort': { kind: 'int', min: 1, max: 65535, default: 8443, doc: 'Terminator: port of the wss listener.' },
  'session.pingIntervalMs': { kind: 'int', min: 100, max: MS_DAY, default: 30_000, doc: 'Both: keepalive ping interval; a peer silent for two intervals is declared dead.' },
  'session.dialTimeoutMs': { kind: 'int', min: 100, max: MS_DAY, default: 20_000, doc: 'Initiator: how long one wss dial (TCP + TLS + upgrade) may take.' },
  'session.handshakeTimeoutMs': { kind: 'int', min: 100, max: MS_DAY, default: 10_000, doc: 'Both: how long the hello/welcome (and armor) exchange may take after the upgrade.' },
  'session.maxPendingHandshakes': { kind: 'int', min: 1, max: 100_000, default: 128, doc: 'Terminator: most connections at once that are not a session yet (from TCP accept until the HELLO/WELCOME exchange is done); more are closed at accept, before TLS, and counted as FERRY_ERR_TOO_MANY_PENDING. The default is above the 100 initiator pods a blueprint allows, so a whole fleet redialling at once fits.' },
  'session.ackTimeoutMs': { kind: 'int', min: 100, max: MS_DAY, default: 30_000, doc: 'Initiator: how long POST /trigger waits for the acknowledgement before answering 504, and how long /readyz stays ready while the initiator reconnects after a session closed.' },
  'session.maxPayloadBytes': { kind: 'int', min: 4096, max: 256 * MIB, default: 4 * MIB, doc: 'Both: largest WebSocket message accepted; also bounds one payload.' },
  'session.outboxLimit': { kind: 'int', min: 1, max: 10_000_000, default: 10_000, doc: 'Both: most unacknowledged messages held for resend; beyond it senders are pushed back (503). write() returns false, and whenSendable() (the auto-trigger) waits, from half of it.' },
  // 8 MiB: a flooding sender's peak RSS follows this window (bench, 16 KiB messages, 2 rounds
  // each: armor tunnel 213 → 152 MiB, tls 156–170 → 130–135 MiB at 16 → 8 MiB, throughput within
  // the runs' noise), and 16 MiB left only about 40 MiB below the chart's 256Mi limit. Still 2 messages
  // of the largest size (session.maxPayloadBytes) and, below 839 bytes a message, outboxLimit binds first.
  // A write() flood holds half of it (InitiatorRuntime.write), so a writer that waits on whenSendable()
  // has one message of the largest size in flight at a time.
  'session.outboxLimitBytes': { kind: 'int', min: 64 * 1024, max: 4096 * MIB, default: 8 * MIB, doc: 'Both: most unacknowledged payload held for resend; beyond it senders are pushed back (503); write() returns false, and whenSendable() (the auto-trigger) waits, from half of it. A JSON message counts its text length (UTF-16 units) until it is encoded into a frame, then its exact UTF-8 bytes; a bytes message counts its bytes. Keeps a backlog of large messages under the pod memory limit.' },
  // 25 ms, QUIC's default max_ack_delay (TCP's delayed ACK waits 40 ms and more). At 5,000
  // msgs/s of 1 KiB structured (bench, paced, tls, 6 alternating pairs of 15-round slice runs;
  // --ferry-config session.ackDelayMs=5 for the other) the p99 came out at a median 1.27× plain
  // ws's (0.69–1.54×) against 1.65× (1.33–2.46×) at 5 ms, lower in all 6 pairs; the p50 1.16×
  // against 1.18×, sender CPU/msg 1.19× against 1.31×, receiver 1.33× against 1.59× (each lower
  // in 4 of 6). Each ACK costs both ends a write or a read, a TLS record and a wake-up; at that
  // rate the 64 KiB rule (session.ts) now sends one about every 13 ms instead of every 2.5.
  // Before it, 5 ms against 0: p99 1.46× against 1.67×, lower in 10 of 13 pairs. Only write()
  // messages wait (send() and POST /trigger are acknowledged at once), 25 ms is far below any
  // timeout of the bundle, and a waiting ACK leaves with the next batch once it has waited half
  // of this (session.ts says why). What it costs: ferry_delivery_latency_seconds of a slow
  // write() stream reads up to this much more.
  'session.ackDelayMs': { kind: 'int', min: 0, max: 1000, default: 25, doc: "Both, as receiver: how long the ACK for messages written with write() may wait, so that one ACK covers all that arrive meanwhile (fewer writes and wake-ups on both ends). Messages someone awaits (send(), POST /trigger, replies), any sent while the sender's outbox is past half full, and any stream that brought 64 KiB since the last ACK are acknowledged at once. 0 acknowledges every batch at once." },
  'session.drainTimeoutMs': { kind: 'int', min: 0, max: MS_DAY, default: 10_000, doc: 'Both: on SIGTERM, how long to wait for in-flight messages to be acknowledged.' },
  'reconnect.intervalMs': { kind: 'int', min: 1, max: MS_DAY, default: 500, doc: 'Initiator: first reconnect delay (full jitter: a random delay up to this).' },
  'reconnect.growth': { kind: 'number', min: 1, max: 10, default: 2, doc: 'Initiator: factor the delay cap grows by after each failed attempt.' },
  'reconnect.maxDelayMs': { kind: 'int', min: 1, max: MS_DAY, default: 30_000, doc: 'Initiator: largest reconnect delay.' },
  'reconnect.maxRetries': { kind: 'int', min: 0, max: 1_000_000_000, default: 0, doc: 'Initiator: failed attempts in a row before the circuit opens and /readyz fails; 0 retries forever.' },
  'hooks.timeoutMs': { kind: 'int', min: 1, max: MS_DAY, default: 10_000, doc: 'Both: how long a hook may run before it counts as failed.' },
  'autoTrigger.count': { kind: 'int', min: 0, max: 10_000_000, default: 5, doc: 'Initiator: messages sent through on_trigger once the first session is up; 0 turns it off.' },
  'tls.caFile': { kind: 'string', default: '/etc/fast-ferry/tls/ca.crt', doc: "Both: the bundle's CA (PEM); the only trust anchor for the peer's certificate." },
  'tls.certFile': { kind: 'string', default: '/etc/fast-ferry/tls/tls.crt', doc: "Both: this pod's certificate (PEM)." },
  'tls.keyFile': { kind: 'string', default: '/etc/fast-ferry/tls/tls.key', doc: "Both: this pod's private key (PEM)." },
  'armor.mode': { kind: 'enum', values: ['tunnel', 'tls'], default: 'tunnel', doc: "Both: 'tunnel' adds per-session keys (X25519, AEAD, rekey) inside TLS; 'tls' is TLS only. Both ends must agree." },
  'armor.rekeyIntervalMs': { kind: 'int', min: 1000, max: MS_DAY, default: 30_000, doc: 'Both: rotate the session keys after this long.' },
  'armor.rekeyMessages': { kind: 'int', min: 1, max: 2 ** 24, default: 1_000_000, doc: 'Both: rotate the session keys after this many sealed frames (at most 2^24, the AEAD safety limit per key).' },
} as const satisfies Record<string, Leaf>;

export type ConfigKey = keyof typeof CONFIG_SCHEMA;

type LeafValue<L> = L extends EnumLeaf<infer T> ? T : L extends { kind: 'string' } ? string : number;
type ValueOf<K extends ConfigKey> = (typeof CONFIG_SCHEMA)[K] extends { kind: 'enum'; values: readonly (infer V)[] }
  ? V
  : LeafValue<(typeof CONFIG_SCHEMA)[K]>;

type Head<K> = K extends `${infer H}.${string}` ? H : never;
type Tail<K, H extends string> = K extends `${H}.${infer T}` ? T : never;

/** The validated, frozen configuration: `config.session.pingIntervalMs` and so on. */
export type FerryConfig = {
  readonly [H in Head<ConfigKey>]: { readonly [T in Tail<ConfigKey, H>]: ValueOf<`${H}.${T}` & ConfigKey> };
};

/** `session.pingIntervalMs` → `FERRY_SESSION_PING_INTERVAL_MS`. */
export function envNameOf(key: string): string {
  return `FERRY_${key.replace(/\./g, '_').replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`;
}

/** The env variable that names a YAML file to read before env overrides are applied. */
export const CONFIG_FILE_ENV = 'FERRY_CONFIG_FILE';
