/**
 * The wiring every upgraded WebSocket gets, whichever side opened it: a frame ws refuses
 * becomes a coded error, keepalive declares a silent peer dead, and the channel is opened
 * (the armor handshake in tunnel mode). A channel that cannot be opened is counted and the
 * socket closed with the error's close code. Until a session is bound, there is no session
 * to end, so an error is counted and logged here.
 */
import type { KeyObject } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type WebSocket from 'ws';
import type { FerryConfig } from '../config/schema.js';
import { FerryError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { closeWebSocket, webSocketError } from './channel.js';
import { channelFailure } from './failures.js';
import { keepAlive } from './keepalive.js';
import { openChannel, type OpenedChannel } from './open-channel.js';

/** What a connection's failures end once the session runs on it. */
export interface Failable {
  fail(err: FerryError): void;
}

export interface ConnectionOptions {
  role: 'initiator' | 'terminator';
  ws: WebSocket;
  tlsSocket: TLSSocket;
  /** The private key of the TLS material in use (the armor signs with it). */
  privateKey: KeyObject;
  config: FerryConfig;
  metrics: Metrics;
  logger: Logger;
}

export interface Connection {
  /** The channel a session runs on; rejects with the coded error (already counted, socket closed). */
  opened: Promise<OpenedChannel>;
  /** From now on socket errors and a dead peer end `session`. */
  bind(session: Failable): void;
}

export function connect(options: ConnectionOptions): Connection {
  const { ws, config, metrics, logger } = options;
  const peer = options.role === 'initiator' ? 'the terminator' : 'the initiator';
  let session: Failable | undefined;
  // ws reports a frame it cannot accept (over maxPayload, bad opcode, unmasked, bad UTF-8) as an
  // 'error' event after it started closing the connection; without a listener the error would
  // be thrown and end the process.
  ws.on('error', (err) => {
    const ferr = webSocketError(err);
    if (session) {
      session.fail(ferr);
      return;
    }
    metrics.framesRejected.inc({ reason: ferr.code });
    logger.warn(`connection refused: ${ferr.message}`, { code: ferr.code });
  });
  keepAlive(ws, config.session.pingIntervalMs, (silentMs) => {
    session?.fail(new FerryError('FERRY_ERR_PEER_DEAD', `nothing from ${peer} for ${silentMs} ms (2 × session.pingIntervalMs)`));
    ws.terminate();
  });
  const opened = openChannel({
    mode: config.armor.mode,
    role: options.role,
    ws,
    tlsSocket: options.tlsSocket,
    privateKey: options.privateKey,
    rekey: { intervalMs: config.armor.rekeyIntervalMs, messages: config.armor.rekeyMessages },
    handshakeTimeoutMs: config.session.handshakeTimeoutMs,
    onRekey: (count) => metrics.rekeys.inc(count),
  }).catch((err: unknown) => {
    const ferr = channelFailure(err);
    metrics.handshakeFailures.inc({ reason: ferr.code });
    closeWebSocket(ws, ferr.closeCode, ferr.code);
    throw ferr;
  });
  return {
    opened,
    bind(s) {
      session = s;
    },
  };
}
