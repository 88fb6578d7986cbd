/**
 * Turns an upgraded WebSocket into the FrameChannel the session runs on, according to
 * armor.mode: `tls` uses the WebSocket as it is; `tunnel` first runs the armor key exchange
 * bound to this TLS connection and then seals every batch.
 */
import type { KeyObject } from 'node:crypto';
import type { FerryConfig } from '../config/schema.js';
import type { TLSSocket } from 'node:tls';
import type WebSocket from 'ws';
import { armorHandshake } from './armored-channel.js';
import { WsChannel, type FrameChannel } from './channel.js';

export interface OpenedChannel {
  channel: FrameChannel;
  /** Logged at session start: the armor's session identity (session id, ephemeral keys). */
  identity: Record<string, string>;
}

export interface OpenChannelOptions {
  mode: 'tunnel' | 'tls';
  role: 'initiator' | 'terminator';
  ws: WebSocket;
  tlsSocket: TLSSocket;
  privateKey: KeyObject;
  rekey: { intervalMs: number; messages: number };
  handshakeTimeoutMs: number;
  onRekey(count: number): void;
}

export async function openChannel(options: OpenChannelOptions): Promise<OpenedChannel> {
  if (options.mode === 'tls') return { channel: new WsChannel(options.ws), identity: {} };
  const channel = await armorHandshake({
    role: options.role,
    ws: options.ws,
    tlsSocket: options.tlsSocket,
    privateKey: options.privateKey,
    rekey: options.rekey,
    timeoutMs: options.handshakeTimeoutMs,
    onRekey: options.onRekey,
  });
  return { channel, identity: channel.identity };
}

/** The options both runtimes derive from their config, the socket and the key in use. */
export function channelOptionsFor(
  config: FerryConfig,
  role: OpenChannelOptions['role'],
  connection: { ws: WebSocket; tlsSocket: TLSSocket; privateKey: KeyObject },
  onRekey: (count: number) => void,
): OpenChannelOptions {
  return {
    mode: config.armor.mode,
    role,
    ...connection,
    rekey: { intervalMs: config.armor.rekeyIntervalMs, messages: config.armor.rekeyMessages },
    handshakeTimeoutMs: config.session.handshakeTimeoutMs,
    onRekey,
  };
}
