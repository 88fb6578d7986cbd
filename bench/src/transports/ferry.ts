/**
 * Fast Ferry itself, through the real runtimes: startTerminator with a no-op hook that only
 * counts, startInitiator driven by an in-process write() loop (not HTTP). Acks on, metrics on,
 * default limits; only addresses, certificates, the armor mode and the auto-trigger (off)
 * are configured, and whatever --ferry-config changes. JSON payloads go to write() as objects
 * and reach the hook parsed.
 *
 * Bytes go to write() as a Buffer and should reach the hook as a Buffer. A core that does not
 * carry bytes yet either refuses the Buffer or sends it as JSON; so a bytes case first writes
 * one probe Buffer: write() throwing ends the case at the sender, and the receiver's hook
 * checks what the probe became and tells the orchestrator (Sink.probed). Either way the case
 * is unsupported (skipped, not failed), so the bench runs on such a core and measures bytes as
 * soon as the core carries them.
 */
import { loadConfig, startInitiator, startTerminator, type LogFields, type Logger } from '@fast-ferry/core';
import { BENCH_SET_KEYS, ferryEnv } from '../ferry-config.js';
import { BYTES_PROBE, probeMismatch, type Payload, type Sink } from '../message.js';
import type { PeerArgs } from '../protocol.js';
import { pkiPaths } from '@fast-ferry/tools/dist/pki.js';
import { freePort } from '@fast-ferry/tools/dist/ports.js';
import { type Receiver, type SenderConnection, type Transport } from './types.js';

const OPEN_TIMEOUT_MS = 10_000;
/** Fields of the 'session open' log line that are not the armor's identity. */
const PLAIN_OPEN_FIELDS = new Set(['role', 'armor', 'stream', 'resumeFrom', 'unacked']);

function armorOf(args: PeerArgs): 'tunnel' | 'tls' {
  return args.row === 'ferry-tunnel' ? 'tunnel' : 'tls';
}

/**
 * Silent, except that it keeps what the bench needs to judge a run: the armor identity logged
 * at session open, and warnings (why a session did not open).
 */
class WatchingLogger implements Logger {
  opened: LogFields | undefined;
  readonly problems: string[] = [];
  debug(): void {}
  info(msg: string, fields?: LogFields): void {
    if (msg === 'session open') this.opened = fields ?? {};
  }
  warn(msg: string): void {
    if (this.problems.length < 5) this.problems.push(msg);
  }
  error(msg: string): void {
    this.warn(msg);
  }
  child(): Logger {
    return this;
  }
}

/** The bench's own settings; each must be one --ferry-config refuses, or an override would hide it silently. */
function benchSet<T extends Record<string, unknown>>(overrides: T): T {
  for (const key of Object.keys(overrides)) if (!BENCH_SET_KEYS.has(key)) throw new Error(`bench: ${key} is set in transports/ferry.ts but missing from BENCH_SET_KEYS (ferry-config.ts)`);
  return overrides;
}

function hasArmorIdentity(fields: LogFields | undefined): boolean {
  return Object.keys(fields ?? {}).some((key) => !PLAIN_OPEN_FIELDS.has(key));
}

/** Thrown by a side that finds bytes not carried; peer.ts reports it as 'unsupported'. */
export class UnsupportedError extends Error {
  override name = 'UnsupportedError';
}

const NOT_YET = 'Fast Ferry bytes: not supported by this core yet';

/** The terminator's hook in a bytes case: the first message is the probe, judged, not counted. */
function probingFirst(sink: Sink): (payload: unknown) => void {
  let first = true;
  return (payload) => {
    if (!first) return sink.accept(payload);
    first = false;
    const mismatch = probeMismatch(payload);
    sink.probed?.(mismatch === undefined ? undefined : `${NOT_YET} (write(Buffer) probe: ${mismatch})`);
  };
}

function probeBytes(runtime: Awaited<ReturnType<typeof startInitiator>>): void {
  try {
    runtime.write(Buffer.from(BYTES_PROBE) as unknown as Record<string, unknown>);
  } catch (err) {
    throw new UnsupportedError(`${NOT_YET} (write(Buffer) threw: ${(err as Error).message.split('\n')[0]})`);
  }
}

export const ferry: Transport = {
  async receive(args: PeerArgs, sink: Sink): Promise<Receiver> {
    const f = pkiPaths(args.pkiDir);
    const config = loadConfig({
      env: ferryEnv(args.ferryConfig),
      overrides: benchSet({
        'session.listenHost': '127.0.0.1',
        'session.listenPort': await freePort(),
        'http.host': '127.0.0.1',
        'http.port': await freePort(),
        'tls.caFile': f.ca.cert,
        'tls.certFile': f.terminator.cert,
        'tls.keyFile': f.terminator.key,
        'armor.mode': armorOf(args),
      }),
    });
    const onReceive = args.payload === 'bytes' ? probingFirst(sink) : (payload: unknown) => sink.accept(payload);
    const runtime = await startTerminator({ on_receive_terminator: onReceive }, { config, logger: new WatchingLogger() });
    return { port: runtime.sessionPort };
  },

  async connect(args: PeerArgs): Promise<SenderConnection> {
    const f = pkiPaths(args.pkiDir);
    const armor = armorOf(args);
    const config = loadConfig({
      env: ferryEnv(args.ferryConfig),
      overrides: benchSet({
        'session.url': `wss://127.0.0.1:${args.port}`,
        'session.serverName': 'localhost',
        'http.host': '127.0.0.1',
        'http.port': await freePort(),
        'http.triggerPort': await freePort(),
        'tls.caFile': f.ca.cert,
        'tls.certFile': f.initiator.cert,
        'tls.keyFile': f.initiator.key,
        'armor.mode': armor,
        'autoTrigger.count': 0,
      }),
    });
    const logger = new WatchingLogger();
    const runtime = await startInitiator({ on_trigger: (payload) => payload }, { config, logger });
    const deadline = performance.now() + OPEN_TIMEOUT_MS;
    while (!runtime.sessionOpen) {
      if (performance.now() > deadline) {
        const why = logger.problems[0] ?? `no session within ${OPEN_TIMEOUT_MS} ms`;
        throw new Error(`no session: ${why}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    if (armor === 'tunnel' && !hasArmorIdentity(logger.opened)) {
      throw new Error('armor mode tunnel but no armor identity at session open: the session is not armored');
    }
    if (args.payload === 'bytes') probeBytes(runtime);
    return {
      // Fire and forget, like the other rows: write() is the streaming API (no promise per
      // message); a refused message throws, which fails the case. The cast lets the bench
      // hand write() a Buffer before the core's types accept one.
      send: (payload: Payload): boolean => runtime.write(payload as unknown as Record<string, unknown>),
      // Resolves once the outbox is under half again (write() returns false from half).
      writable: () => runtime.whenSendable(),
    };
  },
};
